"""Layered, typed study parameters.

Layers, later wins, nested mappings merged key by key (papermill's own ``-f`` merge is shallow):

    params/base.yaml -> params/profiles/<profile>.yaml -> the study file -> ``-p key.path=value``

The merged mapping is validated into :class:`Study` before anything runs. Every error names the
file (and line) that set the offending value and its key path; unknown keys get a suggestion.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    create_model,
)

from ..configs import (
    GRID_KEYS,
    STAGE_CONFIGS,
    IntermediateConfig,
    Sampling,
    default_of,
    describe,
)
from ..lookup import repeats
from ..models.loading import EMBEDDED  # torch-free: loading imports torch lazily
from ..paths import repo_root
from ..trainconfig import TrainConfig
from .yamlio import KeyPath, YamlError, dotted, load_yaml, parse_value

STAGES = ("curate", "intermediate", "target", "analysis")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
MEMORY = re.compile(r"^\d+(\.\d+)?[KMGT]?B?$", re.I)
WALLTIME = re.compile(r"^(\d+-)?\d{1,3}:\d{2}(:\d{2})?$")
OVERRIDE_SOURCE = "command line"


def params_dir() -> Path:
    return repo_root() / "params"


# --------------------------------------------------------------------------------------------
# Typed models of the study structure
# --------------------------------------------------------------------------------------------


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
    languages: list[str] | None = None
    train: TargetTrain = TargetTrain()
    per_task: dict[str, TargetOverrides] = {}


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


class ResourcesSection(Strict):
    default: Resources = Resources()
    curate: Resources = Resources()
    intermediate: Resources = Resources()
    target: Resources = Resources()
    analysis: Resources = Resources()

    def for_stage(self, stage: str) -> dict[str, Any]:
        merged = self.default.model_dump() | {
            k: v for k, v in getattr(self, stage).model_dump().items() if v is not None
        }
        defaults = {"gpus": 0, "cpus": 1, "mem": "8G", "time": "01:00:00"}
        return {k: (v if v is not None else defaults.get(k)) for k, v in merged.items()}


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


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    path: KeyPath
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {dotted(self.path) or '<top>'}: {self.message}"


class ParamsError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"invalid study parameters:\n  {lines}")


def _suggest(word: str, options: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), sorted(set(options)), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------------------------
# Layering
# --------------------------------------------------------------------------------------------


@dataclass
class Layers:
    """The merged mapping and, for every key path, the file and line that set it."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[KeyPath, tuple[str, int | None]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, data: dict[str, Any], source: str, lines: dict[KeyPath, int]) -> None:
        self.sources.append(source)
        self.data = self._merge(self.data, data, (), source, lines)

    def _merge(self, dst: Any, src: Any, path: KeyPath, source: str, lines) -> Any:
        if isinstance(dst, dict) and isinstance(src, dict):
            out = dict(dst)
            for key, value in src.items():
                sub = (*path, key)
                self.origins[sub] = (source, lines.get(sub))
                out[key] = self._merge(dst.get(key), value, sub, source, lines)
            return out
        # replaced wholesale: forget the origins of what was below
        for p in [p for p in self.origins if len(p) > len(path) and p[: len(path)] == path]:
            del self.origins[p]
        if isinstance(src, dict | list):
            for p, line in lines.items():
                if len(p) > len(path) and p[: len(path)] == path:
                    self.origins[p] = (source, line)
        return src

    def origin(self, path: KeyPath) -> tuple[str, int | None]:
        for i in range(len(path), 0, -1):
            if path[:i] in self.origins:
                return self.origins[path[:i]]
        return (self.sources[-1] if self.sources else "<params>", None)

    def problem(self, path: KeyPath, message: str, source: str | None = None) -> Problem:
        src, line = self.origin(path)
        return Problem(source or src, None if source else line, path, message)


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """``key.path=value`` -> (("key", "path"), value); the value is read as YAML."""
    key, sep, value = text.partition("=")
    path = tuple(key.strip().split("."))
    if not sep or not all(re.fullmatch(r"[A-Za-z_][\w-]*", p) for p in path):
        raise ParamsError(
            [Problem(OVERRIDE_SOURCE, None, (), f"override {text!r} is not key.path=value")]
        )
    try:
        return path, parse_value(value)
    except YamlError as err:
        raise ParamsError([Problem(OVERRIDE_SOURCE, None, path, err.message)]) from None


def _nest(path: KeyPath, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path):
        out = {part: out}
    return out


def _read_layer(path: Path) -> tuple[dict[str, Any], dict[KeyPath, int], str]:
    try:
        loaded = load_yaml(path)
    except YamlError as err:
        raise ParamsError([Problem(err.source, err.line, err.path, err.message)]) from None
    data = loaded.data if loaded.data is not None else {}
    if not isinstance(data, dict):
        raise ParamsError(
            [
                Problem(
                    loaded.source, 1, (), f"expected a mapping of keys, got {type(data).__name__}"
                )
            ]
        )
    return data, loaded.lines, loaded.source


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def available_profiles(pdir: Path) -> list[str]:
    return sorted(p.stem for p in (pdir / "profiles").glob("*.yaml"))


def resolve_profile(name: str, pdir: Path) -> Path | None:
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    path = pdir / "profiles" / f"{name}.yaml"
    return path if path.exists() else None


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _strip_optional(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _strip_optional(args[0]) if len(args) == 1 else tp
    return tp


def _fields_at(model: type[BaseModel], path: KeyPath) -> list[str]:
    """The valid keys of the mapping at ``path`` within ``model`` ([] if not a model there)."""
    tp: Any = model
    for part in path:
        tp = _strip_optional(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            return []
    tp = _strip_optional(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _data_path(data: Any, loc: tuple) -> KeyPath:
    """Pydantic's ``loc`` without its union/type tags: only the steps present in the data."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and not path_is_tag(part):
            path.append(part)  # a missing key
            node = None
    return tuple(path)


def path_is_tag(part: str) -> bool:
    return any(c in part for c in "[]()") or part in {"int", "float", "str", "bool", "none"}


def _pydantic_problems(err: ValidationError, layers: Layers, study_file: str) -> list[Problem]:
    problems = []
    for e in err.errors():
        path = _data_path(layers.data, e["loc"])
        kind = e["type"]
        value = e.get("input")
        if kind == "extra_forbidden":
            msg = f"unknown key {path[-1]!r}" + _suggest(path[-1], _fields_at(Study, path[:-1]))
        elif kind == "missing":
            problems.append(Problem(study_file, None, path, "required value missing"))
            continue
        elif isinstance(value, bool) and kind in ("string_type", "string_pattern_mismatch"):
            msg = (
                f"expected a string, got the boolean {value}: YAML reads unquoted "
                "yes/no/on/off/true/false as booleans; quote it"
            )
        else:
            msg = f"{e['msg']} (got {value!r})"
            if kind == "literal_error" and isinstance(value, str):
                expected = re.findall(r"'([^']+)'", e["msg"])
                msg += _suggest(value, expected)
        problems.append(layers.problem(path, msg))
    return problems


def check_model(name: str) -> str | None:
    """Why ``name`` is not a valid model name, or None."""
    if name.startswith("embedded:"):
        if name != EMBEDDED:
            return f"unknown embedded model {name!r}; available: {EMBEDDED}"
        return None
    if name.startswith(("/", ".", "~")):
        return (
            None if Path(name).expanduser().is_dir() else f"model directory {name!r} does not exist"
        )
    if not HUB_ID.match(name) or "--" in name or ".." in name:
        return (
            f"{name!r} is not a model name: expected 'embedded:<name>', a hub id like "
            "'xlm-roberta-large' or 'google/mt5-large', or a local directory './path'"
        )
    return None


def _known_languages() -> set[str]:
    from ..languages import LANGUAGES

    return set(LANGUAGES)


def _check_languages(
    layers: Layers,
    path: KeyPath,
    langs: list[str] | None,
    known: set[str],
    allowed: tuple[str, ...] | None = None,
) -> list[Problem]:
    twice = dict(repeats(langs or []))
    problems = []
    for i, code in enumerate(langs or []):
        if i in twice:
            problems.append(layers.problem((*path, i), f"language {code!r} listed twice"))
        elif code not in known:
            problems.append(
                layers.problem((*path, i), f"unknown language {code!r}" + _suggest(code, known))
            )
        elif allowed and code not in allowed:
            problems.append(
                layers.problem(
                    (*path, i),
                    f"language {code!r} is not one of this task's languages ({', '.join(allowed)})",
                )
            )
    return problems


def _semantic_problems(study: Study, layers: Layers, check_tasks: bool) -> list[Problem]:
    problems: list[Problem] = []
    if why := check_model(study.model):
        problems.append(layers.problem(("model",), why))
    known = _known_languages()
    problems += _check_languages(layers, ("curate", "languages"), study.curate.languages, known)
    problems += _check_languages(layers, ("target", "languages"), study.target.languages, known)
    for section, tasks in (
        ("intermediate", study.intermediate.tasks),
        ("target", study.target.tasks),
    ):
        problems += [
            layers.problem((section, "tasks", i), f"task {name!r} listed twice")
            for i, name in repeats(tasks)
        ]
    for name in study.intermediate.mixtures:
        if name in study.intermediate.tasks:
            problems.append(
                layers.problem(
                    ("intermediate", "mixtures", name),
                    "a mixture may not share its name with a task",
                )
            )
    problems += _seed_problems(study, layers)
    problems += _mlm_problems(study, layers)
    if check_tasks:
        problems += _task_problems(study, layers, known)
        problems += _curate_problems(study, layers)
    return problems


def _seed_problems(study: Study, layers: Layers) -> list[Problem]:
    seeds = study.seeds
    problems = [
        layers.problem(
            ("seeds", kind, i),
            f"seed {seed} listed twice: a seed is one replicate, and the run of a repeated seed "
            "is the same run",
        )
        for kind in ("intermediate", "target")
        for i, seed in repeats(getattr(seeds, kind))
    ]
    missing = sorted(set(seeds.intermediate) - set(seeds.target))
    if seeds.pairing == "matched" and missing:
        problems.append(
            layers.problem(
                ("seeds", "target"),
                f"pairing 'matched' fine-tunes the checkpoint of intermediate seed s with target "
                f"seed s, so every intermediate seed must be a target seed; missing {missing}",
            )
        )
    return problems


def _mlm_problems(study: Study, layers: Layers) -> list[Problem]:
    """The masked-LM corpus must never be text that a target evaluates on."""
    problems = []
    sections = [(("intermediate", "train"), study.intermediate.train)]
    sections += [
        (("intermediate", "per_task", t), s) for t, s in study.intermediate.per_task.items()
    ]
    for path, settings in sections:
        corpus = settings.mlm_task or default_of(IntermediateConfig, "mlm_task")
        if settings.mlm and corpus in study.target.tasks:
            problems.append(
                layers.problem(
                    (*path, "mlm_task"),
                    f"masked-LM would train on {corpus!r}, which is also a target task whose "
                    "test split the study evaluates; choose an mlm_task that no target evaluates",
                )
            )
    return problems


def _task_problems(study: Study, layers: Layers, known: set[str]) -> list[Problem]:
    from ..tasks import get_task

    problems = []
    places: list[tuple[KeyPath, str, str]] = []
    places += [
        (("intermediate", "tasks", i), t, "intermediate")
        for i, t in enumerate(study.intermediate.tasks)
    ]
    for mix, spec in study.intermediate.mixtures.items():
        places += [
            (("intermediate", "mixtures", mix, "tasks", i), t, "intermediate")
            for i, t in enumerate(spec.tasks)
        ]
    places += [(("target", "tasks", i), t, "target") for i, t in enumerate(study.target.tasks)]
    problems += _per_task_name_problems(study, layers)
    for path, name, role in places:
        try:
            spec = get_task(name)
        except KeyError as err:
            problems.append(layers.problem(path, str(err)))
            continue
        if role not in spec.roles:
            problems.append(
                layers.problem(
                    path,
                    f"task {name!r} cannot be {'an' if role[0] in 'aeiou' else 'a'} {role} task "
                    f"(roles: {', '.join(spec.roles)})",
                )
            )
        elif not spec.available:
            problems.append(
                layers.problem(path, f"task {name!r} is unavailable: {spec.source.note}")
            )
        if role == "target":
            over = study.target.per_task.get(name)
            if over and over.languages:
                problems += _check_languages(
                    layers,
                    ("target", "per_task", name, "languages"),
                    over.languages,
                    known,
                    spec.languages,
                )
    return problems


def _per_task_name_problems(study: Study, layers: Layers) -> list[Problem]:
    """Per-task settings for tasks outside the study are fine (profiles list many); a name that
    is no task at all is a typo when the study file or the command line wrote it."""
    from ..tasks import get_task

    problems = []
    for section in ("intermediate", "target"):
        sec = getattr(study, section)
        for name in sec.per_task:
            path = (section, "per_task", name)
            if name in sec.tasks or layers.origin(path)[0] in layers.sources[:2]:
                continue
            try:
                get_task(name)
            except KeyError as err:
                problems.append(layers.problem(path, str(err)))
    return problems


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


@dataclass
class ResolvedStudy:
    study: Study
    layers: Layers
    study_file: Path
    profile_file: Path

    @property
    def name(self) -> str:
        return self.study.study

    def problem(self, path: KeyPath, message: str) -> Problem:
        return self.layers.problem(path, message)


def load_study(
    study_file: str | Path,
    overrides: typing.Sequence[str] = (),
    profile: str | None = None,
    pdir: Path | None = None,
    registry: bool = True,
) -> ResolvedStudy:
    """Read, merge and validate a study; raise :class:`ParamsError` naming file and key path."""
    pdir = Path(pdir) if pdir else params_dir()
    study_file = Path(study_file)
    parsed = [parse_override(o) for o in overrides]

    layers = Layers()
    base_data, base_lines, base_src = _read_layer(pdir / "base.yaml")
    study_data, study_lines, study_src = _read_layer(study_file)
    study_src = _display(study_file)

    # the profile is chosen by --profile, then -p profile=..., then the study file, then base
    chosen, chosen_src = base_data.get("profile", "embedded"), base_src
    if "profile" in study_data:
        chosen, chosen_src = study_data["profile"], study_src
    for path, value in parsed:
        if path == ("profile",):
            chosen, chosen_src = value, OVERRIDE_SOURCE
    if profile:
        chosen, chosen_src = profile, "--profile"
    profile_file = resolve_profile(str(chosen), pdir)
    if profile_file is None:
        msg = f"unknown profile {chosen!r}" + _suggest(str(chosen), available_profiles(pdir))
        line = study_lines.get(("profile",)) if chosen_src == study_src else None
        raise ParamsError([Problem(chosen_src, line, ("profile",), msg)])
    profile_data, profile_lines, _ = _read_layer(profile_file)

    layers.add(base_data, _display(pdir / "base.yaml"), base_lines)
    layers.add(profile_data, _display(profile_file), profile_lines)
    layers.add(study_data, study_src, study_lines)
    for path, value in parsed:
        layers.add(_nest(path, value), f"{OVERRIDE_SOURCE} (-p {dotted(path)}=...)", {})
    layers.data["profile"] = Path(profile_file).stem
    _absolute_paths(layers.data, Path.cwd())

    try:
        study = Study.model_validate(layers.data)
    except ValidationError as err:
        raise ParamsError(_pydantic_problems(err, layers, study_src)) from None
    problems = _semantic_problems(study, layers, registry)
    if problems:
        raise ParamsError(problems)
    return ResolvedStudy(study, layers, study_file, Path(profile_file))


PATH_BASE = "the folder `xstilts run` was started in"


def _absolute(value: Any, base: Path) -> Any:
    if isinstance(value, str) and value:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    if isinstance(value, list):
        return [_absolute(v, base) for v in value]
    if isinstance(value, dict):
        return {k: _absolute(v, base) for k, v in value.items()}
    return value


def _absolute_paths(data: dict, base: Path) -> None:
    """Relative paths in a study (``curate.task_options.*.data_files``, ``curate.hub_snapshots``,
    a local model directory) mean paths from ``PATH_BASE``; they are made absolute here, so the
    resolved params, the run ids and the provenance hold what was meant."""
    curate = data.get("curate") or {}
    if isinstance(curate.get("hub_snapshots"), str):
        curate["hub_snapshots"] = _absolute(curate["hub_snapshots"], base)
    for options in (curate.get("task_options") or {}).values():
        if isinstance(options, dict) and "data_files" in options:
            options["data_files"] = _absolute(options["data_files"], base)
    model = data.get("model")
    if isinstance(model, str) and _looks_local(model) and (base / model).expanduser().is_dir():
        data["model"] = _absolute(model, base)


def _looks_local(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.count("/") != 1


def _curate_problems(study: Study, layers: Layers, paths: bool = True) -> list[Problem]:
    """Curate settings that would fail inside the curate notebook, found before anything runs
    (``paths``: also that every data path exists)."""
    from ..tasks.registry import option_problems, task_language_problems

    problems = []
    snapshots = study.curate.hub_snapshots
    if paths and snapshots and not Path(snapshots).is_dir():
        problems.append(
            layers.problem(("curate", "hub_snapshots"), f"folder {snapshots} does not exist")
        )
    options = study.curate.task_options or {}
    curated = set(study.all_tasks())
    for task, opts in options.items():
        # options of a task this study does not curate (e.g. a target dropped by -p) are kept
        # for the file's other uses, and their paths are not required; a typo is still refused
        check_paths = paths and task in curated
        problems += [
            layers.problem(("curate", "task_options", task), why)
            for why in option_problems(task, opts, check_paths)
        ]
    # like task_options, the language list of a task this study does not curate is kept and not
    # used (grid.expand leaves it out of the curate config); a typo is still refused
    targets = study.curated_targets()
    for task, value in (study.curate.task_languages or {}).items():
        whys = task_language_problems(task, value)
        if task in curated and task not in targets:
            whys.append(f"task {task!r} is not a target task of this study")
        problems += [layers.problem(("curate", "task_languages", task), why) for why in whys]
    return problems


def check_tasks(resolved: ResolvedStudy, paths: bool = True) -> None:
    """The task-registry checks (imports the task catalogue); ``paths``: data paths exist and
    the model can be loaded here (cached or reachable)."""
    problems = _task_problems(resolved.study, resolved.layers, _known_languages())
    problems += _curate_problems(resolved.study, resolved.layers, paths)
    if paths:
        problems += _model_problems(resolved)
    if problems:
        raise ParamsError(problems)


def _model_problems(resolved: ResolvedStudy) -> list[Problem]:
    """The model, and the registry packages of the model and the tasks (embedded mode)."""
    from ..assets.needs import asset_problems
    from ..models.loading import model_unavailable

    study = resolved.study
    assets = [
        Problem("asset cache", None, ("packages", name), why)
        for name, why in asset_problems(study.all_tasks(), study.model)
    ]
    why = model_unavailable(study.model)
    if why:
        return [resolved.layers.problem(("model",), why), *assets]
    return _length_problems(resolved) + assets


def _length_problems(resolved: ResolvedStudy) -> list[Problem]:
    """Every ``max_length`` / ``window_length`` within the model's position table (an input
    longer than it would fail inside the first long batch, after compute had started)."""
    from ..models.family import max_input_length
    from ..models.loading import cached_config

    study = resolved.study
    config = cached_config(study.model)
    limit = max_input_length(config) if config is not None else None
    if limit is None:
        return []
    places: list[tuple[KeyPath, Any]] = [(("curate", "window_length"), study.curate.window_length)]
    for section in ("intermediate", "target"):
        sec = getattr(study, section)
        places.append(((section, "train", "max_length"), sec.train.max_length))
        places += [
            ((section, "per_task", task, "max_length"), getattr(over, "max_length", None))
            for task, over in sec.per_task.items()
        ]
    return [
        resolved.layers.problem(
            path,
            f"{value} tokens exceed the {limit} input positions of model {study.model!r} "
            f"(absolute position embeddings); use at most {limit}",
        )
        for path, value in places
        if value is not None and value > limit
    ]


def missing_data(resolved: ResolvedStudy) -> list[str]:
    """Data paths and the model that are not here, or settings the model cannot take (a dry run
    lists them; a run refuses)."""
    with_paths = _curate_problems(resolved.study, resolved.layers, True)
    without = _curate_problems(resolved.study, resolved.layers, False)
    return [str(p) for p in with_paths if p not in without] + [
        str(p) for p in _model_problems(resolved)
    ]
