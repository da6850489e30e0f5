"""The confirmatory family: the comparisons a study declares before it runs
(``analysis.confirmatory``; default: every intermediate × target cell and each target's
domain-match contrast), corrected together (``analysis.correction``: Holm, which holds the
family-wise error rate, or Benjamini–Hochberg, the false-discovery rate). Every other comparison
is exploratory: it keeps its own p, gets no q, and is never bold or called significant.

``q`` is the adjusted p of a confirmatory row; ``family`` says which a row is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .stats import bh

# the tables whose rows can be declared confirmatory (hierarchical.py builds them)
FAMILY_TABLES = ("cells", "domain_match", "domains", "domain_contrasts", "format_matched_pairs")
CONFIRMATORY, EXPLORATORY = "confirmatory", "exploratory"


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjusted p; NaNs stay NaN and are not counted as tests."""
    p = np.asarray(pvalues, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    order = ok[np.argsort(p[ok], kind="stable")]
    m, running = len(order), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        q[i] = running
    return q


ADJUST = {"holm": holm, "bh": bh}


def mark(tables: dict[str, pd.DataFrame], confirmatory: list[str], correction: str) -> int:
    """Add ``family`` and ``q`` to every family table, adjusting the confirmatory rows' p
    together; return the size of the family (the tests counted)."""
    parts = [(k, tables[k]) for k in FAMILY_TABLES if k in tables and not tables[k].empty]
    chosen = [(k, df) for k, df in parts if k in confirmatory]
    pooled = np.concatenate([df["p"].to_numpy(dtype=float) for _, df in chosen] or [np.array([])])
    adjusted = ADJUST[correction](pooled) if pooled.size else pooled
    start = 0
    for name, df in parts:
        df["family"] = CONFIRMATORY if name in confirmatory else EXPLORATORY
        df["q"] = np.nan
        if name in confirmatory:
            df["q"] = adjusted[start : start + len(df)]
            start += len(df)
    return int(np.isfinite(pooled).sum())


def significant(df: pd.DataFrame, alpha: float) -> pd.Series:
    """Rows of the confirmatory family whose adjusted p is below ``alpha`` (the only ones bold)."""
    if df is None or df.empty or "q" not in df:
        return pd.Series(False, index=getattr(df, "index", None))
    return (df["family"] == CONFIRMATORY) & (df["q"] < alpha)
