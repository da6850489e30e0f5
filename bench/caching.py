"""Benchmark 4: caching. A second ``python -m xstilts run`` on a finished study, and the
tokenisation cache (hit vs miss).

The study: ``params/default.yaml`` when ``runs/default`` exists (a finished ``make study``),
otherwise ``params/quick.yaml`` run into a private runs directory under the cache (the first run
does the work and is reported separately; the second must only find every stage done).
Baseline for the tokenisation cache = tokenising ScanCode licence rules again (a miss in a fresh cache
directory); ours = reading the Arrow file a previous identical call wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from xstilts.paths import cache_dir, repo_root

from . import common
from .harness import Recorder, Row, alternate, ratio

GOAL_S = 10.0


def _study() -> tuple[str, list[str], str]:
    """(study file, extra CLI args, description)."""
    if (repo_root() / "runs" / "default").is_dir():
        return "params/default.yaml", [], "default study (runs/default)"
    runs = cache_dir() / "bench" / "runs"
    return "params/quick.yaml", ["--runs-dir", str(runs)], "quick study (default study not run)"


def _cli_run(study: str, extra: list[str]) -> tuple[float, int, str]:
    cmd = [sys.executable, "-m", "xstilts", "run", study, *extra]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=repo_root(),
        capture_output=True,
        text=True,
        env={**os.environ, "TQDM_DISABLE": "1"},
    )
    return time.perf_counter() - start, proc.returncode, (proc.stdout + proc.stderr)[-2000:]


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    from xstilts.training.features import featurize

    threads = common.set_threads(threads)
    repeats = repeats or (2 if quick else 5)
    n_rows = 64 if quick else 2000
    rec = Recorder("caching", quick)
    rec.data["settings"] = {"threads": threads, "repeats": repeats, "tokenised_rows": n_rows}

    # tokenisation cache
    tok = common.tokenizer()
    rows = common.rows("licence_rules", "train", limit=n_rows)
    with tempfile.TemporaryDirectory() as warm:
        featurize(rows, "single", tok, common.MAX_LENGTH, train=True, cache_root=warm)

        def miss():
            with tempfile.TemporaryDirectory() as fresh:
                featurize(rows, "single", tok, common.MAX_LENGTH, train=True, cache_root=fresh)

        runs = alternate(
            {
                "miss_tokenise": miss,
                "hit_read_arrow": lambda: {
                    "features": len(
                        featurize(
                            rows, "single", tok, common.MAX_LENGTH, train=True, cache_root=warm
                        )
                    )
                },
            },
            repeats,
        )
    s = rec.runs("tokenisation", runs)
    r = ratio(runs["miss_tokenise"], runs["hit_read_arrow"])
    rec.rows.append(
        Row(
            "tokenisation cache",
            f"{n_rows} ScanCode licence rules, miss vs hit",
            common.fmt_s(s["miss_tokenise"]["median_s"]),
            common.fmt_s(s["hit_read_arrow"]["median_s"]),
            r,
        )
    )

    # second `xstilts run`
    if quick:
        rec.rows.append(Row("second `xstilts run`", "wall time", "", "not measured (--quick)"))
        return rec
    study, extra, what = _study()
    first_s, rc1, log1 = _cli_run(study, extra)
    second_s, rc2, log2 = _cli_run(study, extra)
    rec.data["second_run"] = {
        "study": study,
        "what": what,
        "first_s": first_s,
        "first_rc": rc1,
        "second_s": second_s,
        "second_rc": rc2,
        "second_log_tail": log2,
        "first_log_tail": log1 if rc1 else "",
    }
    ok = rc1 == 0 and rc2 == 0
    rec.rows.append(
        Row(
            "second `xstilts run`",
            f"wall time, {what}",
            f"first run {common.fmt_s(first_s)}",
            common.fmt_s(second_s) if ok else f"failed (exit {rc2})",
            None,
            f"< {GOAL_S:.0f} s",
            ok and second_s < GOAL_S,
            "" if ok else "see bench/results/caching.json for the log tail",
        )
    )
    return rec
