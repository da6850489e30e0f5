"""``python -m bench [NAME ...] [--quick]``: run benchmarks, write JSON, refresh the doc table.

Default (``make bench``): training, zero_shot, retrieval, caching, scaling, gpu, e2e; the whole
suite's wall time goes to ``bench/results/suite.json`` (goal: <= 30 min on 2 cores). These run
only when named: ``profiling``; ``mining`` (BUCC mining up to 200,000 × 200,000 sentences,
~10 min); ``multiemo_reference`` (an accuracy check and the bf16 precision
guard; its two arms of 2026-11-25 took 1.9 h at one thread, and
``XSTILTS_REFERENCE_ARMS=ours,ours_fp32`` runs the guard alone); ``hparam_sweep`` (the embedded
profile's target settings on English dev, ~20 min); ``kernels`` (kept kernels vs a kernel per
stage on a 13-stage cut of the default study, ~45 min on 2 cores); ``compile`` (torch.compile in
the MultiEmo target training, ~8 min).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from .harness import Recorder, Row, results_dir, update_doc

DEFAULT = ("training", "zero_shot", "retrieval", "caching", "scaling", "gpu", "e2e")
OPT_IN = ("profiling", "multiemo_reference", "hparam_sweep", "mining", "kernels", "compile")
SUITE_GOAL_MIN = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run (default: {' '.join(DEFAULT)})"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, results under bench/results/quick/, doc untouched",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for every arm (default 1 for the A/B pairs, as the machine is shared; "
        "every core for scaling)",
    )
    parser.add_argument("--repeats", type=int, default=None, help="runs per arm (A B A B ...)")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/performance.md")
    args = parser.parse_args(argv)
    names = args.names or list(DEFAULT)
    unknown = sorted(set(names) - {*DEFAULT, *OPT_IN})
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; known: {', '.join((*DEFAULT, *OPT_IN))}")
    failed = []
    suite = Recorder("suite", args.quick)
    durations: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"bench.{name}")
        try:
            rec = module.run(quick=args.quick, threads=args.threads, repeats=args.repeats)
        except Exception as err:  # noqa: BLE001 - report, go on with the others
            print(f"   FAILED: {type(err).__name__}: {err}", flush=True)
            failed.append(name)
            continue
        path = rec.write()
        for row in rec.rows:
            r = f" ({row.ratio:.2f}×)" if row.ratio else ""
            print(f"   {row.benchmark} | {row.metric}: {row.baseline} -> {row.ours}{r}")
        durations[name] = round(time.perf_counter() - start, 1)
        print(f"   {path} ({durations[name]:.0f} s)", flush=True)
    if set(DEFAULT) <= set(names) and not failed:
        minutes = (time.perf_counter() - suite.clock) / 60
        suite.data["durations_s"] = durations
        suite.rows.append(
            Row(
                "`make bench` (benchmarks 1–7)",
                "total wall time",
                "",
                f"{minutes:.1f} min",
                None,
                f"≤ {SUITE_GOAL_MIN:.0f} min",
                minutes <= SUITE_GOAL_MIN,
                ", ".join(f"{k} {v / 60:.1f}" for k, v in durations.items()) + " min",
            )
        )
        print(f"== suite: {minutes:.1f} min -> {suite.write()}")
    if not args.quick and not args.no_doc:
        print(f"table updated: {update_doc(directory=results_dir())}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
