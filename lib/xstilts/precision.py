"""Numeric precision of training and evaluation: one setting, ``precision: auto | fp32 | bf16 | fp16``.

bf16 runs as autocast (matmuls and attention in bfloat16, weights, gradients and AdamW state stay
float32), on CUDA and on CPUs with bf16 matrix units (AVX512-BF16 / AMX: most server CPUs since
2020). ``auto`` takes bf16 where the device has it and fp32 elsewhere; an explicit ``bf16`` on a
device without it is an error rather than a silent emulated (slow) bf16. Provenance and
``metrics.json`` record the precision actually used (:func:`resolve`).

fp16 is for GPUs without bf16 (V100, T4): float16 autocast, and the trainer scales the loss with a
``torch.amp.GradScaler`` (kept in every checkpoint, so a resumed run continues with the same
scale). It is only ever asked for explicitly; on a CPU it runs (the tests use it) but slowly.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import lru_cache
from pathlib import Path

import torch

from .trainconfig import PRECISIONS  # defined with the setting it names

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_bf16_flags() -> tuple[str, ...]:
    """The CPU's bf16 feature flags (Linux ``/proc/cpuinfo``); empty where none or unknown."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return ()
    flags = next(
        (line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")),
        [],
    )
    return tuple(f for f in CPU_BF16_FLAGS if f in flags)


def supports_bf16(device: torch.device | str) -> bool:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(cpu_bf16_flags())
    return False


def resolve(precision: str, device: torch.device | str) -> str:
    """``fp32``, ``bf16`` or ``fp16``: what ``precision`` means on ``device``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision in ("fp32", "fp16"):
        return precision
    ok = supports_bf16(device)
    if precision == "bf16" and not ok:
        raise ValueError(
            f"precision 'bf16' asked for, but device {torch.device(device)} has no bf16 support "
            f"(CPU flags needed: {' or '.join(CPU_BF16_FLAGS)}); use precision 'auto' or 'fp32'"
        )
    return "bf16" if ok else "fp32"


def autocast(precision: str, device: torch.device | str):
    """The autocast context of a resolved precision (``fp32``: none)."""
    device = torch.device(device)
    resolved = resolve(precision, device)
    if resolved in ("bf16", "fp16"):
        dtype = torch.bfloat16 if resolved == "bf16" else torch.float16
        return torch.autocast(device.type, dtype=dtype)
    return nullcontext()


def grad_scaler(precision: str, device: torch.device | str) -> torch.amp.GradScaler | None:
    """The loss scaler fp16 needs (its gradients would underflow unscaled); None otherwise."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type) if resolve(precision, device) == "fp16" else None
