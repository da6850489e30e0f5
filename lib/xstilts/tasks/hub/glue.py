"""Sentence(-pair) classification intermediates: MNLI, QQP, SST-2 (GLUE), ANLI+ and SciTail.

GLUE test splits are unlabelled (-1). ANLI+ (Phang et al. 2020) = SNLI + MNLI + ANLI rounds 1-3
for training; validation/test are the ANLI dev/test rounds concatenated. SNLI pairs without a gold
label (-1) are dropped in every split. SciTail labels are the strings ``entails``/``neutral``.
"""

from __future__ import annotations

from ..registry import Source
from ..schema import Format
from .loading import label_index, load_hub_split, register_hub_task

NLI_LABELS = ("entailment", "neutral", "contradiction")


def _pair_mapper(task: str, a: str, b: str, names: tuple[str, ...], id_field: str | None = "idx"):
    def mapper(rec: dict, language: str, where: str) -> dict | None:
        label = label_index(
            task, names, rec["label"], where=where, field_name="label", unlabelled=("",)
        )
        rid = rec[id_field] if id_field and id_field in rec else rec["_index"]
        return {"id": f"{task}-{rid}", "text_a": rec[a], "text_b": rec[b], "label": label}

    return mapper


register_hub_task(
    name="mnli",
    format=Format.PAIR,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "nyu-mll/glue", "mnli"),
    metric="accuracy",
    label_names=NLI_LABELS,
    license="OANC / CC BY-SA 3.0 / CC BY 3.0 (mixed by genre)",
    unlabelled_splits=("test",),
    description="MultiNLI (validation/test = matched)",
    mapper=_pair_mapper("mnli", "premise", "hypothesis", NLI_LABELS),
    split_map={"validation": "validation_matched", "test": "test_matched"},
)
QQP_LABELS = ("not_duplicate", "duplicate")
register_hub_task(
    name="qqp",
    format=Format.PAIR,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "nyu-mll/glue", "qqp"),
    metric="accuracy",
    label_names=QQP_LABELS,
    license="Quora terms of service (non-commercial research)",
    unlabelled_splits=("test",),
    description="Quora Question Pairs",
    mapper=_pair_mapper("qqp", "question1", "question2", QQP_LABELS),
)
SST2_LABELS = ("negative", "positive")


def map_sst2(rec: dict, language: str, where: str) -> dict:
    label = label_index("sst2", SST2_LABELS, rec["label"], where=where, field_name="label")
    return {"id": f"sst2-{rec.get('idx', rec['_index'])}", "text": rec["sentence"], "label": label}


register_hub_task(
    name="sst2",
    format=Format.SINGLE,
    domain="general",
    roles=("intermediate",),
    source=Source("hub", "nyu-mll/glue", "sst2"),
    metric="accuracy",
    label_names=SST2_LABELS,
    license="unspecified (research use)",
    unlabelled_splits=("test",),
    description="Stanford Sentiment Treebank, binary",
    mapper=map_sst2,
)

# --- ANLI+ ---------------------------------------------------------------------------------------

ANLI_ROUNDS = ("r1", "r2", "r3")
_ANLI_SPLIT = {"train": "train", "validation": "dev", "test": "test"}


def anli_plus_parts(split: str) -> list[tuple[str, str | None, str]]:
    """(hub id, config, hub split) parts of ANLI+ for one of our splits."""
    parts = [("facebook/anli", "plain_text", f"{_ANLI_SPLIT[split]}_{r}") for r in ANLI_ROUNDS]
    if split == "train":
        parts = [
            ("stanfordnlp/snli", "plain_text", "train"),
            ("nyu-mll/glue", "mnli", "train"),
            *parts,
        ]
    return parts


def _fetch_anli_plus(split: str, language: str):
    for hub_id, config, hub_split in anli_plus_parts(split):
        for rec in load_hub_split(hub_id, config, hub_split, task="anli_plus"):
            yield {**rec, "_part": f"{hub_id.split('/')[-1]}-{hub_split}"}


def map_anli_plus(rec: dict, language: str, where: str) -> dict | None:
    if rec["label"] == -1:  # SNLI pairs without a gold label (never in a labelled ANLI/MNLI split)
        return None
    label = label_index("anli_plus", NLI_LABELS, rec["label"], where=where, field_name="label")
    rid = rec.get("uid") or rec.get("idx", rec["_index"])
    return {
        "id": f"{rec.get('_part', 'anli')}-{rid}",
        "text_a": rec["premise"],
        "text_b": rec["hypothesis"],
        "label": label,
    }


register_hub_task(
    name="anli_plus",
    format=Format.PAIR,
    domain="general",
    roles=("intermediate",),
    source=Source(
        "hub",
        "facebook/anli",
        "plain_text",
        note="train adds stanfordnlp/snli + nyu-mll/glue mnli; eval = ANLI r1-r3",
    ),
    metric="accuracy",
    label_names=NLI_LABELS,
    license="CC BY-NC 4.0 (ANLI); CC BY-SA 4.0 (SNLI); MNLI mixed",
    description="ANLI+ = SNLI + MNLI + ANLI r1-r3 (Phang et al. 2020)",
    loader_fetch=_fetch_anli_plus,
    mapper=map_anli_plus,
)

SCITAIL_LABELS = ("entails", "neutral")
register_hub_task(
    name="scitail",
    format=Format.PAIR,
    domain="biomedical",
    roles=("intermediate",),
    source=Source("hub", "allenai/scitail", "tsv_format"),
    metric="accuracy",
    label_names=SCITAIL_LABELS,
    license="Apache-2.0",
    description="SciTail science entailment (2-way, string labels)",
    mapper=_pair_mapper("scitail", "premise", "hypothesis", SCITAIL_LABELS, id_field=None),
)
