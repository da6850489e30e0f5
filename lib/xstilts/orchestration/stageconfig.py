"""Fit a run's flat config to its stage's config dataclass, and validate it before anything runs.

The grid hashes the flat config (so keys do not depend on the dataclasses' code); the notebook gets
the fitted one. Context keys the grid offers (model, task, seed ...) are dropped when the dataclass
has no such field; any other key the dataclass lacks is an error at the study key that set it.
If the dataclass has a nested dataclass field ``train``, training settings go there.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from ..configs import GRID_KEYS, STAGE_CONFIGS
from .grid import Grid, StageRun
from .layers import ParamsError, Problem
from .params import ResolvedStudy


def config_class(stage: str) -> type:
    """The stage's config class (:mod:`xstilts.configs`)."""
    return STAGE_CONFIGS[stage]


def _nested_train(cls: type) -> type | None:
    hints = typing.get_type_hints(cls)
    tp = hints.get("train")
    return tp if isinstance(tp, type) and dataclasses.is_dataclass(tp) else None


def fit_config(
    stage: str, config: dict[str, Any], cls: type | None = None
) -> tuple[dict[str, Any], list[str]]:
    """(config shaped for the dataclass, keys it does not accept)."""
    cls = cls if cls is not None else config_class(stage)
    fields = {f.name for f in dataclasses.fields(cls)}
    train_cls = _nested_train(cls)
    train_fields = {f.name for f in dataclasses.fields(train_cls)} if train_cls else set()
    out: dict[str, Any] = {}
    unknown = []
    for key, value in config.items():
        if key in fields and not (key == "train" and train_cls):
            out[key] = value
        elif key in train_fields:
            out.setdefault("train", {})[key] = value
        elif key not in GRID_KEYS[stage]:
            unknown.append(key)
    return out, unknown


def accepted_keys(cls: type) -> set[str]:
    train_cls = _nested_train(cls)
    fields = {f.name for f in dataclasses.fields(cls)} - ({"train"} if train_cls else set())
    return fields | ({f.name for f in dataclasses.fields(train_cls)} if train_cls else set())


def _study_path(run: StageRun, key: str, resolved: ResolvedStudy) -> tuple:
    study = resolved.study
    if run.stage in ("curate", "analysis"):
        return (run.stage, key)
    section = getattr(study, run.stage)
    task = run.config.get("task")
    if task in section.per_task and key in section.per_task[task].model_fields_set:
        return (run.stage, "per_task", task, key)
    return (run.stage, "train", key)


def check_stage_configs(
    resolved: ResolvedStudy, grid: Grid, runs: list[StageRun] | None = None
) -> None:
    """Validate every run's config against its stage dataclass (pydantic, unknown keys forbidden)."""
    from pydantic import TypeAdapter, ValidationError

    problems: dict[tuple, Problem] = {}
    for run in runs if runs is not None else grid.runs:
        cls = config_class(run.stage)
        fitted, unknown = fit_config(run.stage, run.config, cls)
        valid = sorted(accepted_keys(cls) - GRID_KEYS[run.stage])
        for key in unknown:
            path = _study_path(run, key, resolved)
            close = difflib.get_close_matches(key, valid, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.setdefault(path, resolved.problem(path, f"unknown key {key!r}{hint}"))
        if unknown:
            continue
        try:
            TypeAdapter(cls).validate_python(fitted)
        except ValidationError as err:
            for e in err.errors():
                loc = [p for p in e["loc"] if not isinstance(p, str) or "[" not in p]
                key = str(loc[-1]) if loc and loc[0] == "train" else (str(loc[0]) if loc else "")
                path = _study_path(run, key, resolved) if key else (run.stage,)
                msg = f"{cls.__name__}: {e['msg']} (got {e.get('input')!r})"
                problems.setdefault(path, resolved.problem(path, msg))
    if problems:
        raise ParamsError(list(problems.values()))
