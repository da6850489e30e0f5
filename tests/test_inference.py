"""The primary inference of the analysis: t intervals over seed replicates that cover, one
confirmatory family whose error rate holds, the minimal detectable Δ and the seeds a Δ needs,
each against a reference implementation (scipy, statsmodels) or a simulation with a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from xstilts.analysis import family, hierarchical
from xstilts.analysis.hierarchical import (
    Draws,
    collapse_crossed,
    minimal_detectable_delta,
    seeds_for,
    summarise,
)

N_STUDIES = 1000


def _cell(reps: np.ndarray) -> dict:
    """A cell without item scores: the t over its seed replicates."""
    return summarise(Draws(pd.Series(reps), None), float(np.mean(reps)))


def _crossed_cell(table: np.ndarray) -> dict:
    """A cell with item scores (replicates × items), as the analysis builds it."""
    reps = table.mean(axis=1)
    return summarise(Draws(pd.Series(reps), None, pd.DataFrame(table)), float(reps.mean()))


def _item_deltas(
    rng,
    n_seeds: int,
    truth: float,
    shared_sd: float = 15.0,
    seed_sd: float = 5.0,
    flip: float = 0.03,
) -> np.ndarray:
    """One synthetic cell, replicates × 200 test items: truth + seed effect + item effects shared
    by every seed (the same items; an item that intermediate training helps or hurts) + each
    replicate's own item flips (per-item Δ of 0 / ±100 points). The sizes are those of the
    default study's run (docs/findings.md; the two-way mean squares of its 9 cells): seed SD
    1.5-23, median 5 points; shared item SD 4-21, median 15; residual SD 18-34, here 24."""
    n_items = 200
    shared = rng.normal(0, shared_sd, n_items)
    seed_effect = rng.normal(0, seed_sd, n_seeds)
    flips = rng.choice([-100.0, 0.0, 100.0], p=[flip, 1 - 2 * flip, flip], size=(n_seeds, n_items))
    return truth + seed_effect[:, None] + shared[None, :] + flips


def _replicate_deltas(rng, n_seeds: int, truth: float) -> np.ndarray:
    return _item_deltas(rng, n_seeds, truth).mean(axis=1)


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_primary_intervals_cover_the_truth_93_to_97_percent(n_seeds):
    """The crossed interval (item scores, the analysis's case for classification and retrieval)
    covers a known Δ; so does the t over seeds where no item scores exist."""
    rng = np.random.default_rng(n_seeds)
    truth, hits, hits_t = 2.0, 0, 0
    for _ in range(N_STUDIES):
        table = _item_deltas(rng, n_seeds, truth)
        row = _crossed_cell(table)
        assert row["p_method"] == hierarchical.CROSSED
        hits += row["ci_low"] <= truth <= row["ci_high"]
        plain = _cell(_item_deltas(rng, n_seeds, truth, shared_sd=0.0).mean(axis=1))
        hits_t += plain["ci_low"] <= truth <= plain["ci_high"]
    assert 0.93 <= hits / N_STUDIES <= 0.97, hits / N_STUDIES
    assert 0.93 <= hits_t / N_STUDIES <= 0.97, hits_t / N_STUDIES


def test_a_t_over_seeds_alone_undercovers_when_items_are_shared():
    """Why items enter the interval: with item effects shared by every seed, the seeds' t misses
    their variance."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(N_STUDIES):
        row = _cell(_item_deltas(rng, 5, 2.0, shared_sd=30.0, seed_sd=1.5).mean(axis=1))
        hits += row["ci_low"] <= 2.0 <= row["ci_high"]
    assert hits / N_STUDIES < 0.85, hits / N_STUDIES


def test_a_percentile_bootstrap_over_three_seeds_undercovers():
    """Why the bootstrap is not the primary interval: over 3 replicates it is about their range."""
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(N_STUDIES):
        reps = _replicate_deltas(rng, 3, 2.0)
        boot = reps[rng.integers(3, size=(2000, 3))].mean(axis=1)
        low, high = np.percentile(boot, [2.5, 97.5])
        hits += low <= 2.0 <= high
    assert hits / N_STUDIES < 0.85


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_the_confirmatory_family_holds_its_error_rate_under_the_null(n_seeds):
    """12 null comparisons per study (9 cells, 3 domain-match contrasts) at the default run's
    sizes: the share of studies with any false rejection stays at the nominal 5 %, with Holm and
    with BH (under the complete null the false-discovery rate equals that share); so does each
    single test at Holm's first level α/12. Slack: 2 Monte-Carlo SE, a one-sided test of the
    simulation itself (Satterthwaite's t gives 12-27 % family-wise here)."""
    rng = np.random.default_rng(7 + n_seeds)
    any_false, p_values = {"holm": 0, "bh": 0}, []
    for _ in range(N_STUDIES):
        rows = [_crossed_cell(_item_deltas(rng, n_seeds, 0.0)) for _ in range(12)]
        p_values += [row["p"] for row in rows]
        for correction in any_false:
            tables = {"cells": pd.DataFrame(rows[:9]), "domain_match": pd.DataFrame(rows[9:])}
            assert family.mark(tables, ["cells", "domain_match"], correction) == 12
            any_false[correction] += any(
                family.significant(df, 0.05).any() for df in tables.values()
            )
    fwer = max(any_false.values()) / N_STUDIES
    assert fwer <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / N_STUDIES), any_false
    level = 0.05 / 12
    single = np.mean(np.array(p_values) < level)
    assert single <= level + 2 * np.sqrt(level * (1 - level) / len(p_values)), single


def test_satterthwaites_t_is_liberal_in_the_tail_where_holm_works():
    """Why the crossed interval is not Satterthwaite's t on the same variance: with 3 seeds, a
    seed mean square that is small by chance also raises the estimated df, so single tests at
    Holm's first level α/12 reject several times more often than α/12 under the null (about
    2.3 % at the default run's sizes); the generalized p does not."""
    rng = np.random.default_rng(21)
    sat, gen = [], []
    for _ in range(3000):
        table = _item_deltas(rng, 3, 0.0)
        grand, var, df = hierarchical.crossed_variance(table)
        sat.append(2 * stats.t.sf(abs(grand) / np.sqrt(var), df))
        gen.append(hierarchical.crossed_interval(table)[2])
    level = 0.05 / 12
    assert np.mean(np.array(sat) < level) > 3 * level
    assert np.mean(np.array(gen) < level) <= level


def test_the_crossed_interval_is_the_t_over_seeds_when_items_add_nothing():
    """Every item with the same mean Δ (MS_item = 0): the generalized interval and p are exactly
    scipy's t over the replicate means."""
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 10, (4, 50))
    noise -= noise.mean(axis=0, keepdims=True)  # no item differences at all
    table = 1.5 + rng.normal(0, 2, (4, 1)) + noise
    low, high, p, _ = hierarchical.crossed_interval(table)
    ref = stats.ttest_1samp(table.mean(axis=1), 0.0)
    assert (low, high) == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=2e-3)
    assert p == pytest.approx(ref.pvalue, rel=2e-3)


def test_the_generalized_p_matches_plain_monte_carlo():
    """The stratified draws against an independent Monte-Carlo of the generalized pivot (random
    χ² and normal draws, 2,000,000 of them; their own error is about 0.02 on the bounds)."""
    rng = np.random.default_rng(9)
    table = 4.0 + rng.normal(0, 2, (3, 1)) + rng.normal(0, 8, (1, 60)) + rng.normal(0, 20, (3, 60))
    low, high, p, _ = hierarchical.crossed_interval(table)
    r, n = table.shape
    rows, cols, grand = table.mean(1), table.mean(0), table.mean()
    seed_part = np.sum((rows - grand) ** 2) / (r - 1) / r
    item_part = np.sum((cols - grand) ** 2) / (n - 1) / n
    resid = table - rows[:, None] - cols[None, :] + grand
    resid_part = np.sum(resid**2) / ((r - 1) * (n - 1)) / (r * n)
    k1, k2, k3, m = r - 1, n - 1, (r - 1) * (n - 1), 2_000_000
    var = seed_part * k1 / rng.chisquare(k1, m) + np.maximum(
        item_part * k2 / rng.chisquare(k2, m) - resid_part * k3 / rng.chisquare(k3, m), 0
    )
    mu = grand - rng.standard_normal(m) * np.sqrt(var)
    assert p == pytest.approx(2 * min(np.mean(mu <= 0), np.mean(mu >= 0)), abs=0.003)
    assert (low, high) == pytest.approx(tuple(np.percentile(mu, [2.5, 97.5])), abs=0.05)


def test_the_crossed_interval_matches_statsmodels_mixedlm():
    """Seeds and items as crossed random effects, fitted by statsmodels' MixedLM (REML, one
    group, a variance component each): its intercept and standard error equal ours."""
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(3)  # every component clearly positive: REML = the mean squares
    seeds, items = rng.normal(0, 3, 5), rng.normal(0, 5, 30)
    table = 1.0 + seeds[:, None] + items[None, :] + rng.normal(0, 2, (5, 30))
    grand, var, df = hierarchical.crossed_variance(table)
    long = pd.DataFrame(
        [(r, i, table[r, i]) for r in range(5) for i in range(30)], columns=["seed", "item", "y"]
    )
    model = smf.mixedlm(
        "y ~ 1",
        long,
        groups=np.ones(len(long)),
        vc_formula={"seed": "0 + C(seed)", "item": "0 + C(item)"},
    ).fit(reml=True)
    assert grand == pytest.approx(model.fe_params["Intercept"])
    assert np.sqrt(var) == pytest.approx(model.bse_fe["Intercept"], rel=0.01)
    low, high, _, _ = hierarchical.crossed_interval(table)
    assert (low + high) / 2 == pytest.approx(grand)  # the interval is centred on the same mean


def test_t_interval_and_p_match_scipy():
    reps = np.array([0.8, 10.1, 5.7, 3.2, -1.0])
    row = _cell(reps)
    ref = stats.ttest_1samp(reps, 0.0)
    low, high = ref.confidence_interval(0.95)
    assert row["p"] == pytest.approx(ref.pvalue) and row["p_method"] == "t over seeds"
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_holm_and_bh_match_statsmodels_and_exploratory_rows_get_no_q():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, np.nan])
    ok = ~np.isnan(p)
    for method, ref in (("holm", "holm"), ("bh", "fdr_bh")):
        want = multipletests(p[ok], method=ref)[1]
        assert family.ADJUST[method](p)[ok] == pytest.approx(want)
        assert np.isnan(family.ADJUST[method](p)[-1])
    tables = {
        "cells": pd.DataFrame({"p": p[:3]}),
        "domain_match": pd.DataFrame({"p": p[3:5]}),
        "domain_contrasts": pd.DataFrame({"p": [0.0001]}),
    }
    family.mark(tables, ["cells", "domain_match"], "holm")
    pooled = multipletests(p[:5], method="holm")[1]
    assert list(tables["cells"]["q"]) + list(tables["domain_match"]["q"]) == pytest.approx(pooled)
    exploratory = tables["domain_contrasts"]
    assert exploratory["family"].tolist() == ["exploratory"] and exploratory["q"].isna().all()
    assert not family.significant(exploratory, 0.05).any()  # p = 0.0001, never bold


def test_minimal_detectable_delta_has_80_percent_power():
    """At the MDE the noncentral-t power of the two-sided test is about 80 %, and the planning
    rule asks for about as many seeds as gave that MDE."""
    sd = 2.0
    for n in (3, 5, 10):
        reps = np.linspace(-1, 1, n)
        reps = reps / np.std(reps, ddof=1) * sd  # SD exactly 2
        mde = minimal_detectable_delta(reps)
        df, crit = n - 1, stats.t.ppf(0.975, n - 1)
        nc = mde / (sd / np.sqrt(n))
        power = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
        assert 0.75 <= power <= 0.85, (n, power)
        assert abs(seeds_for(mde, sd) - n) <= 1
    assert np.isnan(minimal_detectable_delta(np.array([1.0])))


def test_a_crossed_design_is_collapsed_to_its_matched_pairs():
    crossed = pd.DataFrame(
        [(i, t, f"r{i}{t}") for i in (1, 2, 3) for t in (1, 2, 3)],
        columns=["intermediate_seed", "seed", "run"],
    )
    assert collapse_crossed(crossed)["run"].tolist() == ["r11", "r22", "r33"]
    shifted = crossed[crossed["intermediate_seed"] != crossed["seed"]]  # no matched pair
    kept = collapse_crossed(shifted)
    assert len(kept) == 3
    assert not kept["intermediate_seed"].duplicated().any() and not kept["seed"].duplicated().any()
    matched = crossed[crossed["intermediate_seed"] == crossed["seed"]]
    assert collapse_crossed(matched).equals(matched)


def test_plan_gives_the_seeds_a_chosen_delta_needs_from_a_pilot(tmp_path, capsys):
    from xstilts.cli import main

    tables = tmp_path / "reports" / "quick" / "tables"
    tables.mkdir(parents=True)
    pilot = pd.DataFrame(
        [{"intermediate": "a", "target": "t", "sd_seeds": 2.0, "n_seeds": 3, "mde": 5.8}]
    )
    pilot.to_csv(tables / "cells.csv", index=False)
    argv = ["plan", "params/quick.yaml", "--delta", "2", "--reports-dir", str(tmp_path / "reports")]
    assert main(argv) == 0
    assert f"a → t: seed SD 2.00, 3 seeds gave MDE 5.80; needs {seeds_for(2.0, 2.0)}" in (
        capsys.readouterr().out
    )
    assert 9 <= seeds_for(2.0, 2.0) <= 11  # d = 1: about 10 replicates for 80 % power
    assert main(["plan", "params/quick.yaml", "--delta", "2", "--reports-dir", str(tmp_path)]) == 2
