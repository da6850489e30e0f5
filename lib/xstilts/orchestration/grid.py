"""Expand a validated study into stage runs with content-addressed run directories.

One curate run per data configuration; one intermediate run per (task or mixture, seed); one
target run per (intermediate checkpoint or baseline, target task, target seed); one analysis.
A retrieval target trains nothing, so its target seed changes nothing: it runs once per source
(the baseline once, each checkpoint once, labelled with the checkpoint's seed).
A run's key hashes its stage, its resolved config and its inputs' keys, so a changed parameter
changes exactly the keys downstream of it. Each intermediate checkpoint is trained once and reused
by every target run that starts from it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .params import ResolvedStudy
from .study_schema import Study

NOTEBOOKS = {
    "curate": "01_curate.ipynb",
    "intermediate": "02_intermediate.ipynb",
    "target": "03_target.ipynb",
    "analysis": "04_analysis.ipynb",
}
KEY_LENGTH = 10


@dataclass(frozen=True)
class StageRun:
    stage: str
    name: str  # readable part of the directory name
    config: dict[str, Any]  # what the notebook receives as ``config`` (JSON-able)
    inputs: tuple[str, ...] = ()  # ids of the runs this one reads
    key: str = ""
    resources: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.key}"

    @property
    def id(self) -> str:
        return f"{self.stage}/{self.dirname}"

    @property
    def notebook(self) -> str:
        return NOTEBOOKS[self.stage]

    @property
    def seed(self) -> int | None:
        return self.config.get("seed")


def content_key(stage: str, config: dict[str, Any], input_keys: list[str]) -> str:
    blob = json.dumps(
        {"stage": stage, "config": config, "inputs": sorted(input_keys)},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:KEY_LENGTH]


def _train(study: Study, section: str, task: str) -> dict[str, Any]:
    """The training settings the study sets for ``task`` (per-task ones win); unset keys are
    left to the stage config's defaults."""
    sec = getattr(study, section)
    settings = sec.train.model_dump(exclude_unset=True)
    if task in sec.per_task:
        over = sec.per_task[task].model_dump(exclude_unset=True)
        over.pop("languages", None)
        settings |= over
    return settings


@dataclass
class Grid:
    study: str
    runs: list[StageRun]

    def by_id(self) -> dict[str, StageRun]:
        return {r.id: r for r in self.runs}

    def of(self, stage: str) -> list[StageRun]:
        return [r for r in self.runs if r.stage == stage]

    def layers(self) -> list[list[StageRun]]:
        """Runs grouped so that each group only depends on earlier groups."""
        depth: dict[str, int] = {}
        for run in self.runs:  # runs are listed in dependency order
            depth[run.id] = 1 + max((depth[i] for i in run.inputs), default=-1)
        out: list[list[StageRun]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
        for run in self.runs:
            out[depth[run.id]].append(run)
        return out

    def downstream(self, run_id: str) -> set[str]:
        found, frontier = set(), {run_id}
        while frontier:
            frontier = {r.id for r in self.runs if set(r.inputs) & frontier} - found
            found |= frontier
        return found


def _make(
    stage: str, name: str, config: dict[str, Any], inputs: list[StageRun], study: Study
) -> StageRun:
    key = content_key(stage, config, [r.key for r in inputs])
    resources = study.resources.for_stage(stage, config.get("task"))
    return StageRun(stage, name, config, tuple(r.id for r in inputs), key, resources)


def trains_nothing(task: str) -> bool:
    """True for retrieval targets: the encoder is scored as it is, so a run is deterministic
    and a target seed changes nothing. Unregistered names count as trained (validation names
    them elsewhere)."""
    from ..tasks import Format, get_task

    try:
        return get_task(task).format is Format.RETRIEVAL
    except KeyError:
        return False


def _target_seeds(study: Study, task: str, intermediate_seed: int | None) -> list[int]:
    if trains_nothing(task):  # one run per source; the baseline takes the first target seed
        return [study.seeds.target[0] if intermediate_seed is None else intermediate_seed]
    return study.seeds.target_seeds_for(intermediate_seed)


def intermediate_label(task: str, seed: int) -> str:
    return f"{task}-s{seed}"


def expand(resolved: ResolvedStudy | Study) -> Grid:
    study = resolved.study if isinstance(resolved, ResolvedStudy) else resolved
    curate = _curate_run(study)
    checkpoints = _intermediate_runs(study, curate)
    targets = _target_runs(study, curate, checkpoints)
    analysis_cfg = {"study": study.study, **study.analysis.model_dump(exclude_unset=True)}
    inputs = [curate, *checkpoints_runs(checkpoints), *targets]
    analysis = _make("analysis", "report", analysis_cfg, inputs, study)
    return Grid(study.study, [curate, *checkpoints_runs(checkpoints), *targets, analysis])


def _curate_run(study: Study) -> StageRun:
    # each task in the role the study gives it (SQuAD may be both an intermediate and a target)
    intermediates = {t for ts in study.intermediate_sources().values() for t in ts}
    targets = study.curated_targets()
    curate_cfg = {
        "intermediate_tasks": sorted(intermediates),
        "target_tasks": targets,
        "model": study.model,
        **study.curate.model_dump(exclude_unset=True),
    }
    if "task_languages" in curate_cfg:  # only the targets curated here (a -p may drop one)
        kept = {t: v for t, v in curate_cfg.pop("task_languages").items() if t in targets}
        curate_cfg.update({"task_languages": kept} if kept else {})
    return _make("curate", "data", curate_cfg, [], study)


def _intermediate_runs(study: Study, curate: StageRun) -> list[tuple[str, StageRun, int]]:
    """(checkpoint label, run, seed) of every intermediate task or mixture and seed."""
    checkpoints: list[tuple[str, StageRun, int]] = []
    for label, tasks in study.intermediate_sources().items():
        mixture = study.intermediate.mixtures.get(label)
        for seed in study.seeds.intermediate:
            cfg: dict[str, Any] = {"model": study.model, "task": label, "seed": seed}
            if mixture is not None:
                cfg.update(mixture.model_dump())
                cfg["mixture_budget_tasks"] = _largest_mixture(study)
            train_task = tasks[0] if mixture is None else label
            cfg.update(_train(study, "intermediate", train_task))
            if cfg.get("mlm"):
                cfg["evaluated_tasks"] = list(study.target.tasks)
            run = _make("intermediate", f"{label}__s{seed}", cfg, [curate], study)
            checkpoints.append((intermediate_label(label, seed), run, seed))
    return checkpoints


def _largest_mixture(study: Study) -> int:
    """Every mixture trains as many windows as the largest one: the domain arms (one mixture
    per domain) then get equal optimisation steps although they hold 2 or 4 matched tasks."""
    return max(len(m.tasks) for m in study.intermediate.mixtures.values())


def _target_runs(
    study: Study, curate: StageRun, checkpoints: list[tuple[str, StageRun, int]]
) -> list[StageRun]:
    """Every target from the bare model (the baseline) and from each checkpoint, per seed."""
    sources: list[tuple[str | None, StageRun | None, int | None]] = (
        [(None, None, None)] if study.baseline else []
    )
    sources += checkpoints
    confounded = {
        (intermediate_label(c["label"], seed), c["target"])
        for c in (study_confounds(study) if study.target.exclude_confounded else [])
        for seed in study.seeds.intermediate
    }
    runs = []
    for task in study.target.tasks:
        over = study.target.per_task.get(task)
        languages = (over.languages if over and over.languages else None) or study.target.languages
        for label, ckpt, inter_seed in sources:
            if study.target.exclude_confounded and (label, task) in confounded:
                continue
            for seed in _target_seeds(study, task, inter_seed):
                cfg = {"model": study.model, "task": task, "seed": seed, "intermediate": label}
                if languages:
                    cfg["languages"] = list(languages)
                cfg.update(_train(study, "target", task))
                origin = f"from-{label}" if label else "baseline"
                inputs = [curate] + ([ckpt] if ckpt else [])
                runs.append(_make("target", f"{task}__{origin}__s{seed}", cfg, inputs, study))
    return runs


def study_confounds(study: Study) -> list[dict]:
    """The (intermediate label, target) pairs where a task of the label is the target's own
    English training source (``data/confounds.py``), each with its reason."""
    from ..data.confounds import describe, design_confounds

    out = []
    for label, tasks in study.intermediate_sources().items():
        for c in design_confounds(tasks, list(study.target.tasks)):
            out.append({"label": label, **c, "note": describe(c)})
    return out


def checkpoints_runs(checkpoints: list[tuple[str, StageRun, int]]) -> list[StageRun]:
    return [run for _, run, _ in checkpoints]


def notebook_parameters(
    run: StageRun, grid: Grid, study_dir: Path, report_dir: Path
) -> dict[str, Any]:
    """The papermill parameters of ``run`` (absolute paths)."""
    runs = grid.by_id()
    out_dir = study_dir / run.stage / run.dirname
    if run.stage == "curate":
        return {"config": run.config, "out_dir": str(out_dir)}
    curate_dir = str(study_dir / run.inputs[0])
    if run.stage == "intermediate":
        return {"config": run.config, "curate_dir": curate_dir, "out_dir": str(out_dir)}
    if run.stage == "target":
        enc = [i for i in run.inputs if runs[i].stage == "intermediate"]
        encoder_dir = str(study_dir / enc[0] / "encoder") if enc else None
        return {
            "config": run.config,
            "curate_dir": curate_dir,
            "encoder_dir": encoder_dir,
            "out_dir": str(out_dir),
        }
    return {"config": run.config, "study_dir": str(study_dir), "report_dir": str(report_dir)}
