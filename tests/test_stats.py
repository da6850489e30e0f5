"""Statistics on constructed data with answers known by hand or by an independent computation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from xstilts.analysis import stats
from xstilts.analysis.scores import deltas, group_scores, primary_scores


def test_mean_sd():
    mean, sd, n = stats.mean_sd([1.0, 2.0, 3.0, np.nan])
    assert (mean, n) == (2.0, 3) and sd == pytest.approx(1.0)
    assert np.isnan(stats.mean_sd([5.0])[1])


def test_bootstrap_matches_normal_theory():
    v = np.random.default_rng(0).normal(10.0, 2.0, size=400)
    half = 1.96 * v.std(ddof=1) / np.sqrt(v.size)
    for method in ("BCa", "percentile"):
        ci = stats.bootstrap_ci(v, method=method, n_resamples=4000)
        assert ci.method == method
        assert ci.low == pytest.approx(v.mean() - half, abs=0.1 * half)
        assert ci.high == pytest.approx(v.mean() + half, abs=0.1 * half)


def test_percentile_bootstrap_matches_hand_resampling():
    v = np.random.default_rng(1).exponential(1.0, size=30)
    rng = np.random.default_rng(99)
    means = v[rng.integers(0, v.size, size=(20000, v.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    ci = stats.bootstrap_ci(v, method="percentile", n_resamples=20000)
    assert ci.method == "percentile"
    assert ci.low == pytest.approx(low, abs=0.03) and ci.high == pytest.approx(high, abs=0.03)


def test_bootstrap_degenerate_cases_say_so():
    assert stats.bootstrap_ci([1.0]).method.startswith("n/a")
    ci = stats.bootstrap_ci([2.0, 2.0, 2.0])
    assert (ci.low, ci.high) == (2.0, 2.0) and ci.method.startswith("degenerate")


def test_wilcoxon_exact_by_hand():
    # |d| ranks 1..5; W- = 2 (only -2 negative). Subsets of {1..5} with rank sum <= 2: {}, {1}, {2}
    # -> P(W <= 2) = 3/32, two-sided p = 6/32.
    assert stats.wilcoxon_p([1.0, -2.0, 3.0, 4.0, 5.0]) == pytest.approx(6 / 32)
    assert stats.wilcoxon_p([1.0, 2.0, 3.0, 4.0, 5.0]) == pytest.approx(2 / 32)


def test_permutation_exact_by_hand():
    # sums of ±1 ±2 ±3: 6 4 2 0 0 -2 -4 -6; |sum| >= 6 in 2 of 8 sign patterns.
    assert stats.permutation_p([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)


def test_permutation_exact_enumeration():
    d = np.array([1.0, 2.0, 3.0, -0.5, 0.7, -1.2])
    flips = np.array(list(itertools.product([1, -1], repeat=d.size)))
    null = (flips * d).mean(axis=1)
    obs = d.mean()
    greater, less = np.mean(null >= obs - 1e-12), np.mean(null <= obs + 1e-12)
    assert stats.permutation_p(d) == pytest.approx(min(1.0, 2 * min(greater, less)))


def test_bh_by_hand():
    # sorted p 0.01 0.03 0.04 0.2 -> p*m/rank 0.04 0.06 0.0533 0.2 -> step-up min 0.04 0.0533 0.0533 0.2
    q = stats.bh([0.01, np.nan, 0.04, 0.03, 0.2])
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2, 3, 4]], [0.04, 0.16 / 3, 0.16 / 3, 0.2])


def test_spearman_by_hand():
    # rank differences -1 1 -1 1 0: rho = 1 - 6*4/(5*24) = 0.8
    rho, p, n = stats.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert rho == pytest.approx(0.8) and n == 5
    # exact: sum d^2 <= 4 for 1 + 4 (one adjacent swap) + 3 (two disjoint ones) of the 120
    # orderings, the same number at the other end: p = 16/120
    assert p == pytest.approx(16 / 120)
    assert stats.spearman([1, 2, 3, 4], [10, 20, 30, 40])[1] == pytest.approx(2 / 24)
    assert np.isnan(stats.spearman([1, 2], [1, 2])[0])


def _scores(
    effects: dict[str, tuple[str, float]], langs=("de", "es", "fr", "ru", "zh", "hi"), seeds=(1, 2)
):
    """Per-language scores: baseline 50 + language offset; intermediates add a known effect ± noise."""
    rng = np.random.default_rng(3)
    rows = []
    offsets = {lang: i for i, lang in enumerate(langs)}
    for inter, (domain, effect) in {"baseline": ("none", 0.0), **effects}.items():
        for lang, seed in itertools.product(langs, seeds):
            noise = 0.0 if inter == "baseline" else rng.normal(0, 0.1)
            rows.append(
                {
                    "intermediate": inter,
                    "intermediate_domain": domain,
                    "intermediate_format": "pair",
                    "target": "xnli",
                    "language": lang,
                    "seed": seed,
                    "format": "pair",
                    "group": "classification",
                    "metric": "accuracy",
                    "score": 50 + offsets[lang] + seed * 0.01 + effect + noise,
                }
            )
    return pd.DataFrame(rows)


def test_deltas_pair_by_seed_and_fall_back_to_mean():
    s = _scores({"a": ("legal", 2.0)})
    s.loc[(s["intermediate"] == "a") & (s["seed"] == 2), "seed"] = 7  # no baseline seed 7
    d = deltas(s)
    paired, unpaired = d[d["paired"]], d[~d["paired"]]
    assert len(paired) == len(unpaired) == 6
    np.testing.assert_allclose(paired["delta"], 2.0, atol=0.5)
    # fallback subtracts the baseline's mean over seeds 1 and 2 (offset 0.015), not a paired seed
    row = unpaired.iloc[0]
    base = s[(s["intermediate"] == "baseline") & (s["language"] == row["language"])]["score"].mean()
    assert row["baseline"] == pytest.approx(base)


def test_cell_tests_known_effects_and_fdr():
    d = deltas(_scores({"helps": ("general", 3.0), "null": ("legal", 0.0)}))
    cells = stats.cell_tests(d).set_index("intermediate")
    assert cells.loc["helps", "delta"] == pytest.approx(3.0, abs=0.1)
    assert cells.loc["helps", "ci_low"] > 2.5 and cells.loc["helps", "ci_high"] < 3.5
    # 6 languages all positive: exact sign-flip p = 2/64, Wilcoxon exact p = 2/64
    assert cells.loc["helps", "p_perm"] == pytest.approx(2 / 64)
    assert cells.loc["helps", "p_wilcoxon"] == pytest.approx(2 / 64)
    np.testing.assert_allclose(cells["q"], sps.false_discovery_control(cells["p_perm"]))
    assert cells.loc["helps", "n_languages"] == 6 and cells.loc["helps", "n_seeds"] == 2
    assert cells.loc["null", "ci_low"] < 0 < cells.loc["null", "ci_high"]


def test_domain_contrasts_average_tasks_within_domain():
    d = deltas(_scores({"g1": ("general", 1.0), "g2": ("general", 3.0), "l1": ("legal", -1.0)}))
    domains, contrasts = stats.domain_contrasts(d)
    allrows = domains[domains["target"] == "all"].set_index("domain")
    assert allrows.loc["general", "delta"] == pytest.approx(2.0, abs=0.1)
    assert allrows.loc["general", "n_tasks"] == 2
    gl = contrasts[
        (contrasts["target"] == "all") & (contrasts["contrast"] == "general − legal")
    ].iloc[0]
    assert gl["difference"] == pytest.approx(3.0, abs=0.15)
    assert gl["p_perm"] == pytest.approx(2 / 64)


def test_format_matched_pairs_only_same_format_other_domain():
    s = _scores({"a": ("legal", 1.0), "b": ("biomedical", 0.0), "c": ("legal", 0.0)})
    s.loc[s["intermediate"] == "c", "intermediate_format"] = "qa"
    pairs = stats.format_matched_pairs(deltas(s))
    assert list(zip(pairs["a"], pairs["b"], strict=True)) == [("a", "b")]
    assert pairs["difference"].iloc[0] == pytest.approx(1.0, abs=0.15)


def _results(rows):
    base = {
        "study": "s",
        "intermediate_domain": "none",
        "intermediate_format": "none",
        "n": 10,
        "layer": pd.NA,
        "model": "m",
        "run": "r",
    }
    return pd.DataFrame([{**base, **r} for r in rows])


def test_qa_is_mean_of_em_and_f1_and_scales_to_points():
    rows = []
    for lang, em, f1 in (("de", 40.0, 60.0), ("es", 50.0, 70.0)):
        for metric, v in (("exact_match", em), ("f1", f1)):
            rows.append(
                {
                    "intermediate": "baseline",
                    "target": "xquad",
                    "format": "qa",
                    "primary_metric": "f1",
                    "language": lang,
                    "seed": 1,
                    "metric": metric,
                    "value": v,
                }
            )
    for lang, acc in (("de", 0.7), ("es", 0.8)):
        rows.append(
            {
                "intermediate": "baseline",
                "target": "xnli",
                "format": "pair",
                "primary_metric": "accuracy",
                "language": lang,
                "seed": 1,
                "metric": "accuracy",
                "value": acc,
            }
        )
    s = primary_scores(_results(rows)).set_index(["target", "language"])
    assert s.loc[("xquad", "de"), "score"] == pytest.approx(50.0)
    assert s.loc[("xquad", "es"), ["em", "f1"]].tolist() == [50.0, 70.0]
    assert s.loc[("xnli", "es"), "score"] == pytest.approx(80.0)
    g = group_scores(s.reset_index()).set_index("group")["score"]
    assert g["QA"] == pytest.approx(55.0) and g["classification"] == pytest.approx(75.0)
    assert g["overall"] == pytest.approx(65.0)


def test_missing_primary_metric_is_a_clear_error():
    rows = [
        {
            "intermediate": "baseline",
            "target": "xnli",
            "format": "pair",
            "primary_metric": "accuracy",
            "language": "de",
            "seed": 1,
            "metric": "f1",
            "value": 0.5,
        }
    ]
    with pytest.raises(ValueError, match="primary metric 'accuracy' missing"):
        primary_scores(_results(rows))
