"""Benchmark (opt-in, ``python -m bench mining``): BUCC-scale margin mining without an n × n matrix.

BUCC 2018's test sides hold about 200k sentences per language. ``mine_candidates`` finds each
sentence's k = 4 nearest neighbours in row chunks (memory O(chunk × n)), as XTREME does with
faiss. Two measurements:

- **parity and speed at a size a dense matrix still fits** (3,000 × 3,000): the dense baseline
  builds the full similarity matrix and mines from it (the LASER logic written out with numpy);
  ours must mine the same pairs with the same margins (both keep every forward and backward
  best, ``candidates="all"``: the one-to-one filter that studies apply afterwards is compared
  with xtreme's logic in ``tests/test_bucc_parity.py``);
- **scale**: ``mine_candidates`` on 200,000 × 200,000 random unit vectors (384 dimensions, the
  embedded model's width; ``--quick``: 20,000), run in a child process whose peak resident memory
  is read from ``getrusage``; a dense float32 matrix of that size would need n² × 4 bytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np

from . import common
from .harness import Recorder, Row, alternate, ratio

DIM, K = 384, 4


def _vectors(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, DIM), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def dense_mine(src: np.ndarray, tgt: np.ndarray, k: int = K) -> dict[tuple, float]:
    """The baseline: the full similarity matrix, then LASER's max-margin candidates."""
    sim = src @ tgt.T
    fwd_idx = np.argsort(-sim, axis=1)[:, :k]
    bwd_idx = np.argsort(-sim.T, axis=1)[:, :k]
    fwd_sim = np.take_along_axis(sim, fwd_idx, 1)
    bwd_sim = np.take_along_axis(sim.T, bwd_idx, 1)
    src_mean, tgt_mean = fwd_sim.mean(1), bwd_sim.mean(1)
    out: dict[tuple, float] = {}
    for i in range(len(src)):
        margins = fwd_sim[i] / ((src_mean[i] + tgt_mean[fwd_idx[i]]) / 2)
        j = int(fwd_idx[i][margins.argmax()])
        out[(i, j)] = max(out.get((i, j), -np.inf), float(margins.max()))
    for j in range(len(tgt)):
        margins = bwd_sim[j] / ((tgt_mean[j] + src_mean[bwd_idx[j]]) / 2)
        i = int(bwd_idx[j][margins.argmax()])
        out[(i, j)] = max(out.get((i, j), -np.inf), float(margins.max()))
    return out


CHILD = """
import json, resource, sys, time
import numpy as np, torch
from xstilts.evaluation.retrieval import mine_candidates
torch.set_num_threads(int(sys.argv[2]))
n = int(sys.argv[1])
rng = np.random.default_rng(0)
def unit(m):
    x = rng.standard_normal((m, 384), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)
src, tgt = unit(n), unit(n)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
pairs = mine_candidates(src, tgt, list(range(n)), list(range(n)), candidates="all")
print(json.dumps({"seconds": time.perf_counter() - t, "pairs": len(pairs),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mib": base / 1024}))
"""


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    from xstilts.evaluation.retrieval import mine_candidates

    threads = common.set_threads(threads)
    repeats = repeats or (1 if quick else 3)
    n_small, n_large = (1000, 20_000) if quick else (3000, 200_000)
    rec = Recorder("mining", quick)
    rec.data["settings"] = {"threads": threads, "repeats": repeats, "dim": DIM, "k": K}

    src, tgt = _vectors(n_small, 1), _vectors(n_small, 2)
    ids = list(range(n_small))
    found: dict[str, dict] = {}

    def arm(name, fn):
        def call():
            start = time.perf_counter()
            found[name] = fn()
            return {"seconds": time.perf_counter() - start}

        return call

    runs = alternate(
        {
            "dense_matrix": arm("dense", lambda: dense_mine(src, tgt)),
            "chunked_knn": arm(
                "ours", lambda: mine_candidates(src, tgt, ids, ids, candidates="all")
            ),
        },
        repeats,
    )
    s = rec.runs("parity", runs)
    same_pairs = set(found["dense"]) == set(found["ours"])
    max_diff = max(
        abs(found["dense"][p] - found["ours"][p]) for p in found["dense"] if p in found["ours"]
    )
    rec.data["parity"].update({"same_pairs": same_pairs, "max_margin_diff": max_diff})
    rec.rows.append(
        Row(
            "BUCC mining",
            f"{n_small:,} × {n_small:,}, dense matrix vs chunked kNN",
            common.fmt_s(s["dense_matrix"]["median_s"]),
            common.fmt_s(s["chunked_knn"]["median_s"]),
            ratio(runs["dense_matrix"], runs["chunked_knn"]),
            goal="same pairs",
            met=same_pairs and max_diff < 1e-4,
            note=f"same mined pairs: {same_pairs}; largest margin difference {max_diff:.1e}",
        )
    )

    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(n_large), str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    scale = json.loads(child.stdout.strip().splitlines()[-1])
    dense_gib = n_large * n_large * 4 / 2**30
    rec.data["scale"] = {"n": n_large, **scale, "dense_matrix_gib": dense_gib}
    rec.rows.append(
        Row(
            "BUCC mining",
            f"{n_large:,} × {n_large:,} random unit vectors ({DIM} dims), both directions",
            f"dense float32 matrix: {dense_gib:,.0f} GiB",
            f"{scale['seconds']:.0f} s, peak RSS {scale['peak_rss_mib']:,.0f} MiB",
            goal="never n × n in memory",
            met=scale["peak_rss_mib"] < 4096,
            note=f"{threads} thread(s), CPU; {scale['pairs']:,} candidate pairs",
        )
    )
    return rec
