"""Multi-task sampling (as jiant's task samplers): which task each optimisation step trains.

- ``proportional``: p_t ∝ n_t (examples in task t);
- ``temperature``: p_t ∝ n_t^(1/T) (T=1 proportional, T→∞ uniform);
- ``uniform``: p_t = 1 / #tasks.

The task of step ``s`` is a pure function of ``(seed, s)``, so resuming needs no sampler state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..configs import SAMPLINGS  # the setting: configs.IntermediateConfig.sampling


def task_probabilities(
    sizes: dict[str, int], sampling: str = "proportional", temperature: float = 1.0
) -> dict[str, float]:
    if not sizes:
        raise ValueError("no tasks to sample from")
    if any(n <= 0 for n in sizes.values()):
        raise ValueError(f"every task needs training examples, got sizes {sizes}")
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}")
    if sampling == "temperature" and temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    n = np.array(list(sizes.values()), dtype=np.float64)
    weights = {
        "proportional": n,
        "uniform": np.ones_like(n),
        "temperature": n ** (1.0 / temperature),
    }[sampling]
    return dict(zip(sizes, (weights / weights.sum()).tolist(), strict=True))


@dataclass(frozen=True)
class TaskSampler:
    names: tuple[str, ...]
    probabilities: tuple[float, ...]
    seed: int

    @classmethod
    def build(
        cls,
        sizes: dict[str, int],
        sampling: str = "proportional",
        temperature: float = 1.0,
        seed: int = 0,
    ) -> TaskSampler:
        probs = task_probabilities(sizes, sampling, temperature)
        return cls(tuple(probs), tuple(probs.values()), seed)

    def task_for_step(self, step: int) -> str:
        if len(self.names) == 1:
            return self.names[0]
        rng = np.random.default_rng([self.seed, 7, step])
        return self.names[int(rng.choice(len(self.names), p=self.probabilities))]
