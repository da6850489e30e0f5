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


def _labels_of(ranked: Sequence) -> list[int]:
    """Labels of a ranked prediction: ``[label, logit]`` pairs (what decoding writes) or ids."""
    return [int(x[0]) if isinstance(x, list | tuple) else int(x) for x in ranked]


def r_precision(ranked: Sequence[Sequence], gold: Sequence[Sequence[int]]) -> float:
    """Mean R-Precision (MultiEURLEX, Chalkidis et al. 2021, following its ``mean_rprecision``):
    per document with R gold labels, the share of gold labels among the R highest-ranked ones;
    documents without gold labels are skipped (they have no R)."""
    _check_aligned(ranked, gold)
    scores = [
        len(set(_labels_of(order)[: len(labels)]) & set(labels)) / len(labels)
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


NONE_LABEL = -1  # LexGLUE scores "no label" as a class of its own


def multilabel_f1_metrics(
    ranked: Sequence[Sequence[list]], gold: Sequence[Sequence[int]]
) -> dict[str, float]:
    """LexGLUE's multi-label micro- and macro-F1 (UNFAIR-ToS, EUR-LEX): a label is predicted when
    its sigmoid is above 0.5 (logit > 0); a document with no label, gold or predicted, has the
    extra "none" label (lex-glue ``experiments/unfair_tos.py`` ``compute_metrics``, sklearn
    ``f1_score`` with ``zero_division=0``: macro over every label column, seen or not). Each
    prediction ranks every label, so its length is the label count. Primary: ``f1_micro``."""
    _check_aligned(ranked, gold)
    tp, fp, fn = Counter(), Counter(), Counter()
    for pred, labels in zip(ranked, gold, strict=True):
        p = {int(label) for label, logit in pred if logit > 0} or {NONE_LABEL}
        g = set(labels) or {NONE_LABEL}
        for x in p & g:
            tp[x] += 1
        for x in p - g:
            fp[x] += 1
        for x in g - p:
            fn[x] += 1
    classes = [*range(max(len(p) for p in ranked)), NONE_LABEL]
    micro = _f1(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = sum(_f1(tp[c], fp[c], fn[c]) for c in classes) / len(classes)
    return {"f1_micro": micro, "f1_macro": macro, "n": len(gold)}
