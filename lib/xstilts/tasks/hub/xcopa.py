"""XCOPA (XTREME-R target): ``cambridgeltl/xcopa`` per language, validation 100 / test 500.

Multiple choice with two alternatives; ``question`` (cause/effect) becomes a natural question.
No training split (XTREME-R trains on English COPA + SIQA). Raw files: ``{val,test}.<lang>.jsonl``.
"""

from __future__ import annotations

from ...languages import TASK_LANGUAGES
from ..registry import Source
from ..schema import Format, SchemaError
from . import raw
from .loading import hub_fetch, register_hub_task

QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def map_xcopa(rec: dict, language: str, where: str) -> dict:
    if rec["question"] not in QUESTIONS:
        raise SchemaError(
            f"task xcopa {where}: field 'question' = {rec['question']!r}, expected cause/effect"
        )
    return {
        "id": f"xcopa-{language}-{rec['idx']}",
        "context": rec["premise"],
        "question": QUESTIONS[rec["question"]],
        "choices": [rec["choice1"], rec["choice2"]],
        "label": int(rec["label"]),
    }


def read_xcopa_files(data_files, split: str, language: str):
    stem = {"validation": "val", "test": "test"}[split]
    return raw.read_jsonl(
        raw.find_files(data_files, [f"{stem}.{language}.jsonl"], f"XCOPA {split}")
    )


register_hub_task(
    name="xcopa",
    format=Format.MULTIPLE_CHOICE,
    domain="general",
    roles=("target",),
    source=Source("hub", "cambridgeltl/xcopa", "<lang>"),
    metric="accuracy",
    languages=TASK_LANGUAGES["xcopa"],
    label_names=("choice1", "choice2"),
    splits=("validation", "test"),
    license="CC BY 4.0",
    description="Cross-lingual choice of plausible alternatives (XTREME-R)",
    loader_fetch=hub_fetch("cambridgeltl/xcopa", lambda lang: lang, task="xcopa"),
    mapper=map_xcopa,
    read_raw=read_xcopa_files,
)
