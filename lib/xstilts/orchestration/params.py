"""Layered, typed study parameters: :func:`load_study` reads, merges and validates a study.

Layers, later wins, nested mappings merged key by key (papermill's own ``-f`` merge is shallow):

    params/base.yaml -> params/profiles/<profile>.yaml -> the study file -> ``-p key.path=value``

The merged mapping is validated into :class:`~.study_schema.Study` before anything runs. Every
error names the file (and line) that set the offending value and its key path; unknown keys get a
suggestion. Where each part lives: the study's structure in :mod:`.study_schema`, layering and
problems in :mod:`.layers`, the checks beyond types in :mod:`.study_checks`.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .layers import (
    OVERRIDE_SOURCE,
    Layers,
    ParamsError,
    Problem,
    available_profiles,
    display_path,
    nest_override,
    parse_override,
    pydantic_problems,
    read_layer,
    resolve_profile,
    suggest,
)
from .study_checks import check_tasks, missing_data, semantic_problems
from .study_schema import (
    STAGES,
    AnalysisSection,
    CurateSection,
    IntermediateTrain,
    Study,
    TargetTrain,
    params_dir,
    settings_help,
)
from .yamlio import KeyPath, dotted

__all__ = [
    "STAGES",
    "AnalysisSection",
    "CurateSection",
    "IntermediateTrain",
    "Layers",
    "ParamsError",
    "Problem",
    "ResolvedStudy",
    "Study",
    "TargetTrain",
    "check_tasks",
    "load_study",
    "missing_data",
    "params_dir",
    "parse_override",
    "settings_help",
]


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
    base_data, base_lines, base_src = read_layer(pdir / "base.yaml")
    study_data, study_lines, study_src = read_layer(study_file)
    study_src = display_path(study_file)

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
        msg = f"unknown profile {chosen!r}" + suggest(str(chosen), available_profiles(pdir))
        line = study_lines.get(("profile",)) if chosen_src == study_src else None
        raise ParamsError([Problem(chosen_src, line, ("profile",), msg)])
    profile_data, profile_lines, _ = read_layer(profile_file)

    layers.add(base_data, display_path(pdir / "base.yaml"), base_lines)
    layers.add(profile_data, display_path(profile_file), profile_lines)
    layers.add(study_data, study_src, study_lines)
    for path, value in parsed:
        layers.add(nest_override(path, value), f"{OVERRIDE_SOURCE} (-p {dotted(path)}=...)", {})
    layers.data["profile"] = Path(profile_file).stem
    _absolute_paths(layers.data, Path.cwd())

    try:
        study = Study.model_validate(layers.data)
    except ValidationError as err:
        raise ParamsError(pydantic_problems(err, layers, study_src)) from None
    problems = semantic_problems(study, layers, registry)
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
