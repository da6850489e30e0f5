"""Classification metrics: accuracy and F1 (macro / micro) over single-label predictions.

All metrics here return fractions in [0, 1] (XTREME prints them x100; the analysis layer does that).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence


def _check_aligned(predictions: Sequence, references: Sequence) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} vs {len(references)}"
        )
    if not references:
        raise ValueError("cannot score an empty set of references")


def accuracy(predictions: Sequence[Hashable], references: Sequence[Hashable]) -> float:
    """Share of predictions equal to their reference (XTREME `evaluate.accuracy` / 100)."""
    _check_aligned(predictions, references)
    return sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)


def f1(
    predictions: Sequence[Hashable],
    references: Sequence[Hashable],
    average: str = "macro",
    labels: Sequence[Hashable] | None = None,
) -> float:
    """Single-label F1 (sklearn semantics, zero_division=0).

    ``macro``: unweighted mean of per-class F1 over ``labels`` (default: every class seen in
    references or predictions). ``micro``: pooled counts over ``labels``; with all classes this
    equals accuracy.
    """
    if average not in ("macro", "micro"):
        raise ValueError(f"average must be 'macro' or 'micro', got {average!r}")
    _check_aligned(predictions, references)
    classes = (
        list(labels) if labels is not None else sorted(set(references) | set(predictions), key=repr)
    )
    tp, fp, fn = Counter(), Counter(), Counter()
    for p, r in zip(predictions, references, strict=True):
        if p == r:
            tp[p] += 1
        else:
            fp[p] += 1
            fn[r] += 1
    if average == "micro":
        return _f1(
            sum(tp[c] for c in classes), sum(fp[c] for c in classes), sum(fn[c] for c in classes)
        )
    return sum(_f1(tp[c], fp[c], fn[c]) for c in classes) / len(classes)


def _f1(tp: int, fp: int, fn: int) -> float:
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


def classification_metrics(
    predictions: Sequence[Hashable], references: Sequence[Hashable]
) -> dict[str, float]:
    """``accuracy`` (primary), ``f1_macro`` and ``n``."""
    return {
        "accuracy": accuracy(predictions, references),
        "f1_macro": f1(predictions, references, "macro"),
        "n": len(references),
    }


def r_precision(ranked: Sequence[Sequence[int]], gold: Sequence[Sequence[int]]) -> float:
    """Mean R-Precision (MultiEURLEX, Chalkidis et al. 2021, following its ``mean_rprecision``):
    per document with R gold labels, the share of gold labels among the R highest-ranked ones;
    documents without gold labels are skipped (they have no R)."""
    _check_aligned(ranked, gold)
    scores = [
        len(set(order[: len(labels)]) & set(labels)) / len(labels)
        for order, labels in zip(ranked, gold, strict=True)
        if labels
    ]
    if not scores:
        raise ValueError("R-Precision needs at least one document with gold labels")
    return sum(scores) / len(scores)


def multi_label_metrics(
    ranked: Sequence[Sequence[int]], gold: Sequence[Sequence[int]]
) -> dict[str, float]:
    """``r_precision`` (primary) and ``n`` (documents with gold labels)."""
    return {"r_precision": r_precision(ranked, gold), "n": sum(1 for g in gold if g)}
