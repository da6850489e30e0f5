"""The typed structure of a study file: :class:`Study` and its sections.

The stage sections are generated from the stage configs (:mod:`xstilts.configs`) and
:class:`~xstilts.trainconfig.TrainConfig`, so a new config field is a study key with its own
constraint; ``xstilts settings`` prints them (:func:`settings_help`).
"""

from __future__ import annotations

import re
import typing
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    create_model,
    field_validator,
)

from ..configs import (
    GRID_KEYS,
    STAGE_CONFIGS,
    IntermediateConfig,
    Sampling,
    default_of,
    describe,
)
from ..paths import repo_root
from ..trainconfig import TrainConfig

STAGES = ("curate", "intermediate", "target", "analysis")
MEMORY = re.compile(r"^\d+(\.\d+)?[KMGT]?B?$", re.I)
WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$")


def params_dir() -> Path:
    return repo_root() / "params"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _settings(cls: type, leave_out: set[str]) -> dict[str, Any]:
    """``cls``'s fields (but ``leave_out``) as pydantic field definitions of a study section:
    each keeps its type and constraint, defaults to None and counts only when the study sets it
    (sections are dumped with ``exclude_unset``), so an unset key takes ``cls``'s own default
    at run time and an explicit ``null`` is validated like any other value."""
    hints = typing.get_type_hints(cls, include_extras=True)
    return {f.name: (hints[f.name], None) for f in fields(cls) if f.name not in leave_out}


def _sources(stage: str) -> list[tuple[type, set[str]]]:
    """Where a stage's study keys come from: (config class, fields left out). The training
    stages also take TrainConfig's fields, the seed aside (the seeds section sets it)."""
    own = (STAGE_CONFIGS[stage], GRID_KEYS[stage] | {"train"})
    return [(TrainConfig, {"seed"}), own] if stage in ("intermediate", "target") else [own]


def _section(stage: str, name: str) -> type[BaseModel]:
    fields_of = {
        k: v for cls, leave_out in _sources(stage) for k, v in _settings(cls, leave_out).items()
    }
    return create_model(name, __base__=Strict, **fields_of)


IntermediateTrain = _section("intermediate", "IntermediateTrain")
TargetTrain = _section("target", "TargetTrain")
TargetOverrides = create_model(
    "TargetOverrides", __base__=TargetTrain, languages=(list[str] | None, None)
)
CurateSection = _section("curate", "CurateSection")
AnalysisSection = _section("analysis", "AnalysisSection")


def settings_help() -> str:
    """Every study key a stage or training setting gives, by section, with its type, constraint
    and default (``xstilts settings``): generated from the same definitions as the sections."""
    sections = [
        ("curate", "curate"),
        ("intermediate.train / per_task.<task>", "intermediate"),
        ("target.train / per_task.<task>", "target"),
        ("analysis", "analysis"),
    ]
    lines = [
        "Study keys by section (type, constraint, the stage config's default; params/base.yaml",
        "and the profile may set another). target.per_task.<task> also takes `languages`.",
    ]
    for name, stage in sections:
        rows = [row for cls, leave_out in _sources(stage) for row in describe(cls, leave_out)]
        lines.append(f"{name}:")
        width = max(len(r[0]) for r in rows)
        lines += [f"  {key:<{width}}  {kind}  default {default}" for key, kind, default in rows]
    return "\n".join(lines)


class Mixture(Strict):
    tasks: list[str] = Field(min_length=1)
    sampling: Sampling = "temperature"
    temperature: PositiveFloat = 2.0


class IntermediateSection(Strict):
    tasks: list[str] = []
    mixtures: dict[str, Mixture] = {}
    train: IntermediateTrain = IntermediateTrain()
    per_task: dict[str, IntermediateTrain] = {}


class TargetSection(Strict):
    tasks: list[str] = Field(min_length=1)
    # every target evaluates those of these languages it has (a retrieval target's English is
    # the other side of its pairs, not one of them); per_task.<task>.languages overrides
    languages: list[str] | None = None
    train: TargetTrain = TargetTrain()
    per_task: dict[str, TargetOverrides] = {}
    # true: no target run from an intermediate (or a mixture holding one) that is the target's
    # own English training source, e.g. MNLI -> XNLI (data/confounds.py); false: run and name them
    exclude_confounded: bool = False


class Seeds(Strict):
    """``crossed``: every checkpoint is fine-tuned with every target seed. ``matched``: the
    checkpoint of intermediate seed s is fine-tuned with target seed s only (one replicate per
    seed, as many target runs as seeds); the baseline runs every target seed, so each replicate
    has its baseline with the same target seed."""

    intermediate: list[NonNegativeInt] = Field(default=[1], min_length=1)
    target: list[NonNegativeInt] = Field(default=[1], min_length=1)
    pairing: Literal["crossed", "matched"] = "crossed"

    def target_seeds_for(self, intermediate_seed: int | None) -> list[int]:
        if intermediate_seed is None or self.pairing == "crossed":
            return list(self.target)
        return [intermediate_seed]


class Resources(Strict):
    """Slurm resources of one stage's job (``default`` fills what a stage leaves unset)."""

    gpus: NonNegativeInt | None = None
    cpus: PositiveInt | None = None
    mem: Annotated[str, Field(pattern=MEMORY.pattern)] | None = None
    time: Annotated[str, Field(pattern=WALLTIME.pattern)] | None = None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None

    @field_validator("gpus")
    @classmethod
    def _one_device(cls, gpus: int | None) -> int | None:
        if gpus is not None and gpus > 1:
            raise ValueError(
                f"{gpus} GPUs: a stage trains on one device (no data parallelism), so the "
                "others would sit idle while the job holds them; use 1"
            )
        return gpus


class ResourcesSection(Strict):
    """Each job's resources: ``default``, then its stage's, then ``per_task.<task>`` (a task or
    mixture name of the study: its intermediate and target runs, e.g. a longer ``time`` for
    TyDiQA or more ``mem`` for a mixture)."""

    default: Resources = Resources()
    curate: Resources = Resources()
    intermediate: Resources = Resources()
    target: Resources = Resources()
    analysis: Resources = Resources()
    per_task: dict[str, Resources] = {}

    def for_stage(self, stage: str, task: str | None = None) -> dict[str, Any]:
        merged = self.default.model_dump()
        layers = [getattr(self, stage)] + ([self.per_task[task]] if task in self.per_task else [])
        for layer in layers:
            merged |= {k: v for k, v in layer.model_dump().items() if v is not None}
        defaults = {"gpus": 0, "cpus": 1, "mem": "8G", "time": "01:00:00"}
        return {k: (v if v is not None else defaults.get(k)) for k, v in merged.items()}


class ExecutorSection(Strict):
    """Per-site settings of the Slurm executor: ``setup``, shell lines run in every job before
    its stage (module loads, activating a shared environment), as submitit's ``slurm_setup``."""

    setup: list[str] = []


class EstimateSection(Strict):
    """Throughput assumed by ``--dry-run`` until completed runs measure it."""

    tokens_per_second: dict[str, PositiveFloat] = {}
    device: str = "cpu"


class Study(Strict):
    study: Annotated[str, Field(pattern=r"^[A-Za-z0-9][\w.-]*$")]
    profile: str = "embedded"
    description: str = ""
    model: str
    seeds: Seeds = Seeds()
    curate: CurateSection = CurateSection()
    intermediate: IntermediateSection = IntermediateSection()
    target: TargetSection
    baseline: bool = True
    analysis: AnalysisSection = AnalysisSection()
    resources: ResourcesSection = ResourcesSection()
    executor: ExecutorSection = ExecutorSection()
    estimate: EstimateSection = EstimateSection()

    def intermediate_sources(self) -> dict[str, list[str]]:
        """Intermediate label -> its tasks (a single task, or a mixture's tasks)."""
        out = {task: [task] for task in self.intermediate.tasks}
        out.update({name: list(mix.tasks) for name, mix in self.intermediate.mixtures.items()})
        return out

    def all_tasks(self) -> list[str]:
        """Every task to curate: intermediates, targets and any masked-LM corpus."""
        tasks = [t for ts in self.intermediate_sources().values() for t in ts]
        settings = [self.intermediate.train, *self.intermediate.per_task.values()]
        default = default_of(IntermediateConfig, "mlm_task")
        mlm = {s.mlm_task or default for s in settings if s.mlm}
        return sorted(set(tasks) | set(self.target.tasks) | mlm)

    def curated_targets(self) -> list[str]:
        """The tasks curate prepares as targets: every task not trained as an intermediate, and
        every target (SQuAD may be both)."""
        intermediates = {t for ts in self.intermediate_sources().values() for t in ts}
        return sorted(set(self.all_tasks()) - intermediates | set(self.target.tasks))
