"""Benchmark 5: ``make study`` wall time and peak memory.

Assets first (``python -m xstilts assets``, reported separately: a download on a fresh machine),
then ``python -m xstilts run params/default.yaml`` into a new, temporary runs directory (so every
stage really runs; it is deleted afterwards) with the process tree's summed RSS polled every 0.5 s
(psutil), so papermill kernels and worker processes count. Goal: <= 20 min and <= 4 GiB on 2
cores. The tokenisation cache is shared with earlier runs (benchmark 4 measures it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from xstilts.paths import cache_dir, repo_root

from .harness import Recorder, Row

GOAL_MIN, GOAL_GIB = 20.0, 4.0


def run_tree(cmd: list[str], interval: float = 0.5) -> dict:
    """Run ``cmd``; wall time, exit code and the peak summed RSS of it and all descendants."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=repo_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    peak = 0
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            rss = 0
            for p in tree:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(interval)
    reader.join(timeout=5)
    return {
        "wall_s": time.perf_counter() - start,
        "rc": proc.returncode,
        "peak_rss_bytes": peak,
        "log_tail": "".join(lines)[-3000:],
    }


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    rec = Recorder("e2e", quick)
    study = "params/quick.yaml" if quick else "params/default.yaml"
    # XSTILTS_E2E_IN_PLACE=1: run into the repository's runs/ and reports/ as `make study` does and
    # keep them (how the README's figures were made, measured); otherwise a temporary runs dir.
    in_place = os.environ.get("XSTILTS_E2E_IN_PLACE") == "1"
    runs_dir = cache_dir() / "bench" / f"e2e-{int(time.time())}"
    extra = (
        []
        if in_place
        else ["--runs-dir", str(runs_dir), "--reports-dir", str(runs_dir / "reports")]
    )
    assets = run_tree([sys.executable, "-m", "xstilts", "assets"])
    try:
        study_run = run_tree([sys.executable, "-m", "xstilts", "run", study, *extra])
    finally:
        if not in_place:
            shutil.rmtree(runs_dir, ignore_errors=True)
    rec.data.update(
        {
            "study": study,
            "extra_args": extra,
            "assets": assets,
            "study_run": study_run,
            "cpus": psutil.cpu_count(),
        }
    )
    gib = study_run["peak_rss_bytes"] / 2**30
    minutes = study_run["wall_s"] / 60
    ok = study_run["rc"] == 0
    rec.rows.append(
        Row(
            "assets (`xstilts assets`)",
            "wall time",
            "",
            f"{assets['wall_s']:.0f} s",
            None,
            "",
            None,
            "cached here" if assets["wall_s"] < 30 else "download",
        )
    )
    rec.rows.append(
        Row(
            f"end to end (`xstilts run {Path(study).name}`)",
            "wall time, peak RSS of the process tree",
            "",
            f"{minutes:.1f} min, {gib:.2f} GiB" + ("" if ok else f" (exit {study_run['rc']})"),
            None,
            f"≤ {GOAL_MIN:.0f} min, ≤ {GOAL_GIB:.0f} GiB",
            ok and minutes <= GOAL_MIN and gib <= GOAL_GIB,
            f"{psutil.cpu_count()} cores",
        )
    )
    return rec
