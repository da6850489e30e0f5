"""The tidy results table: one row per (run, language, metric[, layer]) from finished target runs."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..io import atomic_path, read_json

log = logging.getLogger(__name__)

BASELINE = "baseline"  # the `intermediate` value of runs without intermediate training
# Target formats that train nothing: their baseline run is deterministic and seed-free, and the
# grid runs it once (orchestration.grid.trains_nothing), so it pairs with every seed.
SEED_FREE_FORMATS = ("retrieval",)
STAGES = ("curate", "intermediate", "target", "analysis")
COLUMNS = [
    "study",
    "intermediate",
    "intermediate_seed",
    "intermediate_domain",
    "intermediate_format",
    "target",
    "format",
    "primary_metric",
    "language",
    "seed",
    "metric",
    "value",
    "n",
    "layer",
    "model",
    "run",
]


@dataclass(frozen=True)
class TaskInfo:
    domain: str
    format: str
    note: str = ""


def finished_runs(study_dir: str | Path, stage: str) -> Iterator[Path]:
    """Run dirs of ``stage`` with a ``DONE`` marker, sorted by name."""
    if stage not in STAGES:
        raise ValueError(f"stage {stage!r} not one of {STAGES}")
    folder = Path(study_dir) / stage
    if not folder.is_dir():
        return
    for run in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (run / "DONE").exists():
            yield run


def unfinished_grid_runs(study_dir: str | Path) -> list[str]:
    """Runs of the study's grid (``grid.json``, the analysis aside) without a ``DONE``: what an
    interim report (``xstilts report`` mid-study) is missing."""
    grid = Path(study_dir) / "grid.json"
    if not grid.exists():
        return []
    runs = _load(grid).get("runs", [])
    return [
        r["id"]
        for r in runs
        if r.get("stage") != "analysis" and not (Path(study_dir) / r["id"] / "DONE").exists()
    ]


def _load(path: Path) -> dict:
    try:
        obj = read_json(path)
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read JSON ({err})") from err
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _config(run: Path) -> dict:
    prov = run / "provenance.json"
    return _load(prov).get("config", {}) if prov.exists() else {}


def split_label(label: str) -> tuple[str, int | None]:
    """``vitaminc-s1`` (an intermediate checkpoint: task or mixture, and its seed) -> (vitaminc, 1)."""
    match = re.fullmatch(r"(.+)-s(\d+)", label)
    return (match.group(1), int(match.group(2))) if match else (label, None)


def _mixture_domain(study_dir: str | Path, name: str) -> TaskInfo | None:
    """A mixture's domain: its tasks' common domain, else ``mixed``."""
    from ..tasks import get_task

    for run in finished_runs(study_dir, "intermediate"):
        cfg = _config(run)
        if cfg.get("task") == name and cfg.get("tasks"):
            specs = [get_task(t) for t in cfg["tasks"]]
            domains = {s.domain for s in specs}
            formats = {getattr(s.format, "value", str(s.format)) for s in specs}
            return TaskInfo(
                domains.pop() if len(domains) == 1 else "mixed",
                formats.pop() if len(formats) == 1 else "mixed",
            )
    return None


def intermediate_info(study_dir: str | Path, name: str) -> TaskInfo:
    """Domain and format of an intermediate task: the task registry first, then the run's params."""
    if name == BASELINE:
        return TaskInfo("none", "none")
    try:
        from ..tasks import get_task

        spec = get_task(name)
        return TaskInfo(spec.domain, getattr(spec.format, "value", str(spec.format)))
    except Exception as err:  # registry incomplete or task unknown: fall back to run params
        reason = str(err)
    mixture = _mixture_domain(study_dir, name)
    if mixture is not None:
        return mixture
    for run in finished_runs(study_dir, "intermediate"):
        cfg = _config(run)
        if cfg.get("task") == name:
            metrics = _load(run / "metrics.json") if (run / "metrics.json").exists() else {}
            domain = cfg.get("domain") or metrics.get("domain")
            fmt = cfg.get("format") or metrics.get("format")
            if domain:
                return TaskInfo(
                    domain, fmt or "unknown", f"{name}: domain from {run.name}/provenance"
                )
    note = f"{name}: domain unknown ({reason})"
    log.warning(note)
    return TaskInfo("unknown", "unknown", note)


def _rows_for_run(study: str, run: Path, study_dir: Path, infos: dict[str, TaskInfo]) -> list[dict]:
    metrics_path = run / "metrics.json"
    if not metrics_path.exists():
        raise ValueError(f"{run}: finished target run without metrics.json")
    m = _load(metrics_path)
    cfg = _config(run)
    for key in ("task", "per_language"):
        if key not in m:
            raise ValueError(f"{metrics_path}: missing key {key!r} (see docs/architecture.md)")
    inter, inter_seed = split_label(m.get("intermediate", cfg.get("intermediate")) or BASELINE)
    if inter not in infos:
        infos[inter] = intermediate_info(study_dir, inter)
    info = infos[inter]
    base = {
        "study": study,
        "intermediate": inter,
        "intermediate_seed": inter_seed,
        "intermediate_domain": info.domain,
        "intermediate_format": info.format,
        "target": m["task"],
        "format": m.get("format", ""),
        "primary_metric": m.get("primary_metric", ""),
        "seed": m.get("seed", cfg.get("seed")),
        "model": m.get("model", cfg.get("model", "")),
        "run": str(run.relative_to(study_dir)),
    }
    rows = []

    def add(lang: str, values: dict, layer: int | None) -> None:
        if not isinstance(values, dict):
            raise ValueError(f"{metrics_path}: per-language entry {lang!r} must be an object")
        n = values.get("n")
        for metric, value in values.items():
            if metric == "n" or not isinstance(value, int | float):
                continue
            rows.append(
                {
                    **base,
                    "language": lang,
                    "metric": metric,
                    "value": float(value),
                    "n": n,
                    "layer": layer,
                }
            )

    for lang, values in m["per_language"].items():
        add(lang, values, None)
    for layer, by_lang in (m.get("layers") or {}).items():
        for lang, values in by_lang.items():
            add(lang, values, int(layer))
    return rows


def build_results(study_dir: str | Path, write: bool = True) -> pd.DataFrame:
    """Tidy table of every finished target run of a study; written to ``results.{parquet,csv}``.

    Rows with ``layer`` set come from the retrieval layer sweep; the main evaluation has ``layer`` NA.
    If one (intermediate, target, seed) was run twice, the most recently finished run is kept.
    """
    study_dir = Path(study_dir)
    if not study_dir.is_dir():
        raise FileNotFoundError(f"study dir not found: {study_dir}")
    infos: dict[str, TaskInfo] = {}
    rows: list[dict] = []
    for run in finished_runs(study_dir, "target"):
        rows.extend(_rows_for_run(study_dir.name, run, study_dir, infos))
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["seed"] = pd.to_numeric(df["seed"], errors="coerce").astype("Int64")
    df["intermediate_seed"] = pd.to_numeric(df["intermediate_seed"], errors="coerce").astype(
        "Int64"
    )
    df["n"] = pd.to_numeric(df["n"], errors="coerce").astype("Int64")
    df["layer"] = pd.to_numeric(df["layer"], errors="coerce").astype("Int64")
    df = _drop_repeats(df, study_dir)
    df = df.sort_values(
        ["intermediate", "target", "seed", "layer", "language", "metric"], na_position="first"
    ).reset_index(drop=True)
    df.attrs["notes"] = sorted({i.note for i in infos.values() if i.note})
    if write:
        write_results(df, study_dir)
    return df


def _drop_repeats(df: pd.DataFrame, study_dir: Path) -> pd.DataFrame:
    if df.empty:
        return df
    key = ["intermediate", "intermediate_seed", "target", "seed"]
    runs = df[key + ["run"]].drop_duplicates()
    repeated = runs[runs.duplicated(key, keep=False)]
    if repeated.empty:
        return df
    mtime = {r: (study_dir / r / "DONE").stat().st_mtime for r in repeated["run"]}
    keep = set(runs["run"]) - set(repeated["run"])
    for _, grp in repeated.groupby(key, dropna=False):
        latest = max(grp["run"], key=lambda r: (mtime[r], r))
        keep.add(latest)
        log.warning("runs %s repeat one setting; keeping %s", sorted(grp["run"]), latest)
    return df[df["run"].isin(keep)]


def write_results(df: pd.DataFrame, study_dir: str | Path) -> None:
    study_dir = Path(study_dir)
    plain = df.copy()
    plain.attrs = {}
    with atomic_path(study_dir / "results.parquet") as tmp:
        plain.to_parquet(tmp, index=False)
    with atomic_path(study_dir / "results.csv") as tmp:
        plain.to_csv(tmp, index=False)
