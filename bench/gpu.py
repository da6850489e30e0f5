"""Benchmark 7: GPU training throughput and MFU (runs only where ``torch.cuda.is_available()``).

Arms (alternated): fp32 with eager attention (a plain script) vs ours, bf16 autocast + SDPA.
MFU = 6 x parameters x tokens/s / peak, where the peak is *measured* from a large bf16 matmul on
the same card (so it is the achievable dense peak, not the datasheet figure).
"""

from __future__ import annotations

import time
from contextlib import nullcontext

import torch

from . import common
from .harness import Recorder, Row, alternate, ratio


def matmul_peak(n: int = 8192, iters: int = 20) -> float:
    """Achieved bf16 FLOP/s of an ``n x n`` matmul (the MFU denominator)."""
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * iters / (time.perf_counter() - start)


def _train_steps(attn: str, bf16: bool, steps: int, batch_size: int, length: int) -> dict:
    from transformers import AutoModel

    from xstilts.models.heads import TaskModel

    encoder = AutoModel.from_pretrained(
        common.embedded_dir(),
        attn_implementation=attn,
        add_pooling_layer=False,
        local_files_only=True,
    )
    model = TaskModel.for_tasks(encoder, {"t": ("single", 3)}).cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(5, 250_000, (batch_size, length), generator=gen).cuda()
    batch = {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "labels": torch.randint(0, 3, (batch_size,), generator=gen).cuda(),
    }
    ctx = torch.autocast("cuda", torch.bfloat16) if bf16 else nullcontext()
    for i in range(steps + 2):  # two warm-up steps
        if i == 2:
            torch.cuda.synchronize()
            start = time.perf_counter()
        with ctx:
            loss = model(batch, "t").loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "tokens": steps * batch_size * length,
        "params": common.n_params(model),
    }


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    rec = Recorder("gpu", quick)
    if not torch.cuda.is_available():
        rec.rows.append(
            Row(
                "GPU training (bf16 + SDPA)",
                "tokens/s, MFU",
                "",
                "no GPU available on this machine (not measured)",
            )
        )
        return rec
    common.set_threads(threads)
    steps, batch_size, length = (3, 8, 128) if quick else (30, 64, 128)
    repeats = repeats or (1 if quick else 3)
    peak = matmul_peak(4096 if quick else 8192)
    runs = alternate(
        {
            "fp32_eager": lambda: _train_steps("eager", False, steps, batch_size, length),
            "ours_bf16_sdpa": lambda: _train_steps("sdpa", True, steps, batch_size, length),
        },
        repeats,
    )
    s = rec.runs("train", runs)
    e = runs["ours_bf16_sdpa"][0].extra
    rates = {arm: e["tokens"] / s[arm]["median_s"] for arm in s}
    mfu = {arm: 6 * e["params"] * rate / peak for arm, rate in rates.items()}
    rec.data.update(
        {
            "matmul_peak_flops": peak,
            "tokens_per_s": rates,
            "mfu": mfu,
            "settings": {"steps": steps, "batch_size": batch_size, "length": length},
        }
    )
    rec.rows.append(
        Row(
            "GPU training (e5-small, bf16 + SDPA)",
            "tokens/s (MFU vs measured bf16 matmul peak)",
            f"{rates['fp32_eager']:,.0f} tok/s (MFU {mfu['fp32_eager']:.1%})",
            f"{rates['ours_bf16_sdpa']:,.0f} tok/s (MFU {mfu['ours_bf16_sdpa']:.1%})",
            ratio(runs["fp32_eager"], runs["ours_bf16_sdpa"]),
        )
    )
    return rec
