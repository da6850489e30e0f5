"""Evaluation metrics, faithful to the official scripts (XTREME, SQuAD v1.1, MLQA v1, seqeval).

Convention: every score is a fraction in [0, 1]; the official scripts print x100, so multiply
when comparing with published tables. Argument order is ``(predictions, references)`` except
BUCC, which follows XTREME's ``(gold, candidates, threshold)``.

Public API
----------
classification
    ``accuracy(predictions, references) -> float``
    ``f1(predictions, references, average="macro"|"micro", labels=None) -> float``
    ``classification_metrics(predictions, references) -> {accuracy, f1_macro, n}``
tagging (XTREME PAN-X / UD-POS; seqeval 0.0.12 default mode, IOB2)
    ``entity_spans(sequences) -> [(type, start, end)]``
    ``entity_scores(predictions, references) -> {precision, recall, f1}``
    ``entity_f1(predictions, references) -> float``
    ``token_accuracy(predictions, references) -> float``
    ``tagging_metrics(predictions, references) -> {f1, precision, recall, token_accuracy, n}``
qa (``references[i]`` = list of gold answer strings; ``None`` prediction = unanswered)
    ``squad_normalize(text)``, ``squad_exact_match(pred, gold)``, ``squad_f1(pred, gold)``
    ``mlqa_normalize(text, lang)``, ``mixed_segmentation(text)``,
    ``mlqa_exact_match(pred, gold, lang)``, ``mlqa_f1(pred, gold, lang)``
    ``qa_metrics(predictions, references, lang=None, style="squad"|"mlqa")``
    ``squad_metrics(...)``, ``mlqa_metrics(..., lang)`` -> {exact_match, f1, em_f1, n}
    ``em_f1_mean(exact_match, f1) -> (EM + F1) / 2``
retrieval
    ``candidate_scores(triples) -> {(src, trg): max score}``
    ``bucc_optimize_threshold(gold_pairs, candidates) -> float``
    ``bucc_f1(gold_pairs, candidates, threshold) -> {f1, precision, recall, threshold, ...}``
    ``bucc_metrics(candidates, gold_pairs, threshold=None)``
    ``bucc_evaluate(dev_gold, dev_candidates, test_gold, test_candidates)``
    ``tatoeba_accuracy(predicted, gold) -> float``; ``accuracy_at_1(similarity, gold=None)``
registry
    ``METRICS``, ``MetricSpec``, ``get_metric(name)``, ``primary_key(name)``,
    ``compute(name, predictions, references, **options)``
"""

from .classification import accuracy, classification_metrics, f1
from .qa import (
    em_f1_mean,
    mixed_segmentation,
    mlqa_exact_match,
    mlqa_f1,
    mlqa_metrics,
    mlqa_normalize,
    qa_metrics,
    squad_exact_match,
    squad_f1,
    squad_metrics,
    squad_normalize,
)
from .registry import METRICS, MetricSpec, UnknownMetricError, compute, get_metric, primary_key
from .retrieval import (
    accuracy_at_1,
    bucc_evaluate,
    bucc_f1,
    bucc_metrics,
    bucc_optimize_threshold,
    candidate_scores,
    tatoeba_accuracy,
)
from .tagging import entity_f1, entity_scores, entity_spans, tagging_metrics, token_accuracy

__all__ = [
    "METRICS",
    "MetricSpec",
    "UnknownMetricError",
    "accuracy",
    "accuracy_at_1",
    "bucc_evaluate",
    "bucc_f1",
    "bucc_metrics",
    "bucc_optimize_threshold",
    "candidate_scores",
    "classification_metrics",
    "compute",
    "em_f1_mean",
    "entity_f1",
    "entity_scores",
    "entity_spans",
    "f1",
    "get_metric",
    "mixed_segmentation",
    "mlqa_exact_match",
    "mlqa_f1",
    "mlqa_metrics",
    "mlqa_normalize",
    "primary_key",
    "qa_metrics",
    "squad_exact_match",
    "squad_f1",
    "squad_metrics",
    "squad_normalize",
    "tagging_metrics",
    "tatoeba_accuracy",
    "token_accuracy",
]
