"""What a study must satisfy beyond its types, checked before anything runs: the model name,
languages, seeds, tasks and their roles, curate settings, and (``paths``) that every data path,
the model and the registry packages are there."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

from ..configs import IntermediateConfig, default_of
from ..lookup import repeats
from ..models.loading import EMBEDDED  # torch-free: loading imports torch lazily
from .layers import Layers, ParamsError, Problem, suggest
from .study_schema import Study
from .yamlio import KeyPath

if typing.TYPE_CHECKING:
    from .params import ResolvedStudy

HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


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
                layers.problem((*path, i), f"unknown language {code!r}" + suggest(code, known))
            )
        elif allowed and code not in allowed:
            problems.append(
                layers.problem(
                    (*path, i),
                    f"language {code!r} is not one of this task's languages ({', '.join(allowed)})",
                )
            )
    return problems


def semantic_problems(study: Study, layers: Layers, check_tasks: bool) -> list[Problem]:
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
    problems += _per_task_resource_problems(study, layers)
    if check_tasks:
        problems += _registry_problems(study, layers)
    return problems


def _registry_problems(study: Study, layers: Layers, paths: bool = True) -> list[Problem]:
    """The checks that need the task catalogue (``paths``: also that data paths exist)."""
    problems = _task_problems(study, layers, _known_languages())
    problems += _target_language_problems(study, layers)
    return problems + _curate_problems(study, layers, paths)


def _per_task_resource_problems(study: Study, layers: Layers) -> list[Problem]:
    """``resources.per_task`` names a task or mixture of this study where the study file or the
    command line wrote it (base and profile, the first two sources, may set resources for tasks a
    study does not run)."""
    names = {*study.intermediate_sources(), *study.target.tasks}
    return [
        layers.problem(
            ("resources", "per_task", name),
            f"{name!r} is not a task or mixture of this study ({', '.join(sorted(names))})",
        )
        for name in study.resources.per_task
        if name not in names
        and layers.origin(("resources", "per_task", name))[0] not in layers.sources[:2]
    ]


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


def _target_language_problems(study: Study, layers: Layers) -> list[Problem]:
    """``target.languages`` applies to every target, each evaluating those it has (English is
    not a retrieval target's own language: it is the other side of every pair). Refused: a
    language no target has, and a list that leaves a target no language at all."""
    from ..tasks import get_task

    specs = {}
    for name in study.target.tasks:
        try:
            specs[name] = get_task(name)
        except KeyError:
            continue  # named by _task_problems
    problems = []
    for name, spec in specs.items():
        over = study.target.per_task.get(name)
        path, langs = ("target", "languages"), study.target.languages
        if over and over.languages:
            path, langs = ("target", "per_task", name, "languages"), over.languages
        if langs and not spec.evaluated_languages(langs):
            problems.append(
                layers.problem(
                    path,
                    f"leaves target {name!r} no language to evaluate (it evaluates "
                    f"{_few(spec.evaluated_languages())})",
                )
            )
        elif langs and (curated := _curated_for(study, spec)) is not None:
            left_out = [x for x in spec.evaluated_languages(langs) if x not in curated]
            if left_out:
                problems.append(
                    layers.problem(
                        path,
                        f"target {name!r} would be evaluated in {left_out}, which curate does "
                        f"not prepare for it (curate.languages / curate.task_languages.{name})",
                    )
                )
    # English is every target's training language or the other side of its pairs
    evaluated = {"en"} | {x for spec in specs.values() for x in spec.evaluated_languages()}
    for i, code in enumerate(study.target.languages or []):
        if specs and code not in evaluated:
            problems.append(
                layers.problem(
                    ("target", "languages", i),
                    f"language {code!r} is not one that any target evaluates ({', '.join(specs)})",
                )
            )
    return problems


def _curated_for(study: Study, spec) -> list[str] | None:
    """The test languages curate will prepare for target ``spec`` (None: its task_languages
    entry is malformed, which its own check names)."""
    from ..languages import UnknownLanguageError, resolve_language_list

    value = (study.curate.task_languages or {}).get(spec.name)
    try:
        chosen = None if value is None else resolve_language_list(value)
    except UnknownLanguageError:
        return None
    return spec.curated_languages(study.curate.languages, chosen)


def _few(languages: list[str], n: int = 12) -> str:
    shown = ", ".join(languages[:n])
    return shown + (f", … ({len(languages)} in all)" if len(languages) > n else "")


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
    problems = _registry_problems(resolved.study, resolved.layers, paths)
    if paths and not problems:  # task names first: assets are resolved for known tasks only
        problems += _model_problems(resolved) + _snapshot_problems(resolved)
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


def _snapshot_problems(resolved: ResolvedStudy) -> list[Problem]:
    """With a hub snapshot root (``curate.hub_snapshots``), every dataset config and split the
    study's curate reads, and the hub model, must be in it: named here, before compute, rather
    than by the first loader that misses one (``xstilts fetch`` writes them all)."""
    from ..tasks.hub.loading import hub_snapshots, snapshot_root
    from .grid import expand
    from .prefetch import dataset_requests, hub_models, snapshot_problems

    study = resolved.study
    with hub_snapshots(study.curate.hub_snapshots):
        root = snapshot_root()
    if root is None or not root.is_dir():
        return []  # no snapshot root, or one that does not exist (named by _curate_problems)
    from ..models.loading import is_offline

    requests = dataset_requests(expand(resolved).of("curate")[0].config)

    models = hub_models(study) if is_offline() else []  # online, a model may come from the hub
    return [
        resolved.layers.problem(("curate", "hub_snapshots"), why)
        for why in snapshot_problems(root, requests, models)
    ]


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
        str(p) for p in _model_problems(resolved) + _snapshot_problems(resolved)
    ]
