"""XCOPA (XTREME-R target) and its English training sources, SIQA and COPA.

XCOPA: ``cambridgeltl/xcopa`` per language, validation 100 / test 500, the same items (``idx``) in
every language. Multiple choice with two alternatives; ``question`` (cause/effect) becomes
"What was the cause?" / "What was the effect?" after the premise, as xtreme's ``run_xcopa.py``
writes it. No training split: XTREME-R trains on SIQA, then English COPA
(``xstilts.tasks.protocol``). Raw files: ``{val,test}.<lang>.jsonl``.

SIQA: ``allenai/social_i_qa`` (``context, question, answerA..C``, label "1"-"3" as a string).
COPA: ``aps/super_glue`` ``copa`` (XCOPA's schema; label 0/1). Both are script-only repos, read
through their Parquet export (schemas from the last HF loading scripts).
"""

from __future__ import annotations

from ...languages import TASK_LANGUAGES
from ..protocol import PROTOCOLS
from ..registry import Source
from ..schema import Format, SchemaError
from . import raw
from .loading import hub_fetch, label_index, register_hub_task

# xtreme third_party/run_xcopa.py: f"{context} What was the {question}?" against each choice
QUESTIONS = {"cause": "What was the cause?", "effect": "What was the effect?"}


def _copa_mapper(task: str):
    def map_copa(rec: dict, language: str, where: str) -> dict:
        if rec["question"] not in QUESTIONS:
            raise SchemaError(
                f"task {task} {where}: field 'question' = {rec['question']!r}, expected cause/effect"
            )
        return {
            # no language in the id: XCOPA's items are the same in every language
            "id": f"{task}-{rec['idx']}"
            if task == "xcopa"
            else f"{task}-{rec['_split']}-{rec['idx']}",
            "context": rec["premise"],
            "question": QUESTIONS[rec["question"]],
            "choices": [rec["choice1"], rec["choice2"]],
            "label": int(rec["label"]),
        }

    return map_copa


map_xcopa = _copa_mapper("xcopa")


def map_siqa(rec: dict, language: str, where: str) -> dict:
    label = label_index("siqa", ("1", "2", "3"), str(rec["label"]), where=where, field_name="label")
    return {
        "id": f"siqa-{rec['_split']}-{rec['_index']}",
        "context": rec["context"],
        "question": rec["question"],
        "choices": [rec["answerA"], rec["answerB"], rec["answerC"]],
        "label": label,
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
    metric=PROTOCOLS["xcopa"].metric,
    languages=TASK_LANGUAGES["xcopa"],
    label_names=("choice1", "choice2"),
    splits=("validation", "test"),
    license="CC BY 4.0",
    description="Cross-lingual choice of plausible alternatives (XTREME-R)",
    loader_fetch=hub_fetch("cambridgeltl/xcopa", lambda lang: lang, task="xcopa"),
    mapper=map_xcopa,
    read_raw=read_xcopa_files,
)
register_hub_task(
    name="siqa",
    format=Format.MULTIPLE_CHOICE,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "allenai/social_i_qa", "default", note="script-only: Parquet export"),
    metric="accuracy",
    splits=("train", "validation"),
    license="CC BY 4.0",
    description="Social IQa (3 choices); XTREME-R's first training phase for XCOPA",
    parquet_export=True,
    mapper=map_siqa,
)
register_hub_task(
    name="copa",
    format=Format.MULTIPLE_CHOICE,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "aps/super_glue", "copa", note="script-only: Parquet export"),
    metric="accuracy",
    label_names=("choice1", "choice2"),
    splits=("train", "validation"),
    license="BSD 2-Clause (COPA)",
    description="English COPA (SuperGLUE); XTREME-R's second training phase for XCOPA",
    parquet_export=True,
    mapper=_copa_mapper("copa"),
    read_raw=lambda data_files, split, language: raw.read_jsonl(
        raw.find_files(data_files, [f"{split.replace('validation', 'val')}.jsonl"], f"COPA {split}")
    ),
)
