"""Raw-format readers: the ``data_files=`` path of the hub loaders.

Each reader parses the files a dataset is distributed in and yields records in the *hub's* schema
(the same schema ``datasets.load_dataset`` gives), so one mapping function serves both paths.
A reader accepts a file, a list of files, or a folder laid out as upstream distributes it.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# PAN-X/WikiANN and xtreme udpos ClassLabel orders (hub-datasets.md)
PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
XTREME_UPOS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)
# universal_dependencies (v2.7) upos ClassLabel order: 18 names incl. "_", a different order
UD_UPOS = (
    "NOUN",
    "PUNCT",
    "ADP",
    "NUM",
    "SYM",
    "SCONJ",
    "ADJ",
    "PART",
    "DET",
    "CCONJ",
    "PROPN",
    "PRON",
    "X",
    "_",
    "ADV",
    "INTJ",
    "VERB",
    "AUX",
)

# our split -> upstream file-name stem per dataset
_UD_SPLIT = {"train": "train", "validation": "dev", "test": "test"}


class RawFormatError(ValueError):
    """A raw data file does not have the expected format."""


def _paths(data_files: Any) -> list[Path]:
    if isinstance(data_files, (list, tuple)):
        return [Path(p) for p in data_files]
    return [Path(data_files)]


def find_files(data_files: Any, patterns: Iterable[str], what: str) -> list[Path]:
    """Files as given, or for a folder the files matching the first pattern that matches."""
    paths = _paths(data_files)
    if len(paths) == 1 and paths[0].is_dir():
        root = paths[0]
        patterns = list(patterns)
        for pattern in patterns:
            found = sorted(p for p in root.rglob(pattern) if p.is_file())
            if found:
                return found
        raise FileNotFoundError(f"{root}: no {what} file matching any of {patterns}")
    return paths


def _increase_csv_limit() -> None:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


# --- SQuAD-style JSON (SQuAD, XQuAD, MLQA, TyDiQA-GoldP, CUAD) ----------------------------------


def read_squad_json(data_files: Any) -> Iterator[dict]:
    """``{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}`` -> hub records."""
    for path in _paths(data_files):
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
            raise RawFormatError(f"{path}: expected SQuAD JSON with a top-level 'data' list")
        for article in doc["data"]:
            title = article.get("title", "")
            for para in article["paragraphs"]:
                for qa in para["qas"]:
                    answers = qa.get("answers", [])
                    yield {
                        "id": str(qa["id"]),
                        "title": title,
                        "context": para["context"],
                        "question": qa["question"],
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [int(a["answer_start"]) for a in answers],
                        },
                    }


# --- CoNLL-U (UD POS) ---------------------------------------------------------------------------


def read_conllu(data_files: Any, tag_names: tuple[str, ...] = XTREME_UPOS) -> Iterator[dict]:
    """FORM + UPOS per sentence as ``{tokens, pos_tags}`` (ids in ``tag_names``, xtreme order).

    Skips ``#`` comments, multiword ranges (``1-2``) and empty nodes (``1.1``), and tokens whose
    FORM or UPOS is ``_`` (as XTREME's preprocessing does).
    """
    for path in _paths(data_files):
        tokens: list[str] = []
        tags: list[int] = []
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\n")
                if not line.strip():
                    if tokens:
                        yield {"tokens": tokens, "pos_tags": tags}
                    tokens, tags = [], []
                    continue
                if line.startswith("#"):
                    continue
                cols = line.split("\t")
                if len(cols) != 10:
                    raise RawFormatError(
                        f"{path}:{lineno}: expected 10 TAB columns, got {len(cols)}"
                    )
                if "-" in cols[0] or "." in cols[0]:
                    continue
                form, upos = cols[1], cols[3]
                if form == "_" or upos == "_":
                    continue
                if upos not in tag_names:
                    raise RawFormatError(f"{path}:{lineno}: UPOS {upos!r} not in {list(tag_names)}")
                tokens.append(form)
                tags.append(tag_names.index(upos))
        if tokens:
            yield {"tokens": tokens, "pos_tags": tags}


def udpos_files(data_files: Any, split: str, language: str) -> list[Path]:
    """All treebanks of a language for a split (XTREME concatenates them): ``<lang>_*-ud-<split>``."""
    stem = _UD_SPLIT[split]
    return find_files(
        data_files, [f"{language}_*-ud-{stem}.conllu", f"*-ud-{stem}.conllu"], f"CoNLL-U {split}"
    )


# --- PAN-X (``xx:token<TAB>TAG``) --------------------------------------------------------------


def read_panx(data_files: Any) -> Iterator[dict]:
    for path in _paths(data_files):
        tokens: list[str] = []
        tags: list[int] = []
        langs: list[str] = []
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\n")
                if not line.strip():
                    if tokens:
                        yield {"tokens": tokens, "ner_tags": tags, "langs": langs}
                    tokens, tags, langs = [], [], []
                    continue
                parts = line.split("\t")
                if len(parts) != 2 or ":" not in parts[0]:
                    raise RawFormatError(
                        f"{path}:{lineno}: expected 'xx:token<TAB>TAG', got {line!r}"
                    )
                lang, token = parts[0].split(":", 1)
                if parts[1] not in PANX_TAGS:
                    raise RawFormatError(
                        f"{path}:{lineno}: tag {parts[1]!r} not in {list(PANX_TAGS)}"
                    )
                tokens.append(token)
                tags.append(PANX_TAGS.index(parts[1]))
                langs.append(lang)
        if tokens:
            yield {"tokens": tokens, "ner_tags": tags, "langs": langs}


# --- TSVs -----------------------------------------------------------------------------------------


def read_pawsx_tsv(data_files: Any) -> Iterator[dict]:
    """``id sentence1 sentence2 label`` -> google/xtreme PAWS-X records (string label)."""
    _increase_csv_limit()
    for path in _paths(data_files):
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header != ["id", "sentence1", "sentence2", "label"]:
                raise RawFormatError(
                    f"{path}: expected header id/sentence1/sentence2/label, got {header}"
                )
            for fields in reader:
                if len(fields) != 4:  # the HF script drops malformed rows too
                    continue
                yield {
                    "id": fields[0],
                    "sentence1": fields[1],
                    "sentence2": fields[2],
                    "label": fields[3],
                }


def _tsv_dicts(path: Path, required: tuple[str, ...]) -> Iterator[dict]:
    _increase_csv_limit()
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise RawFormatError(
                f"{path}: missing column(s) {missing}; header is {reader.fieldnames}"
            )
        yield from reader


def read_xnli_tsv(data_files: Any) -> Iterator[dict]:
    """XNLI-1.0 ``xnli.{dev,test}.tsv`` -> google/xtreme XNLI records (all languages)."""
    for path in _paths(data_files):
        for rec in _tsv_dicts(path, ("language", "gold_label", "sentence1", "sentence2")):
            yield {
                "language": rec["language"],
                "sentence1": rec["sentence1"],
                "sentence2": rec["sentence2"],
                "gold_label": rec["gold_label"],
            }


def read_xnli_mt_tsv(data_files: Any) -> Iterator[dict]:
    """XNLI-MT ``multinli.train.<lang>.tsv`` (``premise hypo label``) -> facebook/xnli records."""
    for path in _paths(data_files):
        for rec in _tsv_dicts(path, ("premise", "hypo", "label")):
            yield {
                "premise": rec["premise"],
                "hypothesis": rec["hypo"],
                "label": rec["label"].replace("contradictory", "contradiction"),
            }


def read_legalbench_tsv(data_files: Any) -> Iterator[dict]:
    """LegalBench ``{train,test}.tsv``: columns found by name (their order differs per task)."""
    for path in _paths(data_files):
        for rec in _tsv_dicts(path, ("index", "text", "answer")):
            yield {
                "index": rec["index"],
                "text": rec["text"],
                "answer": rec["answer"],
                "document_name": rec.get("document_name", ""),
            }


# --- JSON lines / JSON ------------------------------------------------------------------------------


def read_jsonl(data_files: Any) -> Iterator[dict]:
    for path in _paths(data_files):
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as err:
                    raise RawFormatError(f"{path}:{lineno}: not JSON ({err})") from None


def read_pubmedqa(ori_pqal: Path, test_ground_truth: Path, split: str) -> Iterator[dict]:
    """``ori_pqal.json`` -> HF ``pqa_labeled`` records; the standard split from ``test_ground_truth``.

    ``test`` = the 500 official test PMIDs; ``train`` = the other 500.
    """
    items = json.loads(Path(ori_pqal).read_text(encoding="utf-8"))
    test_ids = set(json.loads(Path(test_ground_truth).read_text(encoding="utf-8")))
    missing = test_ids - set(items)
    if missing:
        raise RawFormatError(f"{test_ground_truth}: {len(missing)} test PMIDs not in {ori_pqal}")
    for pmid, item in items.items():
        if (pmid in test_ids) != (split == "test"):
            continue
        yield {
            "pubid": int(pmid),
            "question": item["QUESTION"],
            "context": {
                "contexts": item["CONTEXTS"],
                "labels": item["LABELS"],
                "meshes": item.get("MESHES", []),
                "reasoning_required_pred": item.get("reasoning_required_pred", ""),
                "reasoning_free_pred": item.get("reasoning_free_pred", ""),
            },
            "long_answer": item.get("LONG_ANSWER", ""),
            "final_decision": item["final_decision"],
        }
