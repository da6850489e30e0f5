"""Extractive-QA EM / F1, faithful to the official scripts.

- ``squad_*``: SQuAD v1.1 ``evaluate-v1.1.py`` (the copy XTREME downloads as
  ``third_party/evaluate_squad.py``; used for XQuAD and TyDiQA-GoldP): lower-case, drop ASCII
  punctuation, drop English articles a/an/the, collapse whitespace; token F1 over whitespace tokens.
- ``mlqa_*``: MLQA ``mlqa_evaluation_v1.py`` (facebookresearch/MLQA; XTREME's
  ``third_party/evaluate_mlqa.py``): punctuation is every Unicode ``P*`` character plus ASCII
  punctuation; articles per answer language; ``zh`` is tokenised by ``mixed_segmentation``
  (each CJK character in U+4E00..U+9FA5 is a token).

Quirks kept on purpose (they are the scripts' behaviour): an empty prediction against an empty
answer has EM 1 but F1 0; Arabic removes every ``ال`` substring, also inside words (the regex
``\\sال^|ال``); per question the best score over the gold answers counts; an unanswered question
(prediction ``None``) scores 0 but stays in the denominator. Scores are fractions in [0, 1]
(the scripts print x100).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import partial

_ASCII_PUNCT = frozenset(string.punctuation)

# --- SQuAD v1.1 -----------------------------------------------------------------------------


def squad_normalize(text: str) -> str:
    """``normalize_answer`` of evaluate-v1.1.py."""
    text = "".join(ch for ch in text.lower() if ch not in _ASCII_PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


# --- MLQA v1 --------------------------------------------------------------------------------

WHITESPACE_LANGS = ("en", "es", "hi", "vi", "de", "ar")
MIXED_SEGMENTATION_LANGS = ("zh",)
MLQA_LANGS = WHITESPACE_LANGS + MIXED_SEGMENTATION_LANGS

_MLQA_ARTICLES = {
    "en": r"\b(a|an|the)\b",
    "es": r"\b(un|una|unos|unas|el|la|los|las)\b",
    "vi": r"\b(của|là|cái|chiếc|những)\b",
    "de": r"\b(ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b",
    "ar": r"\sال^|ال",
    # hi, zh: no formal articles
}
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def is_mlqa_punctuation(ch: str) -> bool:
    """Membership in the script's ``PUNCT`` (Unicode category P* or ``string.punctuation``)."""
    return ch in _ASCII_PUNCT or unicodedata.category(ch).startswith("P")


def mixed_segmentation(text: str) -> list[str]:
    """CJK characters and punctuation become single tokens; other runs split on whitespace."""
    segments: list[str] = []
    pending = ""
    for ch in text:
        if _CJK.search(ch) or is_mlqa_punctuation(ch):
            segments.extend(pending.split())
            pending = ""
            segments.append(ch)
        else:
            pending += ch
    segments.extend(pending.split())
    return segments


def _check_mlqa_lang(lang: str) -> None:
    if lang not in MLQA_LANGS:
        raise ValueError(f"MLQA normalisation knows languages {MLQA_LANGS}, got {lang!r}")


def mlqa_normalize(text: str, lang: str) -> str:
    """``normalize_answer(s, lang)`` of mlqa_evaluation_v1.py: lower, punctuation, articles, spaces."""
    _check_mlqa_lang(lang)
    text = "".join(ch for ch in text.lower() if not is_mlqa_punctuation(ch))
    if lang in _MLQA_ARTICLES:
        text = re.sub(_MLQA_ARTICLES[lang], " ", text)
    tokens = mixed_segmentation(text) if lang in MIXED_SEGMENTATION_LANGS else text.split()
    return " ".join(t for t in tokens if t.strip() != "")


# --- per-answer scores ----------------------------------------------------------------------


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    num_same = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def squad_exact_match(prediction: str, gold: str) -> float:
    return float(squad_normalize(prediction) == squad_normalize(gold))


def squad_f1(prediction: str, gold: str) -> float:
    return _token_f1(squad_normalize(prediction).split(), squad_normalize(gold).split())


def mlqa_exact_match(prediction: str, gold: str, lang: str) -> float:
    return float(mlqa_normalize(prediction, lang) == mlqa_normalize(gold, lang))


def mlqa_f1(prediction: str, gold: str, lang: str) -> float:
    return _token_f1(mlqa_normalize(prediction, lang).split(), mlqa_normalize(gold, lang).split())


# --- aggregation ----------------------------------------------------------------------------


def em_f1_mean(exact_match: float, f1: float) -> float:
    """XTREME's QA task score: ``(EM + F1) / 2``."""
    return (exact_match + f1) / 2


def qa_metrics(
    predictions: Sequence[str | None],
    references: Sequence[Sequence[str]],
    lang: str | None = None,
    style: str = "squad",
) -> dict[str, float]:
    """Mean over questions of max-over-gold-answers EM and F1, plus ``em_f1`` and ``n``.

    ``references[i]`` lists the gold answer strings of question ``i``; ``style`` is ``"squad"``
    (language-independent) or ``"mlqa"`` (needs ``lang``).
    """
    em_fn: Callable[[str, str], float]
    f1_fn: Callable[[str, str], float]
    if style == "squad":
        em_fn, f1_fn = squad_exact_match, squad_f1
    elif style == "mlqa":
        if lang is None:
            raise ValueError("style='mlqa' needs the answer language `lang`")
        _check_mlqa_lang(lang)
        em_fn = partial(mlqa_exact_match, lang=lang)
        f1_fn = partial(mlqa_f1, lang=lang)
    else:
        raise ValueError(f"style must be 'squad' or 'mlqa', got {style!r}")
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references differ in length: {len(predictions)} vs {len(references)}"
        )
    if not references:
        raise ValueError("cannot score an empty set of questions")
    em_total = f1_total = 0.0
    for i, (prediction, golds) in enumerate(zip(predictions, references, strict=True)):
        if isinstance(golds, str) or len(golds) == 0:
            raise ValueError(f"question {i}: references must be a non-empty list of answer strings")
        if prediction is None:  # unanswered: 0, as in the scripts
            continue
        em_total += max(em_fn(prediction, g) for g in golds)
        f1_total += max(f1_fn(prediction, g) for g in golds)
    n = len(references)
    em, f1 = em_total / n, f1_total / n
    return {"exact_match": em, "f1": f1, "em_f1": em_f1_mean(em, f1), "n": n}


def squad_metrics(
    predictions: Sequence[str | None], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    return qa_metrics(predictions, references, style="squad")


def mlqa_metrics(
    predictions: Sequence[str | None], references: Sequence[Sequence[str]], lang: str
) -> dict[str, float]:
    return qa_metrics(predictions, references, lang=lang, style="mlqa")


# --- SQuAD v2.0 (unanswerable questions) ----------------------------------------------------


def _v2_exact(gold: str, pred: str) -> float:
    return float(squad_normalize(gold) == squad_normalize(pred))


def _v2_f1(gold: str, pred: str) -> float:
    g, p = squad_normalize(gold).split(), squad_normalize(pred).split()
    if not g or not p:  # evaluate-v2.0.py: 1 if both are empty (no answer), else 0
        return float(g == p)
    return _token_f1(p, g)


def _v2_scores(text: str, golds: Sequence[str]) -> tuple[float, float]:
    golds = [g for g in golds if squad_normalize(g)] or [""]  # unanswerable: the gold is ""
    return max(_v2_exact(g, text) for g in golds), max(_v2_f1(g, text) for g in golds)


def _v2_at(predictions, references, threshold: float) -> tuple[list[float], list[float]]:
    """Per question EM and F1 when answers whose null-score margin exceeds ``threshold`` are
    replaced by "no answer" (evaluate-v2.0.py ``apply_no_ans_threshold``)."""
    ems, f1s = [], []
    for pred, golds in zip(predictions, references, strict=True):
        text = "" if pred["null_diff"] > threshold else pred["text"]
        em, f1 = _v2_scores(text, golds)
        ems.append(em)
        f1s.append(f1)
    return ems, f1s


def best_null_threshold(predictions, references) -> float:
    """evaluate-v2.0.py ``find_best_thresh`` on F1: walk the questions by null-score margin and
    keep the margin after which predicting "no answer" scores best."""
    _, f1_answer = _v2_at(predictions, references, float("inf"))
    _, f1_null = _v2_at(predictions, references, float("-inf"))
    order = sorted(range(len(predictions)), key=lambda i: predictions[i]["null_diff"])
    score = best = sum(f1_null)  # every question answered "no answer" (threshold below all)
    threshold = min((p["null_diff"] for p in predictions), default=0.0) - 1.0
    for i in order:
        score += f1_answer[i] - f1_null[i]  # question i now keeps its span
        if score > best:
            best, threshold = score, predictions[i]["null_diff"]
    return threshold


def squad_v2_metrics(
    predictions: Sequence[dict], references: Sequence[Sequence[str]], threshold: float | None = None
) -> dict[str, float]:
    """SQuAD v2.0 ``evaluate-v2.0.py``: ``exact_match``/``f1`` overall, ``HasAns_*`` and
    ``NoAns_*``. Each prediction is ``{"text", "null_diff"}`` (null score minus the best span's,
    as transformers ``run_qa.py`` with ``version_2_with_negative``); "no answer" is predicted when
    ``null_diff > threshold``. Without ``threshold`` it is tuned on these very questions (what the
    official script reports as ``best_f1`` with ``na_prob``; use it on English dev only)."""
    if len(predictions) != len(references) or not references:
        raise ValueError("predictions and references must be aligned and non-empty")
    if threshold is None:
        threshold = best_null_threshold(predictions, references)
    ems, f1s = _v2_at(predictions, references, threshold)
    has = [i for i, g in enumerate(references) if any(squad_normalize(x) for x in g)]
    no = [i for i in range(len(references)) if i not in set(has)]
    out = {"exact_match": sum(ems) / len(ems), "f1": sum(f1s) / len(f1s), "n": len(references)}
    out["em_f1"] = em_f1_mean(out["exact_match"], out["f1"])
    for name, idx in (("HasAns", has), ("NoAns", no)):
        out[f"{name}_total"] = len(idx)
        if idx:
            out[f"{name}_exact"] = sum(ems[i] for i in idx) / len(idx)
            out[f"{name}_f1"] = sum(f1s[i] for i in idx) / len(idx)
    out["null_threshold"] = float(threshold)
    return out
