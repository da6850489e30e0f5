"""Multiple-choice intermediates: HellaSwag, CosmosQA, CommonsenseQA, CaseHOLD (legal), MedMCQA
(biomedical). Unlabelled test splits: HellaSwag/CommonsenseQA ``""``, CosmosQA/MedMCQA ``-1``.
"""

from __future__ import annotations

from ..registry import Source
from ..schema import Format, SchemaError
from .loading import hub_fetch, label_index, register_hub_task


def _index(
    task: str, n: int, value, where: str, field: str, names: tuple[str, ...] | None = None
) -> int:
    names = names or tuple(str(i) for i in range(n))
    return label_index(task, names, value, where=where, field_name=field, unlabelled=("",))


def map_hellaswag(rec: dict, language: str, where: str) -> dict:
    return {
        "id": f"hellaswag-{rec['ind']}",
        "context": rec["ctx"],
        "question": "",
        "choices": list(rec["endings"]),
        "label": _index("hellaswag", 4, rec["label"], where, "label"),
    }


def map_cosmosqa(rec: dict, language: str, where: str) -> dict:
    return {
        "id": str(rec["id"]),
        "context": rec["context"],
        "question": rec["question"],
        "choices": [rec[f"answer{i}"] for i in range(4)],
        "label": _index("cosmosqa", 4, rec["label"], where, "label"),
    }


CSQA_KEYS = ("A", "B", "C", "D", "E")


def map_commonsenseqa(rec: dict, language: str, where: str) -> dict:
    if list(rec["choices"]["label"]) != list(CSQA_KEYS):
        raise SchemaError(
            f"task commonsenseqa {where}: choices.label {rec['choices']['label']} != {list(CSQA_KEYS)}"
        )
    return {
        "id": str(rec["id"]),
        "context": "",
        "question": rec["question"],
        "choices": list(rec["choices"]["text"]),
        "label": _index("commonsenseqa", 5, rec["answerKey"], where, "answerKey", CSQA_KEYS),
    }


def map_case_hold(rec: dict, language: str, where: str) -> dict:
    return {
        "id": f"case_hold-{rec['_index']}",
        "context": rec["context"],
        "question": "",
        "choices": list(rec["endings"]),
        "label": _index("case_hold", 5, rec["label"], where, "label"),
    }


MEDMCQA_KEYS = ("a", "b", "c", "d")


def map_medmcqa(rec: dict, language: str, where: str) -> dict:
    return {
        "id": str(rec["id"]),
        "context": "",
        "question": rec["question"],
        "choices": [rec["opa"], rec["opb"], rec["opc"], rec["opd"]],
        "label": _index("medmcqa", 4, rec["cop"], where, "cop", MEDMCQA_KEYS),
    }


register_hub_task(
    name="hellaswag",
    format=Format.MULTIPLE_CHOICE,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "Rowan/hellaswag", "default"),
    metric="accuracy",
    license="MIT",
    unlabelled_splits=("test",),
    description="HellaSwag commonsense sentence completion",
    loader_fetch=hub_fetch("Rowan/hellaswag", None, task="hellaswag"),
    mapper=map_hellaswag,
)
register_hub_task(
    name="cosmosqa",
    format=Format.MULTIPLE_CHOICE,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "allenai/cosmos_qa", "default", note="script-only: Parquet export"),
    metric="accuracy",
    license="CC BY 4.0",
    unlabelled_splits=("test",),
    description="Cosmos QA reading comprehension with commonsense",
    parquet_export=True,
    mapper=map_cosmosqa,
)
register_hub_task(
    name="commonsenseqa",
    format=Format.MULTIPLE_CHOICE,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "tau/commonsense_qa", "default"),
    metric="accuracy",
    license="MIT",
    unlabelled_splits=("test",),
    description="CommonsenseQA (5 choices A-E)",
    loader_fetch=hub_fetch("tau/commonsense_qa", None, task="commonsenseqa"),
    mapper=map_commonsenseqa,
)
register_hub_task(
    name="case_hold",
    format=Format.MULTIPLE_CHOICE,
    domain="legal",
    roles=("intermediate",),
    source=Source("hub", "coastalcph/lex_glue", "case_hold"),
    metric="accuracy",
    license="CC BY-SA 4.0",
    description="LexGLUE CaseHOLD: pick the holding of a cited case (5 choices)",
    mapper=map_case_hold,
)
register_hub_task(
    name="medmcqa",
    format=Format.MULTIPLE_CHOICE,
    domain="biomedical",
    roles=("intermediate",),
    source=Source("hub", "openlifescienceai/medmcqa", "default"),
    metric="accuracy",
    license="MIT",
    unlabelled_splits=("test",),
    description="MedMCQA medical entrance-exam questions (test unlabelled)",
    loader_fetch=hub_fetch("openlifescienceai/medmcqa", None, task="medmcqa"),
    mapper=map_medmcqa,
)
