"""One row schema per task format, shared by every task of that format (and by its head).

Rows are plain dicts, written as JSONL by curation and read back by the training phases.

=================  ==========================================================================
format             row keys
=================  ==========================================================================
single             id, text, label (int)
multi_label        id, text, labels (list[int], the gold concepts; may be empty)
pair               id, text_a, text_b, label (int)
multiple_choice    id, context, question, choices (list[str]), label (int)
qa                 id, title, context, question, answers {text: [str], answer_start: [int]}
tagging            id, tokens (list[str]), tags (list[int])
retrieval          id, text; pairs also ``english`` (curate adds it), BUCC ``side``, ``gold``
=================  ==========================================================================

A label of -1 is allowed only where a task declares ``unlabelled_splits``.
"""

from __future__ import annotations

from enum import Enum


class Format(str, Enum):
    SINGLE = "single"
    MULTI_LABEL = "multi_label"
    PAIR = "pair"
    MULTIPLE_CHOICE = "multiple_choice"
    QA = "qa"
    TAGGING = "tagging"
    RETRIEVAL = "retrieval"


REQUIRED_KEYS: dict[Format, tuple[str, ...]] = {
    Format.SINGLE: ("id", "text", "label"),
    Format.MULTI_LABEL: ("id", "text", "labels"),
    Format.PAIR: ("id", "text_a", "text_b", "label"),
    Format.MULTIPLE_CHOICE: ("id", "context", "question", "choices", "label"),
    Format.QA: ("id", "title", "context", "question", "answers"),
    Format.TAGGING: ("id", "tokens", "tags"),
    Format.RETRIEVAL: ("id", "text"),
}


class SchemaError(ValueError):
    """A row does not fit its format's schema."""


def validate_row(
    row: dict,
    fmt: Format,
    *,
    where: str,
    n_labels: int | None = None,
    allow_unlabelled: bool = False,
) -> dict:
    """Check one row against its format; raise ``SchemaError`` naming ``where`` and the field."""
    fmt = Format(fmt)
    for key in REQUIRED_KEYS[fmt]:
        if key not in row:
            raise SchemaError(
                f"{where}: missing field {key!r} (format {fmt.value} needs {REQUIRED_KEYS[fmt]})"
            )
    labels: list[int] = []
    if fmt in (Format.SINGLE, Format.PAIR, Format.MULTIPLE_CHOICE):
        labels = [row["label"]]
    elif fmt is Format.MULTI_LABEL:
        if not isinstance(row["labels"], list):
            raise SchemaError(f"{where}: labels must be a list of label ids")
        labels = list(row["labels"])
    elif fmt is Format.TAGGING:
        labels = list(row["tags"])
        if len(row["tags"]) != len(row["tokens"]):
            raise SchemaError(f"{where}: {len(row['tokens'])} tokens but {len(row['tags'])} tags")
    for label in labels:
        if not isinstance(label, int) or isinstance(label, bool):
            raise SchemaError(f"{where}: label {label!r} is not an int")
        if label == -1 and allow_unlabelled:
            continue
        limit = len(row["choices"]) if fmt is Format.MULTIPLE_CHOICE else n_labels
        if label < 0 or (limit is not None and label >= limit):
            raise SchemaError(f"{where}: label {label} outside 0..{(limit or 0) - 1}")
    if fmt is Format.QA:
        answers = row["answers"]
        if not isinstance(answers, dict) or set(answers) != {"text", "answer_start"}:
            raise SchemaError(f"{where}: answers must be {{'text': [...], 'answer_start': [...]}}")
        if len(answers["text"]) != len(answers["answer_start"]):
            raise SchemaError(f"{where}: answers.text and answers.answer_start differ in length")
    return row
