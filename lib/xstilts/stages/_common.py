"""Helpers shared by the stage entry points (curated rows, label counts); their configs are
:mod:`xstilts.configs`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..data.store import read_split


def capped(rows: list[dict], limit: int | None) -> list[dict]:
    """The first ``limit`` rows (curation already shuffled and subsampled deterministically)."""
    return rows if not limit else rows[:limit]


def read_rows(
    curate_dir: str | Path, task: str, split: str, lang: str | None = None, limit: int | None = None
) -> list[dict]:
    rows = capped(read_split(curate_dir, task, split, lang), limit)
    if not rows:
        raise ValueError(
            f"task {task!r}: curated split {split}{'.' + lang if lang else ''} is empty"
        )
    return rows


def jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if hasattr(v, "item") else v) for k, v in values.items()}


def n_labels_of(spec, rows: list[dict]) -> int | None:
    """The task's label count, or (when the catalogue leaves it open) one more than the largest
    label / tag seen in the training rows."""
    from ..tasks import Format

    if spec.n_labels or spec.format not in (Format.SINGLE, Format.PAIR, Format.TAGGING):
        return spec.n_labels
    key = "tags" if spec.format is Format.TAGGING else "label"
    seen = [t for r in rows for t in (r[key] if key == "tags" else [r[key]])]
    return max(2, max(seen) + 1)
