"""XNLI (target): evaluation from ``google/xtreme`` XNLI, English training from ``facebook/xnli``.

google/xtreme's ``XNLI`` config mixes all 15 languages (filter on ``language``) and has string
``gold_label``s and no train split; the English train split is MNLI, taken from ``facebook/xnli``
(``en``, ClassLabel). Raw files: XNLI-1.0 ``xnli.{dev,test}.tsv`` and XNLI-MT
``multinli.train.<lang>.tsv`` (which writes ``contradictory``).
"""

from __future__ import annotations

from ...languages import TASK_LANGUAGES
from ..protocol import PROTOCOLS
from ..registry import Source
from ..schema import Format
from . import raw
from .loading import hub_fetch, label_index, register_hub_task

NLI_LABELS = ("entailment", "neutral", "contradiction")

_xtreme = hub_fetch("google/xtreme", "XNLI", task="xnli")
_facebook = hub_fetch("facebook/xnli", lambda lang: lang, task="xnli")


def _fetch(split: str, language: str):
    if split == "train":
        return _facebook(split, language)
    return with_positions(_xtreme(split, language))


def with_positions(records):
    """Number each record within its language: XNLI's dev/test blocks hold the same pairs in the
    same order in every language, so this position is the item's language-free id."""
    seen: dict[str, int] = {}
    for rec in records:
        rec = dict(rec)
        rec["_position"] = seen.get(rec["language"], 0)
        seen[rec["language"]] = rec["_position"] + 1
        yield rec


def map_xnli(rec: dict, language: str, where: str) -> dict | None:
    if "language" in rec:  # google/xtreme schema: all languages in one config
        if rec["language"] != language:
            return None
        text_a, text_b, value, field = (
            rec["sentence1"],
            rec["sentence2"],
            rec["gold_label"],
            "gold_label",
        )
    else:  # facebook/xnli schema
        text_a, text_b, value, field = rec["premise"], rec["hypothesis"], rec["label"], "label"
    label = label_index("xnli", NLI_LABELS, value, where=where, field_name=field)
    item = rec.get("_position", rec["_index"])
    return {
        "id": f"xnli-{rec['_split']}-{item}",
        "text_a": text_a,
        "text_b": text_b,
        "label": label,
    }


def read_xnli_files(data_files, split: str, language: str):
    if split == "train":
        files = raw.find_files(data_files, [f"multinli.train.{language}.tsv"], "XNLI-MT train")
        return raw.read_xnli_mt_tsv(files)
    stem = {"validation": "dev", "test": "test"}[split]
    return with_positions(
        raw.read_xnli_tsv(raw.find_files(data_files, [f"xnli.{stem}.tsv"], f"XNLI {split}"))
    )


register_hub_task(
    name="xnli",
    format=Format.PAIR,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "XNLI", note="train: facebook/xnli en (= MNLI)"),
    metric=PROTOCOLS["xnli"].metric,
    languages=TASK_LANGUAGES["xnli"],
    label_names=NLI_LABELS,
    license="CC BY-NC 4.0",
    description="Cross-lingual NLI (XTREME); zero-shot from English MNLI",
    loader_fetch=_fetch,
    mapper=map_xnli,
    read_raw=read_xnli_files,
)
