"""Hyperparameter choice of the embedded profile's target settings, on English dev only
(opt-in: ``python -m bench hparam_sweep``).

Data: the items of the MultiEmo reference setting of :mod:`bench.multiemo_reference` (all from
MultiEmo's train split, outside every study's test pool, checked): the first 800 of its English
training reviews and its 500 English dev reviews. Each candidate runs the real target stage with
English only; the criterion is English dev accuracy of the selected checkpoint, averaged over
seeds (the XTREME protocol: no target-language data in any choice). The profile's setting must be
the winner (or tie within one dev item); the frozen-embeddings row measures that stated choice of
the embedded profile, the attention-dropout row a speed option it did not take.
``XSTILTS_SWEEP_ONLY`` (comma-separated candidate names, e.g. ``attention dropout off``) runs the
profile and those candidates only.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from xstilts.paths import cache_dir, repo_root

from . import common
from .harness import Recorder, Row
from .multiemo_reference import SETTING, curate_reference

SEEDS = (1, 2)
N_TRAIN = 800  # English MultiEmo training reviews per candidate run


def profile_target() -> dict:
    """The embedded profile's MultiEmo target settings (``target.train`` + ``per_task.multiemo``)."""
    profile = yaml.safe_load((repo_root() / "params/profiles/embedded.yaml").read_text())
    per_task = (profile["target"].get("per_task") or {}).get("multiemo") or {}
    return dict(profile["target"]["train"]) | dict(per_task)


def candidates(base: dict) -> dict[str, dict]:
    """The profile's setting and one change at a time."""
    other = "mean" if base.get("pooling") == "cls" else "cls"
    attention_off = base.get("attention_dropout") == 0.0
    return {
        "profile": base,
        f"{'first-token' if other == 'cls' else 'mean'} pooling": base | {"pooling": other},
        "lr 5e-5": base | {"lr": 5.0e-5},
        "length-grouped batches": base | {"group_by_length": True},
        "all weights trainable": base | {"freeze_embeddings": not base["freeze_embeddings"]},
        # the pretrained value (BERT's 0.1) vs none: SDPA's fast CPU kernel has no dropout
        f"attention dropout {'0.1' if attention_off else 'off'}": base
        | {"attention_dropout": None if attention_off else 0.0},
    }


def selected(all_candidates: dict[str, dict]) -> dict[str, dict]:
    """The profile and the candidates ``XSTILTS_SWEEP_ONLY`` names (all when unset)."""
    only = [n.strip() for n in os.environ.get("XSTILTS_SWEEP_ONLY", "").split(",") if n.strip()]
    unknown = sorted(set(only) - set(all_candidates))
    if unknown:
        raise ValueError(f"XSTILTS_SWEEP_ONLY: unknown {unknown}; known: {sorted(all_candidates)}")
    return {k: v for k, v in all_candidates.items() if not only or k == "profile" or k in only}


def english_dev(curate_dir: Path, settings: dict, seed: int, out: Path, epochs: int) -> float:
    from xstilts.stages import target

    train = settings | {"epochs": epochs, "max_length": SETTING["max_length"]}
    train |= {"max_train_samples": N_TRAIN}
    metrics = target.run(
        {"task": "multiemo", "seed": seed, "languages": ["en"], **train}, curate_dir, None, out
    )
    return float(metrics["dev"]["accuracy"])


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads, default=0)
    rec = Recorder("hparam_sweep", quick)
    seeds = SEEDS[: repeats or (1 if quick else len(SEEDS))]
    epochs = 1 if quick else SETTING["epochs"]
    curate_dir = curate_reference(
        cache_dir() / "bench" / ("multiemo-tuning-quick" if quick else "multiemo-tuning"), quick
    )
    base = profile_target()
    dev: dict[str, dict[int, float]] = {}
    wall_s: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for s in seeds:
            for name, settings in selected(candidates(base)).items():
                out = Path(tmp) / f"{name}-{s}"
                start = time.perf_counter()
                dev.setdefault(name, {})[s] = english_dev(curate_dir, settings, s, out, epochs)
                wall_s.setdefault(name, {})[s] = round(time.perf_counter() - start, 1)
                print(f"   seed {s}, {name}: English dev {dev[name][s]:.3f}", flush=True)
    mean = {name: float(np.mean(list(v.values()))) for name, v in dev.items()}
    n_dev = SETTING["n_dev"] if not quick else 16
    stated = ("all weights trainable", "attention dropout off", "attention dropout 0.1")
    compared = {k: mean[k] for k in stated if k in mean}
    best = max(mean, key=mean.get)
    rec.data |= {
        "settings": {**SETTING, "seeds": list(seeds), "threads": threads},
        "profile": base,
        "english_dev": dev,
        "wall_s": wall_s,  # each run: training, dev evaluations, checkpoints
        "mean": mean,
        "best": best,
    }
    rec.rows.append(
        Row(
            "Embedded profile target settings (English dev accuracy)",
            f"mean of {len(seeds)} seed(s), {N_TRAIN} training and {n_dev} English dev reviews "
            "outside the test pool",
            ", ".join(f"{k} {v:.3f}" for k, v in mean.items() if k != "profile"),
            f"profile {mean['profile']:.3f}",
            None,
            "profile = best (within one dev item)",
            mean["profile"] >= mean[best] - 1 / n_dev,
            f"best: {best}; "
            + "; ".join(f"profile vs {k}: {mean['profile'] - v:+.3f}" for k, v in compared.items()),
        )
    )
    return rec
