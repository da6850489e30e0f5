"""Deterministic subsampling, stratified by label.

Each label gets ``n * share`` rows (largest-remainder rounding, every present label at least one
row where ``n`` allows), chosen by a seeded hash of the row id, so the choice is fixed by
``seed`` and the ids alone, not by row order.
"""

from __future__ import annotations

from collections import defaultdict

from ..tasks.embedded import hash_unit


def label_of(row: dict):
    """The stratification key: the class label where a row has one, else ``None``."""
    return row.get("label")


def ranked(rows: list[dict], seed: int) -> list[dict]:
    """Rows in a seeded pseudo-random order given by their ids."""
    return sorted(rows, key=lambda r: (hash_unit(str(r["id"]), f"subsample-{seed}"), str(r["id"])))


def allocate(counts: dict, n: int) -> dict:
    """Split ``n`` over strata proportionally to ``counts`` (largest remainder, capped by counts)."""
    total = sum(counts.values())
    if n >= total:
        return dict(counts)
    exact = {k: n * c / total for k, c in counts.items()}
    alloc = {k: min(counts[k], max(1 if n >= len(counts) else 0, int(v))) for k, v in exact.items()}
    order = sorted(counts, key=lambda k: (-(exact[k] - int(exact[k])), str(k)))
    while sum(alloc.values()) < n:
        for k in order:
            if sum(alloc.values()) < n and alloc[k] < counts[k]:
                alloc[k] += 1
    while sum(alloc.values()) > n:
        k = max(alloc, key=lambda k: (alloc[k] - exact[k], str(k)))
        alloc[k] -= 1
    return alloc


def stratified_sample(rows: list[dict], n: int | None, seed: int, key=label_of) -> list[dict]:
    """``min(n, len(rows))`` rows keeping the label distribution (``n`` None: every row); output
    in seeded order."""
    if n is not None and n < 0:
        raise ValueError(f"sample size must be >= 0, got {n}")
    if n is None or n >= len(rows):
        return ranked(rows, seed)
    strata: dict = defaultdict(list)
    for row in rows:
        strata[key(row)].append(row)
    alloc = allocate({k: len(v) for k, v in strata.items()}, n)
    chosen = [r for k, group in strata.items() for r in ranked(group, seed)[: alloc[k]]]
    return ranked(chosen, seed)
