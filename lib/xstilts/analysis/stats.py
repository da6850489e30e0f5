"""Uncertainty and tests: seed spread, bootstrap CIs, paired tests on Δ, FDR, domain contrasts, ρ.

Unit of analysis for Δ: the language. Seeds are averaged within each language first (the seed
spread is reported separately as mean ± sd over seeds of the language-averaged Δ).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations, permutations

import numpy as np
import pandas as pd
from scipy import stats

EXACT_PERMUTATION_MAX_N = 16  # 2**16 sign flips: enumerate exactly up to here


@dataclass(frozen=True)
class CI:
    low: float
    high: float
    method: str  # "BCa", "percentile", or "n/a (reason)"


def mean_sd(values) -> tuple[float, float, int]:
    """Mean, sample sd (ddof=1; NaN for one value) and count."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else float("nan"), int(v.size)


def bootstrap_ci(
    values, confidence: float = 0.95, n_resamples: int = 9999, seed: int = 0, method: str = "BCa"
) -> CI:
    """Bootstrap CI of the mean. BCa where it is defined; else the percentile interval (say which)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if v.size < 2:
        return CI(float("nan"), float("nan"), f"n/a (n={v.size})")
    if np.ptp(v) == 0:
        return CI(float(v[0]), float(v[0]), "degenerate (all equal)")
    for m in [method, "percentile"] if method.lower() == "bca" else [method]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap(
                (v,),
                np.mean,
                confidence_level=confidence,
                method=m,
                n_resamples=n_resamples,
                random_state=np.random.default_rng(seed),
            )
        low, high = res.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return CI(float(low), float(high), "BCa" if m.lower() == "bca" else m)
    return CI(float("nan"), float("nan"), "n/a (bootstrap failed)")


def wilcoxon_p(d) -> float:
    """Two-sided Wilcoxon signed-rank p (exact for small n without ties/zeros, scipy's choice)."""
    d = np.asarray(d, dtype=float)
    d = d[~np.isnan(d)]
    if d.size < 2 or np.all(d == 0):
        return float("nan")
    return float(stats.wilcoxon(d, alternative="two-sided").pvalue)


def permutation_p(d, n_resamples: int = 9999, seed: int = 0) -> float:
    """Two-sided paired (sign-flip) permutation test of mean Δ = 0; exact enumeration for n ≤ 16."""
    d = np.asarray(d, dtype=float)
    d = d[~np.isnan(d)]
    if d.size < 2:
        return float("nan")
    n = np.inf if d.size <= EXACT_PERMUTATION_MAX_N else n_resamples
    res = stats.permutation_test(
        (d,),
        np.mean,
        permutation_type="samples",
        n_resamples=n,
        alternative="two-sided",
        random_state=np.random.default_rng(seed),
    )
    return float(res.pvalue)


def bh(pvalues) -> np.ndarray:
    """Benjamini–Hochberg adjusted p (q); NaNs stay NaN and are not counted as tests."""
    p = np.asarray(pvalues, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


SPEARMAN_EXACT_N = 8  # up to 8! = 40,320 orderings: enumerate them


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


def _summarise(per_lang: pd.Series, per_seed: pd.Series, alpha_seed: int) -> dict:
    ci = bootstrap_ci(per_lang.to_numpy(), seed=alpha_seed)
    mean_seed, sd_seed, n_seeds = mean_sd(per_seed.to_numpy())
    return {
        "delta": float(per_lang.mean()),
        "sd_seeds": sd_seed,
        "n_seeds": n_seeds,
        "n_languages": int(per_lang.size),
        "ci_low": ci.low,
        "ci_high": ci.high,
        "ci_method": ci.method,
        "p_wilcoxon": wilcoxon_p(per_lang),
        "p_perm": permutation_p(per_lang),
    }


def cell_tests(deltas: pd.DataFrame) -> pd.DataFrame:
    """One row per (intermediate, target): mean Δ, seed sd, bootstrap CI over languages, Wilcoxon and
    sign-flip permutation p over languages, BH q across all cells (``q`` from the permutation test)."""
    rows = []
    for i, ((inter, dom, target), grp) in enumerate(
        deltas.groupby(["intermediate", "intermediate_domain", "target"], sort=True)
    ):
        per_lang = grp.groupby("language")["delta"].mean()
        per_seed = grp.groupby("seed")["delta"].mean()
        rows.append(
            {
                "intermediate": inter,
                "intermediate_domain": dom,
                "target": target,
                "group": grp["group"].iloc[0],
                "paired": bool(grp["paired"].all()),
                **_summarise(per_lang, per_seed, i),
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["q"] = bh(out["p_perm"])
        out["q_wilcoxon"] = bh(out["p_wilcoxon"])
    return out


def _difference(diff: pd.Series, seed: int) -> dict:
    """Size, mean, bootstrap CI and permutation p of paired differences (one per unit)."""
    ci = bootstrap_ci(diff.to_numpy(), seed=seed)
    return {
        "n_units": int(diff.size),
        "difference": float(diff.mean()),
        "ci_low": ci.low,
        "ci_high": ci.high,
        "ci_method": ci.method,
        "p_perm": permutation_p(diff.to_numpy()),
    }


def domain_contrasts(deltas: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Domain means and pairwise domain contrasts, per target and over all targets.

    Each domain's Δ per (target, language) is the mean over its intermediate tasks and seeds.
    Returns ``(domains, contrasts)``; units for CI/tests are languages (per target) or
    (target, language) cells (``target == "all"``).
    """
    dom = (
        deltas.groupby(["intermediate_domain", "target", "language"])["delta"]
        .mean()
        .rename("delta")
        .reset_index()
    )
    n_tasks = deltas.groupby("intermediate_domain")["intermediate"].nunique()
    d_rows, c_rows = [], []
    scopes = [(t, dom[dom["target"] == t]) for t in sorted(dom["target"].unique())] + [("all", dom)]
    for k, (target, frame) in enumerate(scopes):
        wide = frame.pivot_table(
            index=["target", "language"], columns="intermediate_domain", values="delta"
        )
        for d in wide.columns:
            v = wide[d].dropna()
            ci = bootstrap_ci(v.to_numpy(), seed=k)
            d_rows.append(
                {
                    "domain": d,
                    "target": target,
                    "n_tasks": int(n_tasks.get(d, 0)),
                    "n_units": int(v.size),
                    "delta": float(v.mean()),
                    "ci_low": ci.low,
                    "ci_high": ci.high,
                    "ci_method": ci.method,
                }
            )
        for a, b in combinations(sorted(wide.columns), 2):
            diff = (wide[a] - wide[b]).dropna()
            c_rows.append(
                {
                    "contrast": f"{a} − {b}",
                    "a": a,
                    "b": b,
                    "target": target,
                    **_difference(diff, seed=k),
                }
            )
    contrasts = pd.DataFrame(c_rows)
    if not contrasts.empty:
        contrasts["q"] = bh(contrasts["p_perm"])
    return pd.DataFrame(d_rows), contrasts


def format_matched_pairs(deltas: pd.DataFrame) -> pd.DataFrame:
    """Contrasts between intermediate tasks that share a format but differ in domain."""
    fmt = deltas.groupby("intermediate")[["intermediate_format", "intermediate_domain"]].first()
    fmt = fmt[~fmt["intermediate_format"].isin(["unknown", "none"])]
    per = (
        deltas.groupby(["intermediate", "target", "language"])["delta"]
        .mean()
        .unstack("intermediate")
    )
    rows = []
    for k, (a, b) in enumerate(combinations(sorted(fmt.index), 2)):
        if fmt.loc[a, "intermediate_format"] != fmt.loc[b, "intermediate_format"]:
            continue
        if fmt.loc[a, "intermediate_domain"] == fmt.loc[b, "intermediate_domain"]:
            continue
        diff = (per[a] - per[b]).dropna()
        rows.append(
            {
                "a": a,
                "b": b,
                "format": fmt.loc[a, "intermediate_format"],
                "domains": f"{fmt.loc[a, 'intermediate_domain']} vs {fmt.loc[b, 'intermediate_domain']}",
                **_difference(diff, seed=k),
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["q"] = bh(out["p_perm"])
    return out
