"""Δ with intervals over seeds: the seed replicate is the unit of replication.

Why not languages as the unit: every language of a target is scored by the same fine-tuned
models (and for parallel sets, on translations of the same items), so per-language Δs are not
independent draws, and seed variance, usually the largest noise in fine-tuning, would be missing.

The replicate is one (intermediate seed, target seed) pair, i.e. one trained target run, with the
baseline run of the same target seed (a retrieval target trains nothing: its one baseline run
serves every replicate). For one cell (intermediate × target):

    Δ_r = mean over zero-shot languages (English excluded) of the item mean of
          (score of the intermediate-trained run − score of the baseline run), on the same items

and the cell's Δ is the mean of Δ_r over replicates.

Primary inference (``ci_low``, ``ci_high``, ``p``): where item scores exist, seeds and test items
as crossed random effects (``crossed_interval``: every seed is scored on the same items, so an item
that intermediate training helps or hurts shifts every replicate alike, which a t over seeds alone
does not see), by the generalized (fiducial) interval of that model, which holds its level in the
far tail where Satterthwaite's t does not; otherwise a t interval and two-sided t test over the
replicate Δs (n − 1 degrees of
freedom). A percentile bootstrap over 3 replicates covers about
75 % of the time (a draw lands wholly on the lowest replicate with probability 1/27), so it is
never the primary interval; ``tests/test_stats.py`` simulates coverage. The hierarchical bootstrap
(replicates, then one draw of test items shared by every replicate and language, since every seed
and every parallel language is scored on the same items) stays as a secondary view
(``boot_low``, ``boot_high``, ``p_boot``). With one replicate the item bootstrap is all there is:
it is then primary and the ``method`` column says that seed variance is missing.

A crossed seed design (every intermediate seed × every target seed) shares checkpoints and
baselines between pairs, so its pairs are not independent replicates: it is collapsed to the
matched pairs (intermediate seed s with target seed s; ``collapse_crossed``).

``mde``: the smallest true Δ that a two-sided t test at α = 0.05 over these replicates detects
with 80 % power, from the observed seed SD: (t₀.₉₇₅ + t₀.₈₀)(n − 1) · sd / √n.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from ..io import read_jsonl
from .results import BASELINE, SEED_FREE_FORMATS
from .scores import collapse_crossed

N_BOOT = 4000
FIDUCIAL_DRAWS = 4000
SEED_AND_ITEMS = (
    "seeds and test items crossed, generalized interval (bootstrap over seeds, then shared items,"
    " beside it)"
)
ITEMS_ONE_SEED = "bootstrap over items (one seed: no seed variance in the interval)"
SEEDS_ONLY = "t over seed replicates (no item scores)"
CROSSED = (
    "generalized interval, seeds and items crossed"  # summarise's p_method where item scores exist
)
POWER, ALPHA_MDE = 0.80, 0.05
ZERO_SHOT_EXCLUDES = ("en",)  # the training language is not a zero-shot unit


@dataclass(frozen=True)
class Replicate:
    """One trained run and its baseline: ``deltas`` is (languages × items) in points."""

    intermediate_seed: int | None
    seed: int
    deltas: np.ndarray


def item_scores(run_dir: Path, lang: str) -> dict[str, float] | None:
    """Item id -> score in points from ``predictions/<lang>.jsonl``; None where the file is
    missing or its rows are not item-mean metrics (classification or retrieval accuracy)."""
    path = run_dir / "predictions" / f"{lang}.jsonl"
    if not path.exists():
        return None
    out = {}
    for row in read_jsonl(path):
        if isinstance(row.get("score"), float):  # retrieval: the item's points, as scored
            out[str(row["id"])] = row["score"]
        elif "x_to_en" in row:  # (older runs) retrieval accuracy: the mean of both directions
            out[str(row["id"])] = 50.0 * (bool(row["x_to_en"]) + bool(row["en_to_x"]))
        elif isinstance(row.get("correct"), bool):  # a frozen fixture keeps hits, not labels
            out[str(row["id"])] = 100.0 * row["correct"]
        elif isinstance(row.get("prediction"), int) and isinstance(row.get("reference"), int):
            out[str(row["id"])] = 100.0 * (row["prediction"] == row["reference"])
        else:
            return None
    return out


class ItemScores:
    """Per-item score matrices (languages × items, NaN where absent) of one target's runs, each
    run's predictions read once however many cells use it (a baseline serves every cell)."""

    def __init__(self, study_dir: Path, languages: list[str], first_run: str) -> None:
        self.study_dir, self.languages = study_dir, languages
        ids = set()
        for lang in languages:
            ids |= set(item_scores(study_dir / first_run, lang) or ())
        self.columns = {item: k for k, item in enumerate(sorted(ids))}
        self._cache: dict[str, np.ndarray | None] = {}

    def matrix(self, run: str) -> np.ndarray | None:
        """The run's matrix; None where a language has no item scores."""
        if run not in self._cache:
            self._cache[run] = self._read(run)
        return self._cache[run]

    def _read(self, run: str) -> np.ndarray | None:
        if not self.columns:
            return None
        out = np.full((len(self.languages), len(self.columns)), np.nan)
        for li, lang in enumerate(self.languages):
            scores = item_scores(self.study_dir / run, lang)
            if scores is None:
                return None
            for item, value in scores.items():
                if item in self.columns:
                    out[li, self.columns[item]] = value
        return out


def replicates(
    scores: pd.DataFrame, target: str, intermediate: str, items: ItemScores
) -> tuple[list[Replicate], str]:
    """The replicates of one cell (item-level where every run has item scores)."""
    frame = scores[scores["target"] == target]
    base = frame[frame["intermediate"] == BASELINE]
    trained = frame[frame["intermediate"] == intermediate]
    base_run = base.groupby("seed")["run"].first()
    pairs = (
        trained.groupby(["intermediate_seed", "seed"], dropna=False)["run"].first().reset_index()
    )
    if len(base_run) and frame["format"].isin(SEED_FREE_FORMATS).all():
        base_run = pd.Series(base_run.iloc[0], index=pairs["seed"].unique())  # serves every seed
    pairs = collapse_crossed(pairs[pairs["seed"].isin(base_run.index)])
    matrices = [(items.matrix(r.run), items.matrix(base_run[r.seed])) for r in pairs.itertuples()]
    method = SEED_AND_ITEMS
    if any(t is None or b is None for t, b in matrices):
        method = SEEDS_ONLY  # run-level scores: one "item" per language
        matrices = [
            (
                _run_scores(trained, r.run, items.languages),
                _run_scores(base, base_run[r.seed], items.languages),
            )
            for r in pairs.itertuples()
        ]
    by_seed: dict[int, list] = {}
    for r, (t, b) in zip(pairs.itertuples(), matrices, strict=True):
        inter_seed = None if pd.isna(r.intermediate_seed) else int(r.intermediate_seed)
        by_seed.setdefault(int(r.seed), []).append((inter_seed, t - b))
    # checkpoints that shared one target seed (and so its baseline) make one replicate, averaged
    reps = [
        Replicate(group[0][0] if len(group) == 1 else None, seed, np.mean([d for _, d in group], 0))
        for seed, group in by_seed.items()
    ]
    return reps, method


def _run_scores(frame: pd.DataFrame, run: str, languages: list[str]) -> np.ndarray:
    """A run's per-language scores as a (languages × 1) matrix."""
    return (
        frame[frame["run"] == run]
        .set_index("language")["score"]
        .reindex(languages)
        .to_numpy()[:, None]
    )


def _item_table(reps: list[Replicate], keep: np.ndarray, keys) -> pd.DataFrame:
    """Replicates × items: each item's Δ averaged over the kept languages."""
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an item no kept language has: NaN
        rows = [np.nanmean(r.deltas[keep, :], axis=0) for r in reps]
    return pd.DataFrame(np.vstack(rows), index=keys)


def _language_mean(deltas: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Mean over kept languages of the item mean (last axis), ignoring absent items."""
    with np.errstate(invalid="ignore"):
        per_lang = np.nanmean(deltas[..., keep, :], axis=-1)
    return np.nanmean(per_lang, axis=-1)


def draws(reps: list[Replicate], keep: np.ndarray, rng_seed: int, n_boot: int = N_BOOT):
    """Bootstrap distribution of the cell Δ (seeds, then items); same draws for the same seed.
    One draw of item positions serves every replicate and language of a bootstrap draw: every
    seed is scored on the same items, so drawing them apart would shrink the item variance."""
    rng = np.random.default_rng(rng_seed)
    stack = np.stack([r.deltas for r in reps])  # (R, L, N)
    n_reps, _, n_items = stack.shape
    pick = rng.integers(n_reps, size=(n_boot, n_reps))
    items = rng.integers(n_items, size=(n_boot, n_items))[:, None, :]
    out = np.zeros(n_boot)
    for j in range(n_reps):
        gathered = np.take_along_axis(stack[pick[:, j]], items, axis=2)  # (B, L, N)
        out += _language_mean(gathered, keep)
    return out / n_reps


@dataclass(frozen=True)
class Draws:
    """What a cell (or a mean or difference of cells) knows about its uncertainty: its Δ per
    replicate, keyed by (intermediate seed, target seed); its bootstrap draws where every cell
    involved has item scores (None otherwise); and ``items``, the replicates × test items Δs
    (language-averaged, same index as ``reps``) for the crossed seed × item interval (None: the
    t rule over replicates alone)."""

    reps: pd.Series
    boot: np.ndarray | None
    items: pd.DataFrame | None = None

    def __sub__(self, other: Draws) -> Draws:
        reps = self.reps.sub(other.reps).dropna()  # paired replicate by replicate
        boot = None if self.boot is None or other.boot is None else self.boot - other.boot
        items = None
        if self.items is not None and other.items is not None:
            items = self.items.loc[reps.index] - other.items.loc[reps.index]
        return Draws(reps, boot, items)


def mean_of(cells: list[Draws]) -> Draws:
    """The mean of several cells (e.g. a domain's tasks), replicate by replicate and draw by draw."""
    reps = pd.concat([c.reps for c in cells], axis=1, join="inner").mean(axis=1)
    boots = [c.boot for c in cells]
    items = None
    if all(c.items is not None for c in cells):
        items = sum(c.items.loc[reps.index] for c in cells) / len(cells)
    return Draws(reps, None if any(b is None for b in boots) else np.mean(boots, 0), items)


def crossed_variance(items: np.ndarray) -> tuple[float, float, float]:
    """(grand mean, its variance, Satterthwaite df) of a replicates × items table of Δs, with
    seeds and test items as crossed random effects (every seed is scored on the same items, so an
    item's effect is shared by all seeds and a t over seeds alone does not see it).

    The variance from the two-way ANOVA mean squares (method of moments, equal to REML on a full
    table while the item component is positive; statsmodels MixedLM in tests/test_inference.py):
    (MS_seed + MS_item − MS_resid) / (R N), the item part floored at 0."""
    grand, (a, ka), (b, kb), (c, kc) = _mean_squares(items)
    parts = [(a, ka)] + ([(b, kb), (-c, kc)] if b > c else [])
    var = sum(v for v, _ in parts)
    return grand, var, var**2 / sum(v**2 / d for v, d in parts) if var > 0 else np.nan


def crossed_interval(items: np.ndarray) -> tuple[float, float, float, float]:
    """(low, high, p, Satterthwaite df) for the grand mean of a replicates × items table of Δs:
    the generalized (fiducial) interval and p of the crossed seeds × items model (Weerahandi 1993,
    "Generalized confidence intervals", JASA 88:899; Hannig 2009 for the fiducial reading).

    Why not Satterthwaite's t on the same variance: with 3-5 seeds the seed mean square has 2-4
    df, and a seed mean square that is small by chance also raises the estimated df, so that t is
    liberal far in the tail where Holm and BH work (0.96 % rejections at α/12 = 0.42 % under the
    null, family-wise error 7-11 % over 12 tests). The generalized pivot
    μ = ȳ − Z √(MS_seed/(RN)/U₁ + max(0, MS_item/(RN)/U₂ − MS_resid/(RN)/U₃)), U_k ~ χ²_df/df,
    holds the level for every mix of seed and item variance (a little conservative between the
    ends) and is exactly the t over replicate means when the items add nothing."""
    grand, (a, ka), (b, kb), (c, kc) = _mean_squares(items)
    _, var, df = crossed_variance(items)
    if var <= 1e-12 * max(1.0, grand**2):
        return np.nan, np.nan, np.nan, np.nan
    spread = np.sqrt(
        a / _chi2_draws(ka, 1) + np.maximum(b / _chi2_draws(kb, 2) - c / _chi2_draws(kc, 3), 0)
    )
    spread = np.maximum(spread, 1e-12 * np.sqrt(var))

    def tail(h: float) -> float:  # P(μ − ȳ > h) under the fiducial distribution (symmetric)
        return float(np.mean(special.ndtr(-h / spread)))

    half = optimize.brentq(
        lambda h: tail(h) - 0.025, 0.0, 100.0 * float(spread.max()), xtol=1e-6 * np.sqrt(var)
    )
    return grand - half, grand + half, min(1.0, 2 * tail(abs(grand))), float(df)


def _mean_squares(items: np.ndarray):
    """Grand mean and (MS/(R N), df) for seeds, items and residual, on the items every replicate
    has."""
    table = items[:, ~np.isnan(items).any(axis=0)]
    r, n = table.shape
    grand = float(table.mean())
    rows, cols = table.mean(axis=1), table.mean(axis=0)
    ms_seed = n * float(np.sum((rows - grand) ** 2)) / (r - 1)
    ms_item = r * float(np.sum((cols - grand) ** 2)) / (n - 1)
    resid = table - rows[:, None] - cols[None, :] + grand
    ms_resid = float(np.sum(resid**2)) / ((r - 1) * (n - 1))
    rn = r * n
    return grand, (ms_seed / rn, r - 1), (ms_item / rn, n - 1), (ms_resid / rn, (r - 1) * (n - 1))


@lru_cache(maxsize=64)
def _chi2_draws(df: int, stream: int) -> np.ndarray:
    """FIDUCIAL_DRAWS stratified quantiles of χ²_df / df, in a fixed random order per stream (so
    the three U's are independent): deterministic, and smooth enough for p near α/12."""
    u = stats.chi2.ppf((np.arange(FIDUCIAL_DRAWS) + 0.5) / FIDUCIAL_DRAWS, df) / df
    return np.random.default_rng(stream).permutation(u)


def _p_boot(boot: np.ndarray) -> float:
    p = 2 * min(np.mean(boot <= 0), np.mean(boot >= 0))
    return float(min(1.0, max(p, 1 / boot.size)))


def summarise(cell: Draws, point: float) -> dict:
    """95 % interval, two-sided p and the minimal detectable Δ: the t rule over the replicate Δs
    (primary); the bootstrap where there are draws, beside it (``boot_*``, ``p_boot``), primary
    only for one replicate. No interval or test from replicates that do not vary."""
    reps = cell.reps.to_numpy(dtype=float)
    low, high, p = _t_interval(reps)
    p_seeds = p  # the replicates' own t test, whatever ends up primary
    how = "t over seeds"
    if cell.items is not None and len(reps) > 1:  # seeds and items crossed
        c_low, c_high, c_p, _ = crossed_interval(cell.items.to_numpy(dtype=float))
        if np.isfinite(c_p):
            low, high, p, how = c_low, c_high, c_p, CROSSED
    b_low = b_high = p_boot = np.nan
    if cell.boot is not None:
        b_low, b_high = np.percentile(cell.boot, [2.5, 97.5])
        p_boot = _p_boot(cell.boot)
        if len(reps) == 1:
            low, high, p, how = b_low, b_high, p_boot, "bootstrap over items (one seed)"
    if not np.isfinite(p) and how in ("t over seeds", CROSSED):
        how = "none (replicates equal)" if len(reps) > 1 else "none (one replicate)"
    return {
        "delta": point,
        "ci_low": float(low),
        "ci_high": float(high),
        "p": p,
        "p_method": how,
        "p_seeds": p_seeds,
        "mde": minimal_detectable_delta(reps),
        "boot_low": float(b_low),
        "boot_high": float(b_high),
        "p_boot": p_boot,
    }


def minimal_detectable_delta(reps: np.ndarray, power: float = POWER) -> float:
    """The true Δ a two-sided one-sample t test at α = 0.05 over ``len(reps)`` replicates detects
    with probability ``power``, taking the observed SD as the true one (NaN below 2 replicates)."""
    n = reps.size
    if n < 2:
        return float("nan")
    sd = float(np.std(reps, ddof=1))
    t_crit = stats.t.ppf(1 - ALPHA_MDE / 2, n - 1) + stats.t.ppf(power, n - 1)
    return float(t_crit * sd / np.sqrt(n))


def seeds_for(delta: float, sd: float, power: float = POWER, max_n: int = 1000) -> int | None:
    """The fewest seed replicates at which a two-sided t test at α = 0.05 detects a true ``delta``
    with ``power`` when the replicate Δs have SD ``sd`` (noncentral t; None beyond ``max_n``)."""
    if sd <= 0:
        return 2
    for n in range(2, max_n + 1):
        df, nc = n - 1, abs(delta) / (sd / np.sqrt(n))
        crit = stats.t.ppf(1 - ALPHA_MDE / 2, df)
        if stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc) >= power:
            return n
    return None


def _t_interval(values: np.ndarray) -> tuple[float, float, float]:
    n = values.size
    sd = float(np.std(values, ddof=1)) if n > 1 else 0.0
    mean = float(values.mean()) if n else np.nan
    if n < 2 or sd <= 1e-9 * max(1.0, abs(mean)):  # identical replicates (up to rounding)
        return np.nan, np.nan, np.nan
    return _t_rule(mean, sd / np.sqrt(n), n - 1)


def _t_rule(mean: float, se: float, df: float) -> tuple[float, float, float]:
    """95 % interval and two-sided p of ``mean`` with standard error ``se`` on ``df`` df."""
    half = float(stats.t.ppf(0.975, df)) * se
    return mean - half, mean + half, float(2 * stats.t.sf(abs(mean) / se, df))


def cell_table(
    study_dir: str | Path, scores: pd.DataFrame, n_boot: int = N_BOOT
) -> tuple[pd.DataFrame, dict[tuple[str, str], Draws]]:
    """One row per (intermediate, target): Δ over zero-shot languages with its seed-level CI
    and test, the XTREME-style Δ over every language (English included) beside it. Also returns
    each cell's :class:`Draws` (for domain means and contrasts)."""
    study_dir = Path(study_dir)
    rows, boots = [], {}
    for t_index, target in enumerate(sorted(scores["target"].unique())):
        frame = scores[scores["target"] == target]
        languages = sorted(frame["language"].unique())
        zero_shot = np.array([lang not in ZERO_SHOT_EXCLUDES for lang in languages])
        every = np.ones(len(languages), dtype=bool)
        trained = frame[frame["intermediate"] != BASELINE]
        base_runs = frame.loc[frame["intermediate"] == BASELINE, "run"]
        items = ItemScores(study_dir, languages, base_runs.iloc[0]) if len(base_runs) else None
        for inter, grp in trained.groupby("intermediate"):
            reps, method = replicates(scores, target, inter, items) if items else ([], "")
            if not reps:
                continue
            keep = zero_shot if zero_shot.any() else every
            per_rep = [float(_language_mean(r.deltas, keep)) for r in reps]
            if method == SEED_AND_ITEMS and len(reps) == 1:
                method = ITEMS_ONE_SEED
            boot = None if method == SEEDS_ONLY else draws(reps, keep, t_index, n_boot)
            keys = pd.MultiIndex.from_tuples([(r.intermediate_seed, r.seed) for r in reps])
            table = None if method == SEEDS_ONLY else _item_table(reps, keep, keys)
            boots[(inter, target)] = cell = Draws(pd.Series(per_rep, index=keys), boot, table)
            rows.append(
                {
                    "intermediate": inter,
                    "intermediate_domain": grp["intermediate_domain"].iloc[0],
                    "intermediate_format": grp["intermediate_format"].iloc[0],
                    "target": target,
                    "group": grp["group"].iloc[0],
                    "metric": grp["metric"].iloc[0],
                    **summarise(cell, float(np.mean(per_rep))),
                    "delta_all_languages": float(
                        np.mean([_language_mean(r.deltas, every) for r in reps])
                    ),
                    "sd_seeds": float(np.std(per_rep, ddof=1)) if len(reps) > 1 else np.nan,
                    "n_seeds": len(reps),
                    "n_languages": int(keep.sum()),
                    "english_excluded": bool(zero_shot.any() and not zero_shot.all()),
                    "n_items": int(reps[0].deltas.shape[1]) if method != SEEDS_ONLY else 0,
                    "method": method,
                }
            )
    return pd.DataFrame(rows), boots


def domain_tables(
    cells: pd.DataFrame, boots: dict[tuple[str, str], Draws]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per target: each domain's Δ (mean over its single-task intermediates; a mixture re-uses
    them and is a cell of its own) and pairwise contrasts.

    A contrast between domains with fewer than two tasks each is a contrast of tasks, not of
    domains; ``kind`` says which. Targets are never pooled: their metrics differ."""
    d_rows, c_rows = [], []
    singles = cells[cells["intermediate_format"] != "mixed"]  # a mixture re-uses its tasks
    for target, frame in singles.groupby("target"):
        by_domain = {
            dom: (list(g["intermediate"]), mean_of([boots[(i, target)] for i in g["intermediate"]]))
            for dom, g in frame.groupby("intermediate_domain")
            if dom not in ("none", "unknown")
        }
        points = frame.set_index("intermediate")["delta"]
        for dom, (tasks, boot) in by_domain.items():
            d_rows.append(
                {
                    "domain": dom,
                    "target": target,
                    "tasks": ", ".join(tasks),
                    "n_tasks": len(tasks),
                    "n_seeds": int(frame["n_seeds"].min()),
                    **summarise(boot, float(points[tasks].mean())),
                }
            )
        for a, b in combinations(sorted(by_domain), 2):
            (ta, ba), (tb, bb) = by_domain[a], by_domain[b]
            kind = "domain contrast" if min(len(ta), len(tb)) >= 2 else "task contrast"
            c_rows.append(
                {
                    "contrast": f"{a} − {b}",
                    "a": a,
                    "b": b,
                    "target": target,
                    "kind": kind,
                    "tasks_a": ", ".join(ta),
                    "tasks_b": ", ".join(tb),
                    **summarise(ba - bb, float(points[ta].mean() - points[tb].mean())),
                }
            )
    return pd.DataFrame(d_rows), pd.DataFrame(c_rows)


def per_language(deltas: pd.DataFrame) -> pd.DataFrame:
    """Descriptive: Δ per language, mean and sd over replicates (languages are not test units)."""
    keys = ["intermediate", "intermediate_domain", "target", "language"]
    out = (
        deltas.groupby(keys)["delta"]
        .agg(delta="mean", sd_seeds="std", n_seeds="count")
        .reset_index()
    )
    out["zero_shot"] = ~out["language"].isin(ZERO_SHOT_EXCLUDES)
    return out


def format_matched(cells: pd.DataFrame, boots: dict[tuple[str, str], Draws]) -> pd.DataFrame:
    """Per target: contrasts of intermediate tasks that share a format but differ in domain."""
    rows = []
    for target, frame in cells.groupby("target"):
        info = frame.set_index("intermediate")
        for a, b in combinations(sorted(info.index), 2):
            fa, fb = info.loc[a], info.loc[b]
            if fa["intermediate_format"] != fb["intermediate_format"]:
                continue
            if fa["intermediate_domain"] == fb["intermediate_domain"]:
                continue
            rows.append(
                {
                    "a": a,
                    "b": b,
                    "target": target,
                    "format": fa["intermediate_format"],
                    "domains": f"{fa['intermediate_domain']} vs {fb['intermediate_domain']}",
                    **summarise(boots[(a, target)] - boots[(b, target)], fa["delta"] - fb["delta"]),
                }
            )
    return pd.DataFrame(rows)


def domain_match(
    cells: pd.DataFrame, boots: dict[tuple[str, str], Draws], target_domains: dict[str, str]
) -> pd.DataFrame:
    """Per target: Δ of the intermediates from the target's own domain minus Δ of the others
    (single tasks), e.g. legal intermediates vs the rest on MultiEURLEX (legal). The same
    contrast on general targets is the comparison that says whether matching helps more."""
    rows = []
    singles = cells[cells["intermediate_format"] != "mixed"]
    for target, frame in singles.groupby("target"):
        domain = target_domains.get(str(target))
        same = list(frame.loc[frame["intermediate_domain"] == domain, "intermediate"])
        other = list(frame.loc[frame["intermediate_domain"] != domain, "intermediate"])
        if not same or not other:
            continue
        boot = mean_of([boots[(i, target)] for i in same]) - mean_of(
            [boots[(i, target)] for i in other]
        )
        points = frame.set_index("intermediate")["delta"]
        rows.append(
            {
                "target": target,
                "target_domain": domain,
                "matched": ", ".join(same),
                "others": ", ".join(other),
                **summarise(boot, float(points[same].mean() - points[other].mean())),
            }
        )
    return pd.DataFrame(rows)
