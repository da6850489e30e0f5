"""The primary inference of the analysis: t intervals over seed replicates that cover, one
confirmatory family whose error rate holds, the minimal detectable Δ and the seeds a Δ needs,
each against a reference implementation (scipy, statsmodels) or a simulation with a known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from xstilts.analysis import family
from xstilts.analysis.hierarchical import (
    Draws,
    collapse_crossed,
    minimal_detectable_delta,
    seeds_for,
    summarise,
)

N_STUDIES = 1000


def _cell(reps: np.ndarray) -> dict:
    return summarise(Draws(pd.Series(reps), None), float(np.mean(reps)))


def _replicate_deltas(rng, n_seeds: int, truth: float) -> np.ndarray:
    """One synthetic cell: Δ_r = truth + seed effect + the item mean of this replicate's item
    noise, plus item effects shared by every seed (the same 200 test items), at the sizes of the
    default study (seed SD about 1.5 points; per-item Δ of 0 / ±100 points)."""
    n_items = 200
    shared = rng.normal(0, 5, n_items)  # items on which intermediate training helps or hurts
    seed_effect = rng.normal(0, 1.5, n_seeds)
    flips = rng.choice([-100.0, 0.0, 100.0], p=[0.08, 0.84, 0.08], size=(n_seeds, n_items))
    return truth + seed_effect + (shared + flips).mean(axis=1)


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_primary_intervals_cover_the_truth_93_to_97_percent(n_seeds):
    rng = np.random.default_rng(n_seeds)
    truth, hits = 2.0, 0
    for _ in range(N_STUDIES):
        row = _cell(_replicate_deltas(rng, n_seeds, truth))
        hits += row["ci_low"] <= truth <= row["ci_high"]
    assert 0.93 <= hits / N_STUDIES <= 0.97, hits / N_STUDIES


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


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_the_confirmatory_family_holds_its_error_rate_under_the_null(correction):
    """12 null comparisons per study (9 cells, 3 domain-match contrasts), 5 seeds each: the share
    of studies with any false rejection stays at the nominal 5 % (3 Monte-Carlo SE of slack).
    Under the complete null the false-discovery rate equals that share, for BH too."""
    rng = np.random.default_rng(7)
    any_false = 0
    for _ in range(N_STUDIES):
        rows = [_cell(_replicate_deltas(rng, 5, 0.0)) for _ in range(12)]
        tables = {"cells": pd.DataFrame(rows[:9]), "domain_match": pd.DataFrame(rows[9:])}
        assert family.mark(tables, ["cells", "domain_match"], correction) == 12
        any_false += any(family.significant(df, 0.05).any() for df in tables.values())
    se = np.sqrt(0.05 * 0.95 / N_STUDIES)
    assert any_false / N_STUDIES <= 0.05 + 3 * se


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
