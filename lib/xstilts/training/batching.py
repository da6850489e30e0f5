"""Batches: dynamic padding, length-grouped training order, length-sorted evaluation order.

The training order is a pure function of ``(seed, epoch)`` (no RNG state), so a resumed run can
recompute exactly which batches it has already seen from its position alone.
"""

from __future__ import annotations

import numpy as np
import torch

MEGABATCH_FACTOR = 50  # as transformers' LengthGroupedSampler


def feature_length(feature: dict, total: bool = False) -> int:
    """Tokens in a feature (multiple choice: longest choice, or all choices when ``total``)."""
    ids = feature["input_ids"]
    if ids and isinstance(ids[0], list):
        return sum(map(len, ids)) if total else max(map(len, ids))
    return len(ids)


def length_grouped_batches(
    lengths: list[int], batch_size: int, seed: int, epoch: int = 0
) -> list[list[int]]:
    """Shuffle, cut into mega-batches of ``50 * batch_size``, sort each by length (longest first),
    cut into batches, then shuffle the batch order. Deterministic given ``(seed, epoch)``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    mega = batch_size * MEGABATCH_FACTOR
    batches: list[list[int]] = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega].tolist(), key=lambda i: -lengths[i])
        batches.extend(chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def shuffled_batches(n: int, batch_size: int, seed: int, epoch: int = 0) -> list[list[int]]:
    """A plain random order cut into batches (``group_by_length: false``); pure in (seed, epoch)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = np.random.default_rng([seed, epoch]).permutation(n).tolist()
    return [order[k : k + batch_size] for k in range(0, n, batch_size)]


def sorted_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Evaluation order: by length (longest first, so memory peaks at once), stable."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def _pad(seqs: list[list[int]], value: int, width: int | None = None) -> torch.Tensor:
    width = width if width is not None else max((len(s) for s in seqs), default=1)
    out = torch.full((len(seqs), max(width, 1)), value, dtype=torch.long)
    for row, seq in enumerate(seqs):
        out[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def collate(features: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a list of features to the longest in the batch; targets included where present."""
    if not features:
        raise ValueError("cannot collate an empty batch")
    first = features[0]
    batch: dict[str, torch.Tensor] = {}
    if first["input_ids"] and isinstance(first["input_ids"][0], list):  # multiple choice
        n_choices = max(len(f["input_ids"]) for f in features)
        width = max(feature_length(f) for f in features)
        ids = torch.full((len(features), n_choices, width), pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for b, f in enumerate(features):
            for c, seq in enumerate(f["input_ids"]):
                ids[b, c, : len(seq)] = torch.tensor(seq)
                mask[b, c, : len(seq)] = 1
        batch["input_ids"], batch["attention_mask"] = ids, mask
    else:
        seqs = [f["input_ids"] for f in features]
        batch["input_ids"] = _pad(seqs, pad_id)
        batch["attention_mask"] = _pad([[1] * len(s) for s in seqs], 0, batch["input_ids"].shape[1])
    if "label" in first:
        batch["labels"] = torch.tensor([f["label"] for f in features], dtype=torch.long)
    if "labels" in first:
        batch["labels"] = _pad([f["labels"] for f in features], -100, batch["input_ids"].shape[1])
    if "multi_hot" in first:  # multi-label: padded to the widest (features may know fewer labels)
        width = max(len(f["multi_hot"]) for f in features)
        batch["labels"] = torch.tensor(
            [f["multi_hot"] + [0] * (width - len(f["multi_hot"])) for f in features],
            dtype=torch.float32,
        )
    if "start_position" in first:
        batch["start_positions"] = torch.tensor([f["start_position"] for f in features])
        batch["end_positions"] = torch.tensor([f["end_position"] for f in features])
    return batch


def to_device(
    batch: dict[str, torch.Tensor], device: torch.device | str
) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}
