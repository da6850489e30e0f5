"""Tagging metrics as XTREME computes them (PAN-X NER and UD-POS alike).

XTREME (`third_party/run_tag.py`, `evaluate.py`) scores both tasks with seqeval's default-mode
(conlleval-like) ``precision_score`` / ``recall_score`` / ``f1_score`` on lists of tag strings.
``entity_spans`` reproduces seqeval 0.0.12 ``get_entities`` (the release XTREME installed in 2020):

- the tag is the first character, the type everything after the *last* ``-``;
- sentences are flattened with an ``O`` between them, so no chunk crosses a sentence boundary;
- an ``I-X`` without a preceding ``B-X`` (or after a different type) starts a new chunk;
- a type change ends the current chunk, even between ``I-`` tags.

For POS tags without a prefix (``NOUN``), the "tag" is the first letter and the type the whole
string, so a run of identical POS tags counts as one chunk, ``SCONJ``/``SYM`` (tag ``S``) are
single-token chunks; this is what XTREME's udpos "F1" really measures. ``token_accuracy`` is the
plain per-token accuracy reported alongside. Fractions in [0, 1]; micro-averaged over chunks.
(seqeval >= 1.0 takes the type after the *first* ``-``; it differs from 0.0.12 only on tags with
several hyphens and on adjacent POS tags that differ only in their first letter, e.g. CCONJ SCONJ.)
"""

from __future__ import annotations

from collections.abc import Sequence

Span = tuple[str, int, int]  # (type, first token, last token), offsets in the flattened sequence


def _flatten(sequences: Sequence[Sequence[str]]) -> list[str]:
    flat: list[str] = []
    for i, seq in enumerate(sequences):
        if isinstance(seq, str):
            raise TypeError(f"expected a list of tag sequences, sentence {i} is a string {seq!r}")
        flat.extend(seq)
        flat.append("O")
    return flat


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in ("O", ".") and prev_type != type_


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if prev_tag in ("E", "S", "O") and tag in ("E", "I"):
        return True
    return tag not in ("O", ".") and prev_type != type_


def entity_spans(sequences: Sequence[Sequence[str]]) -> list[Span]:
    """Chunks of a list of tag sequences (seqeval 0.0.12 ``get_entities`` on a nested list)."""
    flat = _flatten(sequences)
    prev_tag, prev_type, begin = "O", "", 0
    spans: list[Span] = []
    for i, label in enumerate([*flat, "O"]):
        if not label:
            raise ValueError(f"empty tag at flattened position {i}")
        tag, type_ = label[0], label.split("-")[-1]
        if _end_of_chunk(prev_tag, tag, prev_type, type_):
            spans.append((prev_type, begin, i - 1))
        if _start_of_chunk(prev_tag, tag, prev_type, type_):
            begin = i
        prev_tag, prev_type = tag, type_
    return spans


def _check_aligned(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"predictions and references hold {len(predictions)} vs {len(references)} sentences"
        )
    for i, (p, r) in enumerate(zip(predictions, references, strict=True)):
        if len(p) != len(r):
            raise ValueError(f"sentence {i}: {len(p)} predicted tags for {len(r)} reference tags")
    if not any(len(r) for r in references):
        raise ValueError("cannot score an empty set of references")


def entity_scores(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """seqeval micro ``precision``, ``recall``, ``f1`` over chunks (0 when undefined)."""
    _check_aligned(predictions, references)
    gold, pred = set(entity_spans(references)), set(entity_spans(predictions))
    correct = len(gold & pred)
    precision = correct / len(pred) if pred else 0.0
    recall = correct / len(gold) if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_f1(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    return entity_scores(predictions, references)["f1"]


def token_accuracy(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> float:
    """Share of tokens whose tag equals the reference tag (seqeval ``accuracy_score``)."""
    _check_aligned(predictions, references)
    pairs = [
        (p, r)
        for ps, rs in zip(predictions, references, strict=True)
        for p, r in zip(ps, rs, strict=True)
    ]
    return sum(p == r for p, r in pairs) / len(pairs)


def tagging_metrics(
    predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]
) -> dict[str, float]:
    """XTREME's ``f1`` (primary), ``precision``, ``recall``, plus ``token_accuracy`` and ``n`` tokens."""
    scores = entity_scores(predictions, references)
    scores["token_accuracy"] = token_accuracy(predictions, references)
    scores["n"] = sum(len(r) for r in references)
    return scores
