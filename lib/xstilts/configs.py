"""Every setting a stage takes, defined once: the four stage configs.

:class:`CurateConfig`, :class:`IntermediateConfig`, :class:`TargetConfig` and
:class:`AnalysisConfig` (training settings: :class:`~xstilts.trainconfig.TrainConfig`, which the
two training stages nest as ``train``). Each field's annotation carries its constraint, so one
definition validates a config built in Python (``TargetConfig(scoring="dot")`` fails), a stage
notebook's ``config`` and a study file: the study sections (``orchestration.study_schema``) are
generated from these fields, so a new stage setting is one field here and is at once a study key
with its constraint, its error message and its place in the run key. Torch-free, so the CLI
validates a study without importing torch.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import Field, ValidationError
from pydantic.dataclasses import dataclass

from .models.loading import EMBEDDED  # torch-free: loading imports torch lazily
from .trainconfig import NonNegative, Positive, PositiveFloat, TrainConfig

Pooling = Literal["cls", "mean"]  # None where a stage takes one: the model family's default
Scoring = Literal["cosine", "margin"]  # retrieval: cosine, or the LASER/XTREME ratio margin
BuccCandidates = Literal["one_to_one", "all"]
Sampling = Literal["proportional", "temperature", "uniform"]  # mixture task sampling
MatchSizes = Literal["examples", "tokens", "steps"]  # what intermediate sizes are matched on
FamilyTable = Literal[
    "cells", "domain_match", "domains", "domain_contrasts", "format_matched_pairs"
]
Correction = Literal["holm", "bh"]  # multiple-comparison correction of the confirmatory family
POOLINGS: tuple[str, ...] = get_args(Pooling)
SCORINGS: tuple[str, ...] = get_args(Scoring)
SAMPLINGS: tuple[str, ...] = get_args(Sampling)
MATCH_MODES: tuple[str, ...] = get_args(MatchSizes)

Fraction = Annotated[float, Field(ge=0, le=1)]
OpenFraction = Annotated[float, Field(gt=0, lt=1)]
# items to keep; None (``null``): the whole split. At least 1: an empty training, dev or test
# split cannot serve a stage, and 0 used to fail only after the intermediates had trained
Size = Positive | None
WindowLength = Annotated[int, Field(ge=8)]

C = TypeVar("C")


class ConfigError(ValueError):
    """A stage config that is not valid: names the config, each key and what was expected."""


def config_from_dict(cls: type[C], raw: dict | None, what: str) -> C:
    """``cls(**raw)`` for a flat config; unknown keys and invalid values are a
    :class:`ConfigError` naming the key (``what``, e.g. "curate config", starts the message)."""
    raw = dict(raw or {})
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{what}: unknown key(s) {unknown}; expected some of {sorted(known)}")
    try:
        return cls(**raw)
    except ValidationError as err:
        raise ConfigError(f"{what} {validation_message(err)}") from None


def validation_message(err: ValidationError) -> str:
    """Each invalid key: ``field 'key': what was expected (got value)``."""
    return "; ".join(
        f"field {'.'.join(str(p) for p in e['loc'])!r}: {e['msg']} (got {e.get('input')!r})"
        for e in err.errors()
    )


def coerce_config(cls: type[C], config: C | dict | None) -> C:
    """A stage config from itself, or from a dict whose TrainConfig fields may be flat or under
    ``train``; unknown keys are an error naming them. The stage ``seed`` is the training seed."""
    if isinstance(config, cls):
        values = dataclasses.asdict(config)
    elif config is None:
        values = {}
    elif isinstance(config, dict):
        values = dict(config)
    else:
        raise TypeError(f"{cls.__name__}: expected a {cls.__name__} or a dict, got {type(config)}")
    own = {f.name for f in dataclasses.fields(cls)} - {"train"}
    train_keys = {f.name for f in dataclasses.fields(TrainConfig)}
    nested = values.pop("train", None) or {}
    if isinstance(nested, TrainConfig):
        nested = dataclasses.asdict(nested)
    flat = {k: values.pop(k) for k in list(values) if k in train_keys and k not in own}
    unknown = sorted(set(values) - own)
    if unknown:
        raise ConfigError(
            f"{cls.__name__}: unknown keys {unknown}; known: {sorted(own)} and "
            f"TrainConfig fields {sorted(train_keys)}"
        )
    train_values = {**nested, **flat}
    if "seed" in values:
        train_values["seed"] = values["seed"]
    try:
        return cls(**values, train=TrainConfig.from_dict(train_values))
    except ValidationError as err:
        raise ConfigError(f"{cls.__name__} {validation_message(err)}") from None


@dataclass
class CurateConfig:
    """Curation settings; the defaults are a quick run. A size of None (``null``) means the whole
    split: the full-study profiles set the sizes to null so that nothing is capped."""

    intermediate_tasks: list[str] = dataclasses.field(
        default_factory=lambda: ["hpo_organ_systems", "wordnet_verbs"]
    )
    target_tasks: list[str] = dataclasses.field(
        default_factory=lambda: ["icd10", "gnome_help_parallel"]
    )
    n_intermediate: Size = 1000  # common size N of every intermediate train split (stratified)
    n_intermediate_dev: Size = 200
    n_target_train: Size = 500
    n_target_dev: Size = 100
    n_target_test: Size = 200  # the same held-out items in every language where parallel
    max_retrieval_items: Size = 1000  # per language, retrieval targets
    languages: list[str] | None = None  # None: every language each target has
    # per target task: a language list, or "@<task>" for that task's canonical list
    # (e.g. {"udhr": "@panx"}: UDHR over the 40 XTREME PAN-X languages)
    task_languages: dict[str, list[str] | str] = dataclasses.field(default_factory=dict)
    seed: NonNegative = 1
    leakage_ngram: Positive = 5
    leakage_threshold: Fraction = 0.5  # Jaccard of word 5-gram sets
    leakage_containment: Fraction = 0.8  # share of one side's 5-grams inside the other
    tokenizer: str = EMBEDDED  # for token-length percentiles and the domain profile
    task_options: dict[str, dict[str, Any]] = dataclasses.field(
        default_factory=dict
    )  # task -> loader options
    # intermediate sizes matched on examples, training tokens or steps (xstilts.data.matching),
    # counted at the intermediate stage's window length and QA stride
    match_sizes: MatchSizes = "examples"
    window_length: WindowLength = 128
    window_stride: WindowLength = 128
    # local snapshots of hub datasets, <hub_snapshots>/<owner>/<name> (xstilts.tasks.hub.loading)
    hub_snapshots: str | None = None
    # A target trained from a split without a dev split (TyDiQA-GoldP) holds 10 % of it out as
    # English dev (true), or trains on all of it as xtreme's train_qa.sh does and scores the
    # same 10 % as dev for the curve only (false; pair it with checkpoint: last)
    target_dev_holdout: bool = True
    # English target training rows that equal a test item are left out (true), or kept as the
    # benchmark's scripts keep them (false; e.g. PAN-X's short repeated sentences)
    target_train_avoids_test: bool = True
    # Keys the study orchestration passes: `tasks` (split by role), `model` (= tokenizer) and caps.
    tasks: list[str] | None = None
    model: str | None = None
    max_train_examples: Positive | None = None
    max_eval_examples: Positive | None = None
    max_test_examples: Positive | None = None

    @classmethod
    def from_dict(cls, raw: dict | None) -> CurateConfig:
        return config_from_dict(cls, raw, "curate config")


@dataclass
class IntermediateConfig:
    model: str = EMBEDDED
    task: str = "hpo_organ_systems"
    tasks: list[str] | None = None  # a mixture (overrides ``task``), one head per task
    sampling: Sampling = "proportional"
    temperature: PositiveFloat = 2.0
    seed: int = 1
    mlm: bool = False  # masked-LM continuation alongside the tasks (needs an MLM head)
    mlm_task: str = "udhr"  # curated task whose texts (all languages) are the MLM corpus
    mlm_probability: OpenFraction = 0.15
    max_mlm_texts: Positive | None = None
    # target tasks of the study (set by the grid when mlm is on): their test texts never enter
    # the masked-LM corpus, and mlm_task may not be one of them
    evaluated_tasks: list[str] = dataclasses.field(default_factory=list)
    pooling: Pooling | None = None  # None: first token, mean for T5
    # a mixture trains as many windows as a mixture of this many matched tasks (the grid sets
    # the study's largest mixture), so that every domain arm gets equal steps (None: its own)
    mixture_budget_tasks: Positive | None = None
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    @property
    def task_names(self) -> list[str]:
        return list(self.tasks) if self.tasks else [self.task]


@dataclass
class TargetConfig:
    model: str = EMBEDDED
    task: str = "icd10"
    seed: int = 1
    intermediate: str | None = None  # label of the intermediate run (None = baseline)
    languages: list[str] | None = None  # None: every curated test language
    max_test_samples: Positive | None = None  # per language
    pooling: Pooling | None = None  # None: first token (mean for T5); retrieval default: mean
    layers: list[NonNegative] | None = None  # retrieval sweep (None: all, 0 = embeddings)
    layer: NonNegative | None = None  # retrieval layer reported (None: the protocol's, else last)
    scoring: Scoring = "cosine"
    # BUCC mining: "one_to_one" is xtreme's retrieval='max' (each sentence in at most one pair);
    # "all" keeps every forward and backward best (evaluation/retrieval.py mine_candidates)
    bucc_candidates: BuccCandidates = "one_to_one"
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)


@dataclass
class AnalysisConfig:
    alpha: OpenFraction = 0.05  # level of the confirmatory family (bold and "significant")
    # the comparisons declared before the study runs, corrected together (analysis/family.py):
    # cells, domain_match, domains, domain_contrasts, format_matched_pairs
    confirmatory: list[FamilyTable] = dataclasses.field(
        default_factory=lambda: ["cells", "domain_match"]
    )
    correction: Correction = "holm"  # holm: family-wise error; bh: false-discovery rate
    fertility: bool = True  # tokenise curated test texts with the study's tokenizer
    fertility_max_rows: Positive = 200  # rows per language file used for fertility
    model: str | None = None  # tokenizer for fertility; default: the model of the target runs

    @classmethod
    def from_dict(cls, raw: dict | None) -> AnalysisConfig:
        return config_from_dict(cls, raw, "analysis config")


STAGE_CONFIGS: dict[str, type] = {
    "curate": CurateConfig,
    "intermediate": IntermediateConfig,
    "target": TargetConfig,
    "analysis": AnalysisConfig,
}
# Keys the study grid sets for each run (orchestration/grid.py), so a study file does not: they
# are left out of the study sections generated from these configs.
GRID_KEYS: dict[str, set[str]] = {
    "curate": {"intermediate_tasks", "target_tasks", "tasks", "model"},
    "intermediate": {
        "model",
        "task",
        "seed",
        "tasks",
        "sampling",
        "temperature",
        "evaluated_tasks",
    },
    "target": {"model", "task", "seed", "intermediate", "languages"},
    "analysis": {"study"},
}


def describe(cls: type, leave_out: set[str] = frozenset()) -> list[tuple[str, str, str]]:
    """``(name, type and constraint, default)`` of each field of ``cls`` (but ``leave_out``):
    what ``xstilts settings`` prints, read from the definitions themselves."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return [
        (f.name, type_text(hints[f.name]), repr(default_of(cls, f.name)))
        for f in dataclasses.fields(cls)
        if f.name not in leave_out
    ]


_BOUNDS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def type_text(tp: Any) -> str:
    """A type as a reader writes it: ``int >= 1 | None``, ``'cosine' | 'margin'``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        # Field(ge=1) keeps its bounds in .metadata; annotated_types' Ge(1) holds them itself
        items = [item for meta in args[1:] for item in getattr(meta, "metadata", [meta])]
        limits = [
            f"{sign} {getattr(item, bound)}"
            for item in items
            for bound, sign in _BOUNDS.items()
            if getattr(item, bound, None) is not None
        ]
        return " ".join([type_text(args[0]), *limits])
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is not None:
        return f"{origin.__name__}[{', '.join(type_text(a) for a in args)}]"
    return "None" if tp is type(None) else getattr(tp, "__name__", str(tp))


def default_of(cls: type, name: str) -> Any:
    """The default of field ``name`` of config class ``cls``."""
    field = next(f for f in dataclasses.fields(cls) if f.name == name)
    return field.default_factory() if field.default is dataclasses.MISSING else field.default
