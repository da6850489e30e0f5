"""Helpers shared by the stage entry points (config parsing, curated rows, label counts)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from ..data.store import read_split

C = TypeVar("C")


def config_from_dict(cls: type[C], raw: dict | None, what: str) -> C:
    """``cls(**raw)`` for a flat config dataclass; keys that are not its fields are an error
    naming them (``what``, e.g. "curate config", starts the message)."""
    raw = dict(raw or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; expected some of {sorted(known)}")
    return cls(**raw)


def coerce_config(cls: type[C], config: C | dict | None) -> C:
    """A stage config from itself, or from a dict whose TrainConfig fields may be flat or under
    ``train``; unknown keys are an error naming them. The stage ``seed`` is the training seed."""
    from ..trainconfig import TrainConfig

    if isinstance(config, cls):
        values = dataclasses.asdict(config)
    elif config is None:
        values = {}
    elif isinstance(config, dict):
        values = dict(config)
    else:
        raise TypeError(f"{cls.__name__}: expected a {cls.__name__} or a dict, got {type(config)}")
    own = {f.name for f in dataclasses.fields(cls)} - {"train"}
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    nested = values.pop("train", None) or {}
    if isinstance(nested, TrainConfig):
        nested = dataclasses.asdict(nested)
    flat = {k: values.pop(k) for k in list(values) if k in train_keys and k not in own}
    unknown = sorted(set(values) - own)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown keys {unknown}; known: {sorted(own)} and "
            f"TrainConfig fields {sorted(train_keys)}"
        )
    train_values = {**nested, **flat}
    if "seed" in values:
        train_values["seed"] = values["seed"]
    return cls(**values, train=TrainConfig.from_dict(train_values))


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
