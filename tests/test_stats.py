"""Statistics on constructed data with answers known by hand or by an independent computation."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from xstilts.analysis import stats
from xstilts.analysis.scores import deltas, group_scores, primary_scores


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
                    "intermediate_seed": pd.NA if inter == "baseline" else 1,
                    "run": f"{inter}-{seed}",
                    "format": "pair",
                    "group": "classification",
                    "metric": "accuracy",
                    "score": 50 + offsets[lang] + seed * 0.01 + effect + noise,
                }
            )
    return pd.DataFrame(rows)


def test_deltas_pair_by_seed_and_drop_runs_without_a_baseline_seed():
    s = _scores({"a": ("legal", 2.0)})
    s.loc[(s["intermediate"] == "a") & (s["seed"] == 2), "seed"] = 7  # no baseline seed 7
    d = deltas(s)
    assert len(d) == 6 and d.attrs["dropped"] == 6 and set(d["seed"]) == {1}
    np.testing.assert_allclose(d["delta"], 2.0, atol=0.5)
    base = s[(s["intermediate"] == "baseline") & (s["seed"] == 1)].set_index("language")["score"]
    np.testing.assert_allclose(d["baseline"], base.reindex(d["language"]).to_numpy())


def _results(rows):
    base = {
        "study": "s",
        "intermediate_seed": pd.NA,
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
