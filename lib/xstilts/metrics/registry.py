"""Metric names (as used in ``TaskSpec.metric`` and metrics.json) -> scorer and primary key.

Every scorer is called ``fn(predictions, references, **options)`` and returns a flat
``{key: number}`` dict of fractions in [0, 1] (plus counts such as ``n``); ``primary`` names the
key the study reports and averages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..lookup import UnknownNameError, lookup
from .classification import (
    classification_metrics,
    multi_label_metrics,
    multilabel_f1_metrics,
)
from .qa import mlqa_metrics, squad_metrics, squad_v2_metrics
from .retrieval import bucc_metrics, retrieval_accuracy_metrics
from .tagging import tagging_metrics


@dataclass(frozen=True)
class MetricSpec:
    name: str
    fn: Callable[..., dict[str, float]]
    primary: str
    description: str
    options: tuple[str, ...] = ()  # keyword options the scorer takes (e.g. ``lang``)
    no_answer: bool = False  # QA predictions carry a null score ({"text", "null_diff"})


METRICS: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec("accuracy", classification_metrics, "accuracy", "single-label accuracy"),
        MetricSpec("f1_macro", classification_metrics, "f1_macro", "macro-averaged class F1"),
        MetricSpec(
            "r_precision", multi_label_metrics, "r_precision", "mean R-Precision (MultiEURLEX)"
        ),
        MetricSpec(
            "multilabel_f1", multilabel_f1_metrics, "f1_micro", "LexGLUE multi-label micro-F1"
        ),
        MetricSpec("seqeval_f1", tagging_metrics, "f1", "seqeval entity F1 (XTREME PAN-X)"),
        MetricSpec("pos_f1", tagging_metrics, "f1", "seqeval F1 on POS tags (XTREME UD-POS)"),
        MetricSpec("token_accuracy", tagging_metrics, "token_accuracy", "per-token tag accuracy"),
        MetricSpec("squad_em_f1", squad_metrics, "f1", "SQuAD v1.1 EM/F1 (XQuAD, TyDiQA-GoldP)"),
        MetricSpec(
            "squad_v2",
            squad_v2_metrics,
            "f1",
            "SQuAD v2.0 EM/F1 with HasAns/NoAns (no-answer threshold tuned on these items)",
            ("threshold",),
            no_answer=True,
        ),
        MetricSpec(
            "mlqa_em_f1", mlqa_metrics, "f1", "MLQA v1 EM/F1 per answer language", ("lang",)
        ),
        MetricSpec(
            "bucc_f1", bucc_metrics, "f1", "BUCC mining F1 at a tuned threshold", ("threshold",)
        ),
        MetricSpec(
            "tatoeba_accuracy", retrieval_accuracy_metrics, "accuracy", "accuracy@1 retrieval"
        ),
    )
}


class UnknownMetricError(UnknownNameError):
    pass


def get_metric(name: str) -> MetricSpec:
    known = f"known: {', '.join(sorted(METRICS))}"
    return lookup(METRICS, name, "metric", UnknownMetricError, known)


def primary_key(name: str) -> str:
    return get_metric(name).primary


def compute(name: str, predictions: Any, references: Any, **options: Any) -> dict[str, float]:
    """Score with metric ``name``; the result always contains its primary key."""
    spec = get_metric(name)
    unknown = set(options) - set(spec.options)
    if unknown:
        raise TypeError(f"metric {name!r} takes options {spec.options}, got {sorted(unknown)}")
    return spec.fn(predictions, references, **options)
