"""Per-split entries of the curation manifest: rows, labels, token lengths, sha256."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from ..io import sha256_file
from .profile import row_texts

PERCENTILES = (50, 90, 99)


def token_lengths(rows: list[dict], tokenizer) -> list[int]:
    """Subword length of each row as the encoder sees it (special tokens included, pairs joined)."""
    if not rows:
        return []
    if all("text_a" in r and "text_b" in r for r in rows):
        encs = tokenizer.encode_batch([(r["text_a"], r["text_b"]) for r in rows])
    else:
        encs = tokenizer.encode_batch([" ".join(row_texts(r)) for r in rows])
    return [len(e.ids) for e in encs]


def label_distribution(rows: list[dict], label_names: tuple[str, ...]) -> dict[str, int]:
    counts = Counter(r["label"] for r in rows if "label" in r)
    return {
        (label_names[k] if isinstance(k, int) and 0 <= k < len(label_names) else str(k)): v
        for k, v in sorted(counts.items())
    }


def split_entry(path: Path, rows: list[dict], spec, tokenizer) -> dict:
    lengths = token_lengths(rows, tokenizer)
    pct = np.percentile(lengths, PERCENTILES).tolist() if lengths else [None] * len(PERCENTILES)
    return {
        "file": f"tasks/{path.parent.name}/{path.name}",
        "rows": len(rows),
        "labels": label_distribution(rows, spec.label_names),
        "token_length": {
            f"p{p}": (round(v, 1) if v is not None else None)
            for p, v in zip(PERCENTILES, pct, strict=True)
        },
        "sha256": sha256_file(path),
    }


def task_entry(spec) -> dict:
    return {
        "format": spec.format.value,
        "domain": spec.domain,
        "roles": list(spec.roles),
        "metric": spec.metric,
        "label_names": list(spec.label_names),
        "license": spec.license,
        "source": {"kind": spec.source.kind, "id": spec.source.id, "config": spec.source.config},
        "splits": {},
        "notes": [],
    }


def manifest_frame(manifest: dict):
    """One row per written split of a curation manifest (for notebooks)."""
    import pandas as pd

    records = []
    for task, entry in manifest.get("tasks", {}).items():
        for split, info in entry.get("splits", {}).items():
            records.append(
                {
                    "task": task,
                    "split": split,
                    "rows": info["rows"],
                    "format": entry["format"],
                    "domain": entry["domain"],
                    **{f"tokens_{k}": v for k, v in info["token_length"].items()},
                    "labels": info["labels"],
                    "license": entry["license"],
                    "sha256": info["sha256"][:12],
                }
            )
    return pd.DataFrame.from_records(records)
