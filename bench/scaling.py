"""Benchmark 6: scaling. Training time vs examples (fitted slope), the grid's modelled cost vs
number of targets (intermediate checkpoints reused or not), and the GPU-hours of the full
Phang-style XLM-R large grid (see :mod:`bench.cost_model`).
"""

from __future__ import annotations

import tempfile

import numpy as np

from . import common, cost_model
from .harness import Recorder, Row

SIZES = (250, 500, 1000, 2000)
QUICK_SIZES = (8, 16)


def _train_once(n: int, batch_size: int, max_length: int) -> dict:
    from xstilts.models.heads import TaskModel
    from xstilts.training import TrainConfig, TrainTask, featurize, train

    tok = common.tokenizer()
    rows = common.rows("licence_rules", "train", limit=n)
    feats = featurize(rows, "single", tok, max_length, train=True)
    model = TaskModel.for_tasks(common.encoder(), {"licence_rules": ("single", 4)})
    config = TrainConfig(
        epochs=1,
        batch_size=batch_size,
        max_length=max_length,
        seed=1,
        checkpoint_every=10**9,
        device="cpu",
    )
    with tempfile.TemporaryDirectory() as ckpt:
        res = train(
            model, [TrainTask("licence_rules", feats)], config, ckpt, pad_id=tok.pad_token_id
        )
    return {
        "n": n,
        "seconds": res.seconds,
        "tokens": res.tokens,
        "steps": res.steps,
        "params": common.n_params(model),
    }


def _fit(xs, ys) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R² of ys on xs."""
    slope, intercept = np.polyfit(xs, ys, 1)
    pred = slope * np.asarray(xs) + intercept
    ss_res = float(((np.asarray(ys) - pred) ** 2).sum())
    ss_tot = float(((np.asarray(ys) - np.mean(ys)) ** 2).sum()) or 1.0
    return float(slope), float(intercept), 1 - ss_res / ss_tot


def reuse_table(
    tokens_per_s: float, mean_tokens: dict[str, float], targets_range=(1, 3, 9)
) -> list[dict]:
    """Modelled CPU hours of a default-study-shaped grid (5 intermediates, 2,000 examples each,
    1 epoch; targets of 2,000 examples, 2 epochs, 3 seeds, + baseline) vs number of targets."""
    inter = [
        cost_model.TaskSize(f"i{k}", 2000, 1, round(mean_tokens["intermediate"])) for k in range(5)
    ]
    out = []
    for n in targets_range:
        targets = [
            cost_model.TaskSize(f"t{k}", 2000, 2, round(mean_tokens["target"])) for k in range(n)
        ]
        row = {"targets": n}
        for reuse in (True, False):
            tok = cost_model.grid_tokens(inter, targets, target_seeds=3, reuse=reuse)
            row["reuse_h" if reuse else "no_reuse_h"] = tok["total"] / tokens_per_s / 3600
        out.append(row)
    return out


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads, default=0)  # as a study runs: every core
    sizes = QUICK_SIZES if quick else SIZES
    batch_size, max_length = (4, 64) if quick else (16, common.MAX_LENGTH)
    rec = Recorder("scaling", quick)
    rec.data["settings"] = {
        "sizes": list(sizes),
        "batch_size": batch_size,
        "max_length": max_length,
        "threads": threads,
        "trainer": "xstilts.training.train, defaults (embeddings frozen)",
    }
    points = [_train_once(n, batch_size, max_length) for n in sizes]
    slope, intercept, r2 = _fit([p["n"] for p in points], [p["seconds"] for p in points])
    tokens_per_s = sum(p["tokens"] for p in points) / sum(p["seconds"] for p in points)
    rec.data["points"] = points
    rec.data["fit"] = {
        "seconds_per_example": slope,
        "intercept_s": intercept,
        "r2": r2,
        "tokens_per_s": tokens_per_s,
    }
    rec.rows.append(
        Row(
            "scaling: training time vs N",
            f"N = {', '.join(map(str, sizes))} ScanCode licence rules",
            "",
            f"{slope * 1000:.0f} ms/example + {intercept:.1f} s (R² {r2:.3f}); "
            f"{tokens_per_s:,.0f} real tok/s",
            None,
            "linear",
        )
    )

    mean_tokens = {
        "intermediate": points[-1]["tokens"] / points[-1]["n"],
        "target": 120.0,
    }  # MultiEmo: 79 % of reviews reach 128 tokens, mean ~120
    table = reuse_table(tokens_per_s, mean_tokens)
    rec.data["reuse_model"] = {"mean_tokens": mean_tokens, "table": table}
    last = table[-1]
    rec.rows.append(
        Row(
            "grid cost vs targets (modelled)",
            "CPU hours, 5 intermediates × 1..9 targets × 3 seeds",
            "no reuse: " + ", ".join(f"{r['targets']}→{r['no_reuse_h']:.1f} h" for r in table),
            "reuse: " + ", ".join(f"{r['targets']}→{r['reuse_h']:.1f} h" for r in table),
            last["no_reuse_h"] / last["reuse_h"],
            "",
            None,
            "ratio at 9 targets",
        )
    )

    # measured CPU throughput -> achieved FLOP/s (6 N per token); GPU side is an assumption
    flops = 6 * points[-1]["params"] * tokens_per_s
    grid = cost_model.phang_grid(target_seeds=3)
    rec.data["phang_grid"] = grid
    rec.data["cpu_achieved_flops"] = flops
    cpu_hours = grid["reuse"]["pflop"] * 1e15 / flops / 3600
    rec.rows.append(
        Row(
            "Phang-style XLM-R large grid (modelled)",
            "11 intermediates × 9 XTREME targets × 3 seeds, upper-bound tokens",
            f"no reuse: {grid['no_reuse']['a100_hours']:,.0f} A100-h",
            f"reuse: {grid['reuse']['a100_hours']:,.0f} A100-h "
            f"({grid['reuse']['h100_hours']:,.0f} H100-h; "
            f"{grid['reuse']['tokens']['total'] / 1e9:.1f} G tokens)",
            grid["no_reuse"]["a100_hours"] / grid["reuse"]["a100_hours"],
            "",
            None,
            f"{cost_model.ASSUMED_MFU:.0%} MFU assumed (no GPU here); at this CPU's measured "
            f"{flops / 1e9:.0f} GFLOP/s it would be {cpu_hours:,.0f} CPU-h",
        )
    )
    return rec
