"""Statistical building blocks: Benjamini–Hochberg FDR and Spearman ρ with exact small-n p.

The Δ of a study (with its unit of replication, the seed) is in :mod:`.hierarchical`.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np
from scipy import stats


def bh(pvalues) -> np.ndarray:
    """Benjamini–Hochberg adjusted p (q); NaNs stay NaN and are not counted as tests."""
    p = np.asarray(pvalues, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


SPEARMAN_EXACT_N = 8  # up to 8! = 40,320 orderings: enumerate them


def excludes_zero(low: float, high: float) -> bool:
    """Whether the interval [low, high] lies wholly on one side of 0 (no interval: False)."""
    return bool(np.isfinite(low) and np.isfinite(high) and (low > 0 or high < 0))


def spearman(x, y) -> tuple[float, float, int]:
    """Spearman ρ, two-sided p and n over the finite pairs.

    For n <= 8 the p-value is exact (every ordering of y enumerated): the t approximation that
    scipy uses says p = 0 for a perfect ρ on 4 points, where the exact answer is 2/24."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3 or np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        return float("nan"), float("nan"), n
    res = stats.spearmanr(x[ok], y[ok])
    rho = float(res.statistic)
    if n > SPEARMAN_EXACT_N:
        return rho, float(res.pvalue), n
    rx, ry = stats.rankdata(x[ok]), stats.rankdata(y[ok])
    rhos = np.array([np.corrcoef(rx, ry[list(order)])[0, 1] for order in permutations(range(n))])
    return rho, float(np.mean(np.abs(rhos) >= abs(rho) - 1e-12)), n
