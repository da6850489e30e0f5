"""Extractive QA: SQuAD v1.1/v2.0 and CUAD (intermediate); XQuAD, MLQA, TyDiQA-GoldP (targets).

All share the SQuAD schema (``answers`` is a dict of lists). XQuAD has no ``title``; TyDiQA-GoldP
mixes its 9 languages in one config (language = ``id`` prefix, e.g. ``arabic-…``); XQuAD, TyDiQA
and MLQA have no training split (train on SQuAD); their dev sets serve as our ``test``.
"""

from __future__ import annotations

from ...languages import LANGUAGES, TASK_LANGUAGES
from ..protocol import PROTOCOLS
from ..registry import Source
from ..schema import Format, SchemaError
from . import raw
from .loading import hub_fetch, register_hub_task

TYDIQA_PREFIX = {LANGUAGES[c].name.lower(): c for c in TASK_LANGUAGES["tydiqa"]}


def map_squad(rec: dict, language: str, where: str, *, task: str = "qa") -> dict:
    answers = rec.get("answers") or {"text": [], "answer_start": []}
    if isinstance(answers, list):  # a list of {text, answer_start} dicts
        answers = {
            "text": [a["text"] for a in answers],
            "answer_start": [a["answer_start"] for a in answers],
        }
    answers = {
        "text": list(answers["text"]),
        "answer_start": [int(s) for s in answers["answer_start"]],
    }
    context = rec["context"]
    for text, start in zip(answers["text"], answers["answer_start"], strict=False):
        if start < 0 or start + len(text) > len(context):
            raise SchemaError(
                f"task {task} {where}: answer {text!r} at {start} lies outside the context"
            )
    return {
        "id": str(rec["id"]),
        "title": rec.get("title", "") or "",
        "context": context,
        "question": rec["question"],
        "answers": answers,
    }


def _mapper(task: str):
    def mapper(rec: dict, language: str, where: str) -> dict:
        return map_squad(rec, language, where, task=task)

    return mapper


def map_tydiqa(rec: dict, language: str, where: str) -> dict | None:
    prefix = str(rec["id"]).split("-", 1)[0]
    if prefix not in TYDIQA_PREFIX:
        raise SchemaError(
            f"task tydiqa {where}: id {rec['id']!r} has no known language prefix "
            f"({sorted(TYDIQA_PREFIX)})"
        )
    if TYDIQA_PREFIX[prefix] != language:
        return None
    return map_squad(rec, language, where, task="tydiqa")


def _squad_reader(patterns_by_split: dict[str, list[str]]):
    def read(data_files, split: str, language: str):
        patterns = [p.format(lang=language) for p in patterns_by_split[split]]
        return raw.read_squad_json(raw.find_files(data_files, patterns, f"SQuAD-format {split}"))

    return read


register_hub_task(
    name="squad",
    format=Format.QA,
    domain="general",
    roles=("intermediate", "target"),
    source=Source("hub", "rajpurkar/squad", "plain_text"),
    metric="squad_em_f1",
    splits=("train", "validation"),
    license="CC BY-SA 4.0",
    description="SQuAD v1.1",
    mapper=_mapper("squad"),
    read_raw=_squad_reader({"train": ["train-v1.1.json"], "validation": ["dev-v1.1.json"]}),
)
register_hub_task(
    name="squad_v2",
    format=Format.QA,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "rajpurkar/squad_v2", "squad_v2"),
    metric="squad_v2",
    splits=("train", "validation"),
    license="CC BY-SA 4.0",
    description="SQuAD v2.0 (unanswerable questions have empty answers)",
    mapper=_mapper("squad_v2"),
    read_raw=_squad_reader({"train": ["train-v2.0.json"], "validation": ["dev-v2.0.json"]}),
)
register_hub_task(
    name="cuad",
    format=Format.QA,
    domain="legal",
    roles=("intermediate",),
    source=Source(
        "hub", "theatticusproject/cuad-qa", "default", note="script-only: Parquet export"
    ),
    metric="squad_v2",
    splits=("train", "test"),
    license="CC BY 4.0",
    description="CUAD contract clause extraction (SQuAD-2 style, whole contracts as context)",
    loader_fetch=hub_fetch(
        "theatticusproject/cuad-qa", "default", task="cuad", parquet_export=True
    ),
    mapper=_mapper("cuad"),
    read_raw=_squad_reader(
        {"train": ["train_separate_questions.json", "CUADv1.json"], "test": ["test.json"]}
    ),
)

_XQUAD_XTREME = set(TASK_LANGUAGES["xquad"])
_xquad_xtreme = hub_fetch("google/xtreme", lambda lang: f"XQuAD.{lang}", task="xquad")
_xquad_google = hub_fetch("google/xquad", lambda lang: f"xquad.{lang}", task="xquad")


def _fetch_xquad(split: str, language: str):
    return (_xquad_xtreme if language in _XQUAD_XTREME else _xquad_google)(split, language)


register_hub_task(
    name="xquad",
    format=Format.QA,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "XQuAD.<lang>", note="ro (XTREME-R): google/xquad"),
    metric=PROTOCOLS["xquad"].metric,
    languages=TASK_LANGUAGES["xquad_xtremer"],
    splits=("test",),
    license="CC BY-SA 4.0",
    description="XQuAD (its only split, validation, is the test set)",
    loader_fetch=_fetch_xquad,
    mapper=_mapper("xquad"),
    split_map={"test": "validation"},
    read_raw=_squad_reader({"test": ["xquad.{lang}.json"]}),
)
register_hub_task(
    name="mlqa",
    format=Format.QA,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "MLQA.<lang>.<lang>"),
    metric=PROTOCOLS["mlqa"].metric,
    languages=TASK_LANGUAGES["mlqa"],
    splits=("validation", "test"),
    license="CC BY-SA 3.0",
    description="MLQA, context and question in the same language",
    loader_fetch=hub_fetch("google/xtreme", lambda lang: f"MLQA.{lang}.{lang}", task="mlqa"),
    mapper=_mapper("mlqa"),
    read_raw=_squad_reader(
        {
            "validation": ["dev-context-{lang}-question-{lang}.json"],
            "test": ["test-context-{lang}-question-{lang}.json"],
        }
    ),
)
register_hub_task(
    name="tydiqa",
    format=Format.QA,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "tydiqa"),
    metric=PROTOCOLS["tydiqa"].metric,
    languages=TASK_LANGUAGES["tydiqa"],
    splits=("train", "test"),
    license="Apache-2.0",
    description="TyDiQA-GoldP (its dev set is the test set; language from the id prefix)",
    mapper=map_tydiqa,
    split_map={"test": "validation"},
    read_raw=_squad_reader(
        {"train": ["tydiqa-goldp-v1.1-train.json"], "test": ["tydiqa-goldp-v1.1-dev.json"]}
    ),
)
