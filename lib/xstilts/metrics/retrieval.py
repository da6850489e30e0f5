"""Retrieval metrics: BUCC mining F1 with threshold tuning, Tatoeba accuracy (accuracy@1).

BUCC follows XTREME ``third_party/utils_retrieve.py`` (from LASER): every mined candidate pair
``(src_id, trg_id)`` carries a ratio-margin score (the maximum when a pair is mined twice,
``read_candidate2score``); ``bucc_optimize_threshold`` walks candidates by decreasing score and
puts the threshold half-way between the candidate where F1 peaks and the next one
(``bucc_optimize``); ``bucc_f1`` keeps pairs with ``score >= threshold`` (``bucc_extract``).
XTREME tunes the threshold on the dev gold and applies it to test (``bucc_evaluate``).
Deviation: when F1 peaks at the lowest-scoring candidate the script indexes past the end
(IndexError); here the threshold is that candidate's score, which keeps every candidate.

Tatoeba: XTREME retrieves each source sentence's nearest target (cosine) and reports the share
whose neighbour is the gold translation. Fractions in [0, 1] (XTREME prints x100).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence

import numpy as np

Pair = tuple[Hashable, Hashable]


def candidate_scores(triples: Iterable[tuple[Hashable, Hashable, float]]) -> dict[Pair, float]:
    """``(src_id, trg_id, score)`` triples -> ``{(src_id, trg_id): max score}``."""
    scores: dict[Pair, float] = {}
    for src, trg, score in triples:
        score = float(score)
        scores[(src, trg)] = max(score, scores.get((src, trg), score))
    return scores


def _as_scores(
    candidates: Mapping[Pair, float] | Iterable[tuple[Hashable, Hashable, float]],
) -> dict[Pair, float]:
    return dict(candidates) if isinstance(candidates, Mapping) else candidate_scores(candidates)


def _as_gold(gold_pairs: Collection[Pair]) -> set[Pair]:
    gold = {tuple(p) for p in gold_pairs}
    if not gold:
        raise ValueError("BUCC needs at least one gold pair")
    if any(len(p) != 2 for p in gold):
        raise ValueError("gold pairs must be (src_id, trg_id) tuples")
    return gold


def bucc_optimize_threshold(
    gold_pairs: Collection[Pair],
    candidates: Mapping[Pair, float] | Iterable[tuple[Hashable, Hashable, float]],
) -> float:
    """The score threshold that maximises mining F1 against ``gold_pairs`` (0 if none is right)."""
    gold = _as_gold(gold_pairs)
    items = sorted(_as_scores(candidates).items(), key=lambda item: -item[1])
    n_extracted = n_correct = 0
    threshold, best_f1 = 0.0, 0.0
    for i, (pair, score) in enumerate(items):
        n_extracted += 1
        n_correct += pair in gold
        if n_correct > 0:
            precision, recall = n_correct / n_extracted, n_correct / len(gold)
            f1 = 2 * precision * recall / (precision + recall)
            if f1 > best_f1:
                best_f1 = f1
                threshold = (score + items[i + 1][1]) / 2 if i + 1 < len(items) else score
    return threshold


def bucc_f1(
    gold_pairs: Collection[Pair],
    candidates: Mapping[Pair, float] | Iterable[tuple[Hashable, Hashable, float]],
    threshold: float,
) -> dict[str, float]:
    """``precision``, ``recall``, ``f1`` of the candidates scoring ``>= threshold``."""
    gold = _as_gold(gold_pairs)
    extracted = {pair for pair, score in _as_scores(candidates).items() if score >= threshold}
    n_correct = len(gold & extracted)
    if n_correct == 0:
        precision = recall = f1 = 0.0
    else:
        precision, recall = n_correct / len(extracted), n_correct / len(gold)
        f1 = 2 * precision * recall / (precision + recall)
    return {
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "threshold": float(threshold),
        "n_predicted": len(extracted),
        "n_gold": len(gold),
    }


def bucc_metrics(
    candidates: Mapping[Pair, float] | Iterable[tuple[Hashable, Hashable, float]],
    gold_pairs: Collection[Pair],
    threshold: float | None = None,
) -> dict[str, float]:
    """BUCC scores at ``threshold``; without one, tuned on these very gold pairs (an oracle,
    which is what XTREME's ``bucc_eval`` reports on dev)."""
    scores = _as_scores(candidates)
    if threshold is None:
        threshold = bucc_optimize_threshold(gold_pairs, scores)
    return bucc_f1(gold_pairs, scores, threshold)


def bucc_evaluate(
    dev_gold: Collection[Pair],
    dev_candidates: Mapping[Pair, float] | Iterable[tuple[Hashable, Hashable, float]],
    test_gold: Collection[Pair],
    test_candidates: Mapping[Pair, float] | Iterable[tuple[Hashable, Hashable, float]],
) -> dict[str, float]:
    """Tune the threshold on dev, apply it to test; test scores plus ``dev_f1``."""
    threshold = bucc_optimize_threshold(dev_gold, dev_candidates)
    result = bucc_f1(test_gold, test_candidates, threshold)
    result["dev_f1"] = bucc_f1(dev_gold, dev_candidates, threshold)["f1"]
    return result


def tatoeba_accuracy(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> float:
    """Share of queries whose retrieved target id equals the gold id."""
    if len(predicted) != len(gold):
        raise ValueError(f"predicted and gold differ in length: {len(predicted)} vs {len(gold)}")
    if not gold:
        raise ValueError("cannot score an empty set of queries")
    return sum(p == g for p, g in zip(predicted, gold, strict=True)) / len(gold)


def accuracy_at_1(similarity: np.ndarray, gold: Sequence[int] | None = None) -> float:
    """Accuracy of the arg-max column per row of a ``[queries, candidates]`` similarity matrix.

    ``gold[i]`` is the column of query ``i``'s translation (default: ``i``, parallel order).
    Ties go to the lowest column (numpy ``argmax``).
    """
    similarity = np.asarray(similarity)
    if similarity.ndim != 2 or 0 in similarity.shape:
        raise ValueError(f"similarity must be a non-empty 2-D matrix, got shape {similarity.shape}")
    if gold is None:
        if similarity.shape[0] > similarity.shape[1]:
            raise ValueError(
                f"default gold (row i -> column i) needs rows <= columns, got {similarity.shape}"
            )
        gold = range(similarity.shape[0])
    return tatoeba_accuracy(similarity.argmax(axis=1).tolist(), list(gold))


def retrieval_accuracy_metrics(
    predicted: Sequence[Hashable], gold: Sequence[Hashable]
) -> dict[str, float]:
    """``accuracy`` (primary; Tatoeba) and ``n``."""
    return {"accuracy": tatoeba_accuracy(predicted, gold), "n": len(gold)}
