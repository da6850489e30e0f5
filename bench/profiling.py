"""Where a CPU training step spends its time (``python -m bench profiling``, opt-in).

The step is the trainer's (collate with dynamic padding -> forward -> backward -> clip ->
AdamW), on real ScanCode licence rules, labelled with ``torch.profiler.record_function`` so that the
phases add up; once with every weight trainable and once with frozen word embeddings (our
default). Also the top operators by self CPU time, grouped into embedding / attention / linear /
norm+activation / optimizer / other.
"""

from __future__ import annotations

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from . import common
from .harness import Recorder, Row

PHASES = ("data", "forward", "backward", "optimizer")
GROUPS = {  # substring of an aten op name -> group (first match wins)
    "embedding": "embedding",
    "index_select": "embedding",
    "scaled_dot_product": "attention",
    "softmax": "attention",
    "bmm": "attention",
    "baddbmm": "attention",
    "addmm": "linear",
    "mm": "linear",
    "linear": "linear",
    "layer_norm": "norm+activation",
    "gelu": "norm+activation",
    "dropout": "norm+activation",
    "addcdiv": "optimizer",
    "lerp": "optimizer",
    "sqrt": "optimizer",
    "_foreach": "optimizer",
}


def group_of(op: str) -> str:
    name = op.split("::", 1)[-1]
    return next((g for key, g in GROUPS.items() if key in name), "other")


def _profile(
    freeze: bool, steps: int, batch_size: int, max_length: int, fused: bool = False
) -> dict:
    from xstilts.models.heads import TaskModel
    from xstilts.training import featurize
    from xstilts.training.batching import collate, length_grouped_batches
    from xstilts.training.trainer import TrainConfig, _optimizer, freeze_embeddings

    tok = common.tokenizer()
    rows = common.rows("licence_rules", "train", limit=steps * batch_size)
    feats = featurize(rows, "single", tok, max_length, train=True)
    torch.manual_seed(1)
    model = TaskModel.for_tasks(common.encoder(), {"v": ("single", 4)}).train()
    if freeze:
        freeze_embeddings(model)
    opt = _optimizer(model, TrainConfig(batch_size=batch_size))
    if fused:  # experiment: the trainer's AdamW with fused=True (one kernel per parameter)
        groups = [
            {"params": g["params"], "weight_decay": g["weight_decay"]} for g in opt.param_groups
        ]
        opt = torch.optim.AdamW(groups, lr=opt.defaults["lr"], fused=True)
    batches = length_grouped_batches([len(f["input_ids"]) for f in feats], batch_size, 1000)

    def step(indices):
        with record_function("data"):
            batch = collate([feats[i] for i in indices], tok.pad_token_id)
        with record_function("forward"):
            loss = model(batch, "v").loss
        with record_function("backward"):
            loss.backward()
        with record_function("optimizer"):
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)

    step(batches[0])  # warm-up, untimed
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for indices in batches[1:]:
            step(indices)
    events = prof.key_averages()
    phases = {e.key: e.cpu_time_total / 1e6 for e in events if e.key in PHASES}
    total = sum(phases.values())
    ops = [e for e in events if "::" in e.key]
    groups: dict[str, float] = {}
    for e in ops:
        groups[group_of(e.key)] = groups.get(group_of(e.key), 0.0) + e.self_cpu_time_total / 1e6
    top = sorted(ops, key=lambda e: -e.self_cpu_time_total)[:12]
    return {
        "steps": len(batches) - 1,
        "seconds": total,
        "phases_s": phases,
        "phase_share": {k: v / total for k, v in phases.items()},
        "op_groups_s": dict(sorted(groups.items(), key=lambda kv: -kv[1])),
        "top_ops": [
            {"op": e.key, "self_s": e.self_cpu_time_total / 1e6, "calls": e.count} for e in top
        ],
    }


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads)
    steps, batch_size, max_length = (3, 4, 64) if quick else (7, 16, common.MAX_LENGTH)
    rec = Recorder("profiling", quick)
    rec.data["settings"] = {
        "steps_profiled": steps - 1,
        "batch_size": batch_size,
        "max_length": max_length,
        "threads": threads,
    }
    for key, freeze, fused in (
        ("all_trainable", False, False),
        ("frozen_embeddings", True, False),
        ("frozen_embeddings_fused_adamw", True, True),
    ):
        res = rec.data[key] = _profile(freeze, steps, batch_size, max_length, fused)
        share = res["phase_share"]
        rec.rows.append(
            Row(
                "profile: CPU training step",
                f"{key.replace('_', ' ')}: time per phase",
                "",
                f"{res['seconds'] / res['steps']:.2f} s/step: "
                + ", ".join(f"{p} {share.get(p, 0):.0%}" for p in PHASES),
            )
        )
    return rec
