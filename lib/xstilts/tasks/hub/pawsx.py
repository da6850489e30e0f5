"""PAWS-X (target) from ``google/xtreme`` ``PAWS-X.<lang>`` (string labels "0"/"1", no id)."""

from __future__ import annotations

from ...languages import TASK_LANGUAGES
from ..protocol import PROTOCOLS
from ..registry import Source
from ..schema import Format
from . import raw
from .loading import hub_fetch, label_index, register_hub_task

PAWSX_LABELS = ("0", "1")  # 0 = not a paraphrase, 1 = paraphrase (hub strings)


def map_pawsx(rec: dict, language: str, where: str) -> dict:
    label = label_index("pawsx", PAWSX_LABELS, str(rec["label"]), where=where, field_name="label")
    # no language in the id: the dev/test sets are translations of the same English pairs (the raw
    # files share ids; the hub config has none, so the position within the language stands in)
    rid = rec.get("id") or rec["_index"]
    return {
        "id": f"pawsx-{rec['_split']}-{rid}",
        "text_a": rec["sentence1"],
        "text_b": rec["sentence2"],
        "label": label,
    }


def read_pawsx_files(data_files, split: str, language: str):
    names = {
        "train": ["train.tsv", "translated_train.tsv"],
        "validation": ["dev_2k.tsv"],
        "test": ["test_2k.tsv"],
    }[split]
    patterns = [f"{language}/{n}" for n in names] + names
    return raw.read_pawsx_tsv(raw.find_files(data_files, patterns, f"PAWS-X {split}"))


register_hub_task(
    name="pawsx",
    format=Format.PAIR,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "PAWS-X.<lang>"),
    metric=PROTOCOLS["pawsx"].metric,
    languages=TASK_LANGUAGES["pawsx"],
    label_names=PAWSX_LABELS,
    license="PAWS-X: free for any purpose (attribution appreciated)",
    description="Cross-lingual paraphrase identification (XTREME)",
    loader_fetch=hub_fetch("google/xtreme", lambda lang: f"PAWS-X.{lang}", task="pawsx"),
    mapper=map_pawsx,
    read_raw=read_pawsx_files,
)
