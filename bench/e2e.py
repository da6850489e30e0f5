"""Benchmark 5: ``make study`` wall time and peak memory.

Assets first (``python -m xstilts assets``, reported separately: a download on a fresh machine),
then ``python -m xstilts run params/default.yaml`` into a new, temporary runs directory (so every
stage really runs; it is deleted afterwards) with the process tree's summed RSS polled every 0.5 s
(psutil), so papermill kernels and worker processes count. Goal: <= 20 min and <= 4 GiB on 2
cores. The tokenisation cache is shared with earlier runs (benchmark 4 measures it).

Also recorded, because a shared machine's speed drifts from hour to hour (the same forward pass
took 0.8-0.9 s one day and 1.8-2.0 s another on the AMX machine): a speed probe before and after
the study (:func:`speed_probe`), and each stage's wall time from its ``provenance.json``, summed
per kind of stage (:func:`stage_times`), so that a run's minutes can be read against the
machine's speed at the time and the stages that took them.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import yaml

from xstilts.io import read_json
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


PROBE_SHAPE = (64, 128)  # the batch of the performance issue's forward-pass figures


def speed_probe(repeats: int = 3) -> dict:
    """Seconds per forward pass of the embedded encoder on one 64 x 128 batch with every core, as
    a study's stages run: fp32, and bf16 autocast where ``precision: auto`` takes it; the median
    of ``repeats`` after one untimed pass. The token ids are random: the time does not depend on
    them."""
    import torch

    from xstilts.precision import autocast, resolve

    from .common import encoder, set_threads

    threads = set_threads(0)
    model = encoder().eval()
    ids = torch.randint(5, 250_000, PROBE_SHAPE, generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    out = {"threads": threads, "shape": list(PROBE_SHAPE)}
    for precision in dict.fromkeys(["fp32", resolve("auto", "cpu")]):
        times = []
        with torch.inference_mode():
            for _ in range(repeats + 1):
                start = time.perf_counter()
                with autocast(precision, "cpu"):
                    model(input_ids=ids, attention_mask=mask)
                times.append(time.perf_counter() - start)
        out[f"{precision}_forward_s"] = round(statistics.median(times[1:]), 3)
    return out


def stage_times(study_dir: Path) -> dict[str, dict]:
    """Each kind of stage's runs (curate, analysis, intermediate or target per task): how many,
    the shortest and longest ``wall_s`` and their sum, from the runs' ``provenance.json``."""
    groups: dict[str, list[float]] = {}
    for path in sorted(study_dir.glob("*/*/provenance.json")):
        prov = read_json(path)
        stage, name = prov["run"].split("/", 1)
        kind = stage if stage in ("curate", "analysis") else f"{stage} {name.split('__')[0]}"
        groups.setdefault(kind, []).append(float(prov["wall_s"]))
    order = ("curate", "intermediate", "target", "analysis")  # the pipeline's order
    return {
        kind: {"runs": len(w), "min_s": min(w), "max_s": max(w), "sum_s": round(sum(w), 1)}
        for kind, w in sorted(groups.items(), key=lambda kw: order.index(kw[0].split()[0]))
    }


def _stage_note(times: dict[str, dict]) -> str:
    return "; ".join(
        f"{kind} {t['sum_s'] / 60:.1f} min"
        + (f" ({t['runs']} × {t['min_s']:.0f}–{t['max_s']:.0f} s)" if t["runs"] > 1 else "")
        for kind, t in times.items()
    )


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
    probe_before = speed_probe(1 if quick else 3)
    try:
        study_run = run_tree([sys.executable, "-m", "xstilts", "run", study, *extra])
        study_name = yaml.safe_load((repo_root() / study).read_text())["study"]
        times = stage_times((repo_root() / "runs" if in_place else runs_dir) / study_name)
    finally:
        if not in_place:
            shutil.rmtree(runs_dir, ignore_errors=True)
    probe_after = speed_probe(1 if quick else 3)
    rec.data.update(
        {
            "study": study,
            "extra_args": extra,
            "assets": assets,
            "study_run": study_run,
            "stage_times": times,
            "speed_probe": {"before": probe_before, "after": probe_after},
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
            f"{psutil.cpu_count()} cores; fp32 forward 64 × 128: "
            f"{probe_before['fp32_forward_s']:.2f} s before, {probe_after['fp32_forward_s']:.2f} s after"
            f"; {_stage_note(times)}",
        )
    )
    return rec
