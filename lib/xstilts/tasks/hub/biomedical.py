"""Biomedical intermediates: PubMedQA (PQA-L, PQA-A) and MedNLI (credentialed, local files only).

PubMedQA is a (question, abstract) -> yes/no/maybe pair task. PQA-L has one hub split of 1000; the
standard split is the 500 official test PMIDs (``pubmedqa_split.TEST_PMIDS``) vs the other 500.
MedMCQA lives in ``multiple_choice``, SciTail in ``glue``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..registry import Source
from ..schema import Format
from . import raw
from .loading import HubDatasetUnavailable, label_index, register_hub_task
from .pubmedqa_split import TEST_PMIDS

PUBMEDQA_LABELS = ("yes", "no", "maybe")
MEDNLI_LABELS = ("entailment", "neutral", "contradiction")
MEDNLI_ENV = "XSTILTS_MEDNLI_DIR"


def _pubmedqa_mapper(task: str, standard_split: bool):
    def mapper(rec: dict, language: str, where: str) -> dict | None:
        if standard_split and (int(rec["pubid"]) in TEST_PMIDS) != (rec["_split"] == "test"):
            return None
        label = label_index(
            task, PUBMEDQA_LABELS, rec["final_decision"], where=where, field_name="final_decision"
        )
        context = " ".join(rec["context"]["contexts"])
        return {
            "id": f"pubmedqa-{rec['pubid']}",
            "text_a": rec["question"],
            "text_b": context,
            "label": label,
        }

    return mapper


def read_pubmedqa_files(data_files, split: str, language: str):
    ori = raw.find_files(data_files, ["ori_pqal.json"], "PubMedQA ori_pqal.json")[0]
    gold = raw.find_files(
        Path(ori).parent, ["test_ground_truth.json"], "PubMedQA test_ground_truth.json"
    )[0]
    return raw.read_pubmedqa(ori, gold, split)


register_hub_task(
    name="pubmedqa",
    format=Format.PAIR,
    domain="biomedical",
    roles=("intermediate",),
    source=Source("hub", "qiaojin/PubMedQA", "pqa_labeled"),
    metric="accuracy",
    label_names=PUBMEDQA_LABELS,
    splits=("train", "test"),
    license="MIT",
    description="PubMedQA PQA-L (expert-labelled), standard 500/500 split",
    mapper=_pubmedqa_mapper("pubmedqa", standard_split=True),
    split_map={"test": "train"},
    read_raw=read_pubmedqa_files,
)
register_hub_task(
    name="pubmedqa_artificial",
    format=Format.PAIR,
    domain="biomedical",
    roles=("intermediate",),
    source=Source("hub", "qiaojin/PubMedQA", "pqa_artificial"),
    metric="accuracy",
    label_names=PUBMEDQA_LABELS,
    splits=("train",),
    license="MIT",
    description="PubMedQA PQA-A (211k heuristically labelled yes/no)",
    mapper=_pubmedqa_mapper("pubmedqa_artificial", standard_split=False),
)


# --- MedNLI ---------------------------------------------------------------------------------------


def map_mednli(rec: dict, language: str, where: str) -> dict:
    label = label_index(
        "mednli", MEDNLI_LABELS, rec["gold_label"], where=where, field_name="gold_label"
    )
    return {
        "id": f"mednli-{rec.get('pairID', rec['_index'])}",
        "text_a": rec["sentence1"],
        "text_b": rec["sentence2"],
        "label": label,
    }


def read_mednli_files(data_files, split: str, language: str):
    stem = {"train": "train", "validation": "dev", "test": "test"}[split]
    return raw.read_jsonl(raw.find_files(data_files, [f"mli_{stem}_v1.jsonl"], f"MedNLI {split}"))


def _fetch_mednli(split: str, language: str):
    folder = os.environ.get(MEDNLI_ENV)
    if folder and Path(folder).is_dir():
        return read_mednli_files(Path(folder), {"dev": "validation"}.get(split, split), language)
    raise HubDatasetUnavailable(
        "MedNLI is credentialed (PhysioNet) and never downloaded by xstilts: get "
        "mednli-a-natural-language-inference-dataset-for-the-clinical-domain-1.0.0 from physionet.org, "
        f"then set ${MEDNLI_ENV} (or $XSTILTS_LOCAL_DATA/mednli, or the loader's data_files=) to the folder "
        "holding mli_{train,dev,test}_v1.jsonl"
    )


register_hub_task(
    name="mednli",
    format=Format.PAIR,
    domain="biomedical",
    roles=("intermediate",),
    source=Source(
        "local",
        "bigbio/mednli",
        "mednli_source",
        note=f"PhysioNet credentialed; local files via ${MEDNLI_ENV} or data_files=",
    ),
    metric="accuracy",
    label_names=MEDNLI_LABELS,
    license="PhysioNet Credentialed Health Data License 1.5.0",
    description="MedNLI clinical NLI (local files only)",
    loader_fetch=_fetch_mednli,
    mapper=map_mednli,
    read_raw=read_mednli_files,
)
