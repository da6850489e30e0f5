"""Benchmark harness: A/B alternation, medians, ratios, JSON results with machine and load.

Every benchmark runs its baseline and ours in the same process, alternating (A B A B ...), so a
load spike on the shared machine hits both arms alike; figures are medians and the headline is
the ratio of medians. Results go to ``bench/results/<name>.json`` (``--quick`` runs to
``bench/results/quick/``, which is not committed) together with the machine, the date, torch
threads and ``os.getloadavg()`` before and after.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from xstilts.io import read_json, write_text
from xstilts.paths import cache_dir, repo_root

RESULTS_ENV = "XSTILTS_BENCH_RESULTS"


@dataclass
class Run:
    """One timed call of an arm: ``seconds`` (the arm's own clock if it reports one, else wall
    time of the call), the wall time, and whatever else the arm returned."""

    arm: str
    index: int
    seconds: float
    wall_s: float
    extra: dict = field(default_factory=dict)


def alternate(
    arms: dict[str, Callable[[], dict | None]], repeats: int, warmup: int = 0
) -> dict[str, list[Run]]:
    """Call the arms in turn (A B A B ...), ``repeats`` times each, after ``warmup`` untimed
    rounds. An arm may return ``{"seconds": s, ...}`` to time only its inner loop (model loading
    and tokenisation excluded); the rest of its dict is kept in ``Run.extra``."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if not arms:
        raise ValueError("no arms to run")
    for _ in range(warmup):
        for fn in arms.values():
            fn()
    runs: dict[str, list[Run]] = {name: [] for name in arms}
    for i in range(repeats):
        for name, fn in arms.items():
            start = time.perf_counter()
            out = fn() or {}
            wall = time.perf_counter() - start
            out = dict(out)
            seconds = float(out.pop("seconds", wall))
            runs[name].append(Run(name, i, seconds, wall, out))
    return runs


def keeping(results: dict, key: str, fn: Callable[[], object]) -> Callable[[], None]:
    """An arm for :func:`alternate` that stores ``fn()``'s value in ``results[key]`` (the last
    run's), so the arms' outputs can be compared afterwards; timed by wall clock."""

    def call() -> None:
        results[key] = fn()

    return call


def summary(runs: list[Run]) -> dict:
    secs = [r.seconds for r in runs]
    return {
        "median_s": statistics.median(secs),
        "min_s": min(secs),
        "max_s": max(secs),
        "runs_s": [round(s, 4) for s in secs],
        "n": len(secs),
    }


def ratio(baseline: list[Run] | float, ours: list[Run] | float) -> float:
    """Speed-up of ours over the baseline: median baseline time / median our time."""
    b = baseline if isinstance(baseline, float | int) else summary(baseline)["median_s"]
    o = ours if isinstance(ours, float | int) else summary(ours)["median_s"]
    return float(b) / float(o) if o > 0 else float("inf")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    """What the numbers were measured on."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        **_commit(),
    }


def _commit() -> dict:
    """The short commit and whether tracked files differed from it (a run of uncommitted code)."""
    from xstilts.orchestration.provenance import git_state

    state = git_state()
    return {"commit": state["commit"] and state["commit"][:7], "dirty": state["dirty"]}


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def results_dir(quick: bool = False) -> Path:
    root = (
        Path(os.environ[RESULTS_ENV])
        if os.environ.get(RESULTS_ENV)
        else (repo_root() / "bench" / "results")
    )
    return root / "quick" if quick else root


@dataclass
class Row:
    """One line of the performance table."""

    benchmark: str
    metric: str
    baseline: str
    ours: str
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""


class Recorder:
    """Collects a benchmark's settings, runs and table rows; ``write()`` saves the JSON."""

    def __init__(self, name: str, quick: bool = False):
        self.name, self.quick = name, quick
        self.started = _dt.datetime.now(_dt.UTC)
        self.load_before = loadavg()
        self.clock = time.perf_counter()
        self.data: dict = {}
        self.rows: list[Row] = []

    def runs(self, key: str, runs: dict[str, list[Run]]) -> dict:
        """Store alternated runs under ``key``; return their per-arm summaries."""
        summaries = {arm: summary(rs) for arm, rs in runs.items()}
        self.data[key] = {
            "summary": summaries,
            "runs": {arm: [asdict(r) for r in rs] for arm, rs in runs.items()},
        }
        return summaries

    def write(self, directory: Path | None = None) -> Path:
        payload = {
            "name": self.name,
            "quick": self.quick,
            "date": self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "loadavg_before": self.load_before,
            "loadavg_after": loadavg(),
            "duration_s": round(time.perf_counter() - self.clock, 1),
            "rows": [asdict(r) for r in self.rows],
            **self.data,
        }
        path = (directory or results_dir(self.quick)) / f"{self.name}.json"
        write_text(
            path, redact(json.dumps(payload, indent=2, ensure_ascii=False, default=str)) + "\n"
        )
        return path


def redact(text: str) -> str:
    """Replace this machine's paths (repo, cache, home) with placeholders before committing."""
    for path, name in ((repo_root(), "<repo>"), (cache_dir(), "<cache>"), (Path.home(), "~")):
        text = text.replace(str(path), name)
    return text


# ----------------------------------------------------------------------------------------------
# The table in docs/performance.md, generated from the JSON results
# ----------------------------------------------------------------------------------------------

TABLE_START = "<!-- bench:table:start -->"
TABLE_END = "<!-- bench:table:end -->"
NOT_MEASURED = {
    "e2e": "end to end (`make study`)",
    "gpu": "GPU training (bf16 + SDPA)",
}
ORDER = ("suite", "training", "zero_shot", "retrieval", "caching", "scaling", "e2e", "gpu")


def load_results(directory: Path | None = None) -> list[dict]:
    directory = directory or results_dir()
    found = {p.stem: read_json(p) for p in sorted(directory.glob("*.json"))}
    return [
        found[k] for k in sorted(found, key=lambda k: (ORDER.index(k) if k in ORDER else 99, k))
    ]


def _fmt_ratio(r: float | None) -> str:
    return "" if r is None else f"{r:.2f}×"


def _fmt_met(m: bool | None) -> str:
    return {True: "yes", False: "**no**", None: ""}[m]


def markdown_table(results: list[dict]) -> str:
    """One row per table line of every result, with its machine, threads, load and date."""
    lines = [
        "| benchmark | metric | baseline | ours | ratio | goal | met | measured |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        m = res["machine"]
        load = res.get("loadavg_before") or []
        where = (
            f"{res['date']}; {m['cpus']}-core {m['cpu']}, {m['torch_threads']} thread(s)"
            + (f", {m['gpu']}" if m.get("gpu") else "")
            + (f"; load {load[0]:.1f}" if load else "")
        )
        for row in res["rows"]:
            metric = row["metric"] + (f" ({row['note']})" if row.get("note") else "")
            lines.append(
                f"| {row['benchmark']} | {metric} | {row['baseline']} | {row['ours']} | "
                f"{_fmt_ratio(row['ratio'])} | {row['goal']} | {_fmt_met(row['met'])} | "
                f"{where} |"
            )
    have = {res["name"] for res in results}
    for name, what in NOT_MEASURED.items():
        if name not in have:
            lines.append(f"| {what} |  |  | not measured |  |  |  |  |")
    return "\n".join(lines)


def _replace_table(text: str, start: str, end: str, table: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{table}\n{end}{tail}"


def machine_markers(name: str) -> tuple[str, str]:
    """The markers of the table of ``bench/results/<name>/``: the figures of another kind of
    machine (``XSTILTS_BENCH_RESULTS`` pointed there), kept apart from the main table."""
    return f"<!-- bench:table:{name}:start -->", f"<!-- bench:table:{name}:end -->"


def update_doc(doc: Path | None = None, directory: Path | None = None) -> Path:
    """Replace the table between the markers in ``docs/performance.md`` with the JSON figures,
    and each machine table whose markers the doc holds with its folder's figures."""
    doc = doc or repo_root() / "docs" / "performance.md"
    directory = directory or results_dir()
    text = doc.read_text(encoding="utf-8")
    if TABLE_START not in text or TABLE_END not in text:
        raise ValueError(f"{doc}: markers {TABLE_START} / {TABLE_END} not found")
    text = _replace_table(text, TABLE_START, TABLE_END, markdown_table(load_results(directory)))
    for folder in sorted(p for p in directory.iterdir() if p.is_dir() and p.name != "quick"):
        start, end = machine_markers(folder.name)
        if start in text and end in text and any(folder.glob("*.json")):
            text = _replace_table(text, start, end, markdown_table(load_results(folder)))
    write_text(doc, text)
    return doc
