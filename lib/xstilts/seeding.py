"""One seed for everything: Python, numpy, torch (CPU and CUDA) and, via the trainer, data order."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_seed(seed: int) -> None:
    """Seed Python, numpy and torch; make cuBLAS deterministic where a GPU is used."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {seed!r}")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def step_seed(seed: int, step: int) -> int:
    """A seed that is a pure function of (run seed, optimisation step).

    The trainer reseeds torch before every step with it, so dropout masks depend only on the step:
    a resumed run needs no saved RNG state to replay exactly what an uninterrupted one does.
    """
    return (seed * 1_000_003 + step * 7_919) % (2**63 - 1)
