"""Benchmark (opt-in): one kernel for consecutive stages of a notebook vs a new kernel per stage.

A 13-stage cut of the default study (curate; FEVER at 3 seeds; UDHR and WikiLingua from the bare
encoder and the 3 checkpoints; the analysis) runs cold into a temporary runs directory with
``--fresh-kernels`` (baseline: a kernel per stage) and with kept kernels (ours, the default),
alternating (A B A B ...). Each run is timed whole, with the peak summed RSS of its process tree
(``e2e.run_tree``). Per stage it also reads the time outside the stage's own work
(``provenance.json``'s ``wall_s`` minus the ``seconds`` the stage reports): kernel start, imports,
papermill, provenance, the part a kept kernel can save. Both arms must give the same results.csv.
``--quick``: the quick study with two target seeds (7 stages).
"""

from __future__ import annotations

import hashlib
import shutil
import statistics
import sys
import time
from pathlib import Path

from xstilts.io import read_json
from xstilts.paths import cache_dir

from .e2e import run_tree
from .harness import Recorder, Row, alternate, ratio

CUT = ["-p", "intermediate.tasks=[wordnet_nouns]", "-p", "target.tasks=[udhr,gnome_help_parallel]"]
QUICK_CUT = ["-p", "seeds.target=[1,2]"]


def _stage_times(study_dir: Path) -> list[dict]:
    """Per stage: wall time, the seconds it reports for its own work, and kernel reuse."""
    stages = []
    for prov_path in sorted(study_dir.glob("*/*/provenance.json")):
        prov = read_json(prov_path)
        metrics_path = prov_path.parent / "metrics.json"
        metrics = read_json(metrics_path) if metrics_path.exists() else {}
        own = metrics.get("seconds") or metrics.get("train", {}).get("seconds")
        stages.append(
            {
                "run": prov["run"],
                "wall_s": prov["wall_s"],
                "own_s": own,
                "reused_kernel": prov.get("kernel_session", {}).get("reused", False),
            }
        )
    return stages


def _arm(study: str, cut: list[str], fresh: bool, root: Path):
    def call() -> dict:
        out = root / f"{'fresh' if fresh else 'kept'}-{time.time_ns()}"
        dirs = ["--runs-dir", str(out / "runs"), "--reports-dir", str(out / "reports")]
        flag = ["--fresh-kernels"] if fresh else []
        cmd = [sys.executable, "-m", "xstilts", "run", study, *cut, *dirs, *flag]
        result = run_tree(cmd)
        try:
            if result["rc"] != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed:\n{result['log_tail']}")
            study_dir = out / "runs" / Path(study).stem
            csv = (study_dir / "results.csv").read_bytes()
            return {
                "seconds": result["wall_s"],
                "peak_rss_bytes": result["peak_rss_bytes"],
                "results_sha256": hashlib.sha256(csv).hexdigest(),
                "stages": _stage_times(study_dir),
            }
        finally:
            shutil.rmtree(out, ignore_errors=True)

    return call


def _outside(runs: list, reused_only: bool) -> list[float]:
    return [
        s["wall_s"] - s["own_s"]
        for run in runs
        for s in run.extra["stages"]
        if s["own_s"] is not None and (s["reused_kernel"] or not reused_only)
    ]


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    study, cut = ("params/quick.yaml", QUICK_CUT) if quick else ("params/default.yaml", CUT)
    repeats = repeats or (1 if quick else 2)
    rec = Recorder("kernels", quick)
    rec.data["settings"] = {"study": study, "overrides": cut, "repeats": repeats}
    root = cache_dir() / "bench" / "kernels"
    arms = {
        "kernel_per_stage": _arm(study, cut, True, root),
        "kept_kernels": _arm(study, cut, False, root),
    }
    runs = alternate(arms, repeats)
    summaries = rec.runs("study", runs)
    fresh, kept = runs["kernel_per_stage"], runs["kept_kernels"]
    same = len({r.extra["results_sha256"] for rs in runs.values() for r in rs}) == 1
    gib = {k: max(r.extra["peak_rss_bytes"] for r in rs) / 2**30 for k, rs in runs.items()}
    n_stages = len(kept[0].extra["stages"])
    rec.data["identical_results"] = same
    rec.rows.append(
        Row(
            f"kept kernels ({n_stages}-stage cut of {Path(study).name}, cold)",
            "wall time, a kernel per stage (`--fresh-kernels`) vs one per notebook (default)",
            f"{summaries['kernel_per_stage']['median_s']:.0f} s, {gib['kernel_per_stage']:.2f} GiB",
            f"{summaries['kept_kernels']['median_s']:.0f} s, {gib['kept_kernels']:.2f} GiB",
            ratio(fresh, kept),
            "identical results.csv",
            same,
            f"{repeats} run(s) per arm, alternating",
        )
    )
    before, after = _outside(fresh, False), _outside(kept, True)
    rec.rows.append(
        Row(
            "kept kernels: time per stage outside its own work",
            "`wall_s` minus the stage's reported `seconds` (kernel start, imports, papermill)",
            f"{min(before):.1f}–{max(before):.1f} s",
            f"{min(after):.1f}–{max(after):.1f} s (reused kernels)" if after else "no reuse",
            statistics.median(before) / statistics.median(after) if after else None,
        )
    )
    return rec
