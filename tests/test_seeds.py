"""Seeds as the unit of replication: Δ per intermediate seed, English out of the headline, the
hierarchical bootstrap (seeds, then items), and domain vs task contrasts. Each test builds a
small study on disk in the target stage's real output format (metrics.json, predictions)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from xstilts.analysis import family, hierarchical
from xstilts.analysis.results import build_results
from xstilts.analysis.scores import deltas, primary_scores
from xstilts.stages.analysis import headline

LANGS = ("en", "de", "fr")
N_ITEMS = 40


def _write_run(study: Path, name: str, metrics: dict, rows: dict[str, list[dict]]) -> None:
    """A finished target run in the target stage's output format."""
    run = study / "target" / name
    (run / "predictions").mkdir(parents=True)
    for lang, lang_rows in rows.items():
        (run / "predictions" / f"{lang}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in lang_rows)
        )
    (run / "metrics.json").write_text(json.dumps({**metrics, "model": "m"}))
    (run / "provenance.json").write_text(json.dumps({"config": {"seed": metrics["seed"]}}))
    (run / "DONE").write_text("")


def _run(study: Path, name: str, inter: str | None, seed: int, correct: dict[str, int]) -> None:
    """A finished target run on MultiEmo whose first ``correct[lang]`` items are right."""
    k = {lang: correct.get(lang, correct["*"]) for lang in LANGS}
    rows = {
        lang: [
            {"id": f"m{i:03d}", "prediction": 1 if i < k[lang] else 0, "reference": 1}
            for i in range(N_ITEMS)
        ]
        for lang in LANGS
    }
    per_language = {lang: {"accuracy": k[lang] / N_ITEMS, "n": N_ITEMS} for lang in LANGS}
    metrics = {"task": "multiemo", "format": "single", "primary_metric": "accuracy"}
    _write_run(
        study,
        name,
        {**metrics, "intermediate": inter, "seed": seed, "per_language": per_language},
        rows,
    )


def _retrieval_run(study: Path, name: str, inter: str | None, seed: int, found: int) -> None:
    """A finished UDHR retrieval run whose first ``found`` items are found both ways."""
    items = [{"id": f"a{i:03d}", "score": 100.0 if i < found else 0.0} for i in range(N_ITEMS)]
    per_language = {lang: {"accuracy": 100.0 * found / N_ITEMS, "n": N_ITEMS} for lang in LANGS}
    metrics = {"task": "udhr", "format": "retrieval", "primary_metric": "accuracy"}
    _write_run(
        study,
        name,
        {**metrics, "intermediate": inter, "seed": seed, "per_language": per_language},
        dict.fromkeys(LANGS, items),
    )


def _cells(study: Path):
    scores = primary_scores(build_results(study, write=False))
    return hierarchical.cell_table(study, scores, n_boot=2000)


def test_two_intermediate_seeds_are_averaged_not_dropped(tmp_path):
    """Intermediate seeds scoring 60 and 80 against a baseline of 70: Δ = 0, not −10 (the old
    table kept the first run per (intermediate, target, language, seed)). Both share the one
    baseline run, so they make one replicate, not two independent ones."""
    _run(tmp_path, "base", None, 1, {"*": 28})  # 70 %
    _run(tmp_path, "v1", "vitaminc-s1", 1, {"*": 24})  # 60 %
    _run(tmp_path, "v2", "vitaminc-s2", 1, {"*": 32})  # 80 %
    scores = primary_scores(build_results(tmp_path, write=False))
    trained = scores[scores["intermediate"] == "vitaminc"]
    assert sorted(trained["intermediate_seed"].unique()) == [1, 2]
    assert len(trained) == 2 * len(LANGS)
    cells, _ = hierarchical.cell_table(tmp_path, scores, n_boot=2000)
    (cell,) = cells.to_dict("records")
    assert cell["delta"] == pytest.approx(0.0) and cell["n_seeds"] == 1
    assert cell["method"] == hierarchical.ITEMS_ONE_SEED  # no seed variance: says so


def test_english_is_out_of_the_headline_average(tmp_path):
    for s in (1, 2, 3):
        _run(tmp_path, f"base{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"en": 40, "*": 20})  # only English gains
    cells, _ = _cells(tmp_path)
    (cell,) = cells.to_dict("records")
    assert cell["delta"] == pytest.approx(0.0) and cell["n_languages"] == 2
    assert cell["english_excluded"]
    assert cell["delta_all_languages"] == pytest.approx(50.0 / 3)  # XTREME-style, with English


def test_bootstrap_resamples_seeds_by_hand(tmp_path):
    """Items constant within a replicate, Δ = +10 (seed 1) and +30 (seed 2): the seed resample
    takes {10, 20, 30} with probabilities 1/4, 1/2, 1/4, so the 95 % interval is [10, 30]."""
    _run(tmp_path, "b1", None, 1, {"*": 20})
    _run(tmp_path, "b2", None, 2, {"*": 20})
    _run(tmp_path, "t1", "vitaminc-s1", 1, {"*": 24})
    _run(tmp_path, "t2", "vitaminc-s2", 2, {"*": 32})
    cells, boots = _cells(tmp_path)
    cell = cells.iloc[0]
    assert cell["delta"] == pytest.approx(20.0)
    boot = boots[("vitaminc", "multiemo")].boot
    # item resampling moves each replicate's mean (items differ: some right, some wrong) ...
    assert boot.std() > 0
    # ... but never outside the hull of what seeds x items allow, and centred on the point
    assert boot.mean() == pytest.approx(20.0, abs=1.0)
    assert cell["ci_low"] < 20.0 < cell["ci_high"]
    assert cell["method"] == hierarchical.SEED_AND_ITEMS and cell["n_items"] == N_ITEMS


def test_seed_only_bootstrap_by_hand():
    """No item noise: replicate Δs 10 and 30 -> resampled means 10, 20, 30 (1/4, 1/2, 1/4)."""
    reps = [
        hierarchical.Replicate(1, 1, np.full((2, 1), 10.0)),
        hierarchical.Replicate(2, 2, np.full((2, 1), 30.0)),
    ]
    boot = hierarchical.draws(reps, np.array([True, True]), rng_seed=0, n_boot=20000)
    assert set(np.unique(boot)) == {10.0, 20.0, 30.0}
    assert np.mean(boot == 20.0) == pytest.approx(0.5, abs=0.02)
    assert np.percentile(boot, [2.5, 97.5]).tolist() == [10.0, 30.0]


def test_a_clear_effect_is_detected_and_a_null_is_not(tmp_path):
    for s in (1, 2, 3):
        _run(tmp_path, f"b{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": 30 + s})  # +27.5 to +32.5 points
        _run(tmp_path, f"m{s}", f"multiemo_medicine-s{s}", s, {"*": 20 + (s - 2)})  # −2.5..+2.5
    cells, _ = _cells(tmp_path)
    family.mark({"cells": cells}, ["cells"], "holm")
    cells = cells.set_index("intermediate")
    assert cells.loc["vitaminc", "ci_low"] > 10 and cells.loc["vitaminc", "q"] < 0.05
    # the replicates' own t test: Δs +27.5, +30, +32.5
    seeds_only = stats.ttest_1samp([27.5, 30.0, 32.5], 0.0).pvalue
    assert cells.loc["vitaminc", "p_seeds"] == pytest.approx(seeds_only)
    # the primary test: seeds and the 40 shared items crossed (item i gains 100 points in seed s
    # when 20 <= i < 30 + s), the crossed interval of that table
    table = np.array([[100.0 * (20 <= i < 30 + s) for i in range(N_ITEMS)] for s in (1, 2, 3)])
    low, high, p, _ = hierarchical.crossed_interval(table)
    assert cells.loc["vitaminc", "p_method"] == hierarchical.CROSSED
    assert cells.loc["vitaminc", "p"] == pytest.approx(p)
    assert cells.loc["vitaminc", "ci_low"] == pytest.approx(low)
    assert cells.loc["vitaminc", "boot_low"] > 0  # the bootstrap beside it agrees
    assert cells.loc["multiemo_medicine", "ci_low"] < 0 < cells.loc["multiemo_medicine", "ci_high"]
    assert cells.loc["multiemo_medicine", "p"] > 0.2


def test_contrasts_report_the_seed_replicates_own_t_test_beside_the_bootstrap(tmp_path):
    """A contrast's p is the paired t test over the replicate contrasts (here −7.5, −22.5, −2.5
    points), as for the cells; the hierarchical bootstrap stands beside it."""
    for s, v, m in zip((1, 2, 3), (24, 31, 27), (21, 22, 26), strict=True):
        _run(tmp_path, f"b{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": v})  # Δ +10, +27.5, +17.5
        _run(tmp_path, f"m{s}", f"multiemo_medicine-s{s}", s, {"*": m})  # Δ +2.5, +5, +15
    cells, boots = _cells(tmp_path)
    domains, contrasts = hierarchical.domain_tables(cells, boots)
    (row,) = contrasts.to_dict("records")
    paired = stats.ttest_1samp([-7.5, -22.5, -2.5], 0.0).pvalue
    assert row["contrast"] == "biomedical − general" and row["p_method"] == hierarchical.CROSSED
    assert row["p_seeds"] == pytest.approx(paired)  # the replicates' own paired t test
    # the primary: the crossed interval of the paired item differences (medicine − vitaminc)
    ks = {"v": (24, 31, 27), "m": (21, 22, 26)}
    diff = np.array(
        [
            [100.0 * (i < m) - 100.0 * (i < v) for i in range(N_ITEMS)]
            for v, m in zip(*ks.values(), strict=True)
        ]
    )
    assert row["p"] == pytest.approx(hierarchical.crossed_interval(diff)[2])
    general = domains.set_index("domain").loc["general"]
    assert general["p_seeds"] == pytest.approx(stats.ttest_1samp([10, 27.5, 17.5], 0).pvalue)
    family.mark({"cells": cells, "domain_contrasts": contrasts}, ["cells"], "holm")
    text = " ".join(headline(cells, domains, contrasts))
    assert (
        f"(95% CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}, exploratory, "
        f"{hierarchical.CROSSED} p = {row['p']:.3g}; bootstrap p = {row['p_boot']:.2g})" in text
    )


def test_missing_item_scores_fall_back_to_seeds_and_say_so(tmp_path):
    for s in (1, 2):
        _run(tmp_path, f"b{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": 24})
    for path in (tmp_path / "target" / "v1" / "predictions").glob("*.jsonl"):
        path.unlink()
    cells, _ = _cells(tmp_path)
    assert cells.iloc[0]["method"] == hierarchical.SEEDS_ONLY
    assert cells.iloc[0]["delta"] == pytest.approx(10.0)


def _drop_item_scores(study: Path) -> None:
    for path in study.glob("target/*/predictions/*.jsonl"):
        path.unlink()


def test_seed_replicates_alone_get_a_t_test_not_a_degenerate_bootstrap(tmp_path):
    """No item scores, three replicates of one sign (Δ +2.5, +10, +17.5 points): a bootstrap
    over the three alone never draws a mean <= 0 (p = 1/B, 'significant'); the t rule over the
    replicates gives the honest interval and p, and a contrast pairs replicate by replicate."""
    for s, k, m in zip((1, 2, 3), (21, 24, 27), (19, 23, 26), strict=True):
        _run(tmp_path, f"b{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": k})
        _run(tmp_path, f"m{s}", f"multiemo_medicine-s{s}", s, {"*": m})
    _drop_item_scores(tmp_path)
    cells, boots = _cells(tmp_path)
    cell = cells.set_index("intermediate").loc["vitaminc"]
    reps = np.array([2.5, 10.0, 17.5])
    t = stats.ttest_1samp(reps, 0.0)
    low, high = t.confidence_interval(0.95)
    assert cell["method"] == hierarchical.SEEDS_ONLY and cell["p_method"] == "t over seeds"
    assert cell["p"] == pytest.approx(t.pvalue) and cell["p"] > 0.05
    assert (cell["ci_low"], cell["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    assert low < 0 < high  # three replicates: an interval this wide is the honest answer
    assert cell["p_seeds"] == pytest.approx(t.pvalue)
    _, contrasts = hierarchical.domain_tables(cells, boots)
    (row,) = contrasts.to_dict("records")  # biomedical − general per replicate: −5, −2.5, −2.5
    paired = stats.ttest_1samp([-5.0, -2.5, -2.5], 0.0)
    assert row["delta"] == pytest.approx(-10 / 3) and row["p_method"] == "t over seeds"
    assert row["p"] == pytest.approx(paired.pvalue)  # paired: unpaired would be p ≈ 0.6
    same = hierarchical.Draws(pd.Series([-5.0, -5.0, -5.0]) + 1e-15 * np.arange(3), None)
    no_test = hierarchical.summarise(same, -5.0)  # identical replicates: nothing to test
    assert np.isnan(no_test["p"]) and no_test["p_method"] == "none (replicates equal)"


def test_one_replicate_without_item_scores_has_no_interval_and_no_test(tmp_path):
    _run(tmp_path, "b1", None, 1, {"*": 20})
    _run(tmp_path, "v1", "vitaminc-s1", 1, {"*": 30})
    _drop_item_scores(tmp_path)
    cells, _ = _cells(tmp_path)
    (cell,) = cells.to_dict("records")
    assert cell["delta"] == pytest.approx(25.0)
    assert np.isnan(cell["ci_low"]) and np.isnan(cell["p"]) and np.isnan(cell["mde"])
    assert cell["p_method"] == "none (one replicate)"


def test_one_seed_with_item_scores_says_its_interval_is_over_items_only(tmp_path):
    _run(tmp_path, "b1", None, 1, {"*": 20})
    _run(tmp_path, "v1", "vitaminc-s1", 1, {"*": 30})
    cells, _ = _cells(tmp_path)
    (cell,) = cells.to_dict("records")
    assert cell["method"] == hierarchical.ITEMS_ONE_SEED
    assert cell["p_method"] == "bootstrap over items (one seed)"
    assert cell["ci_low"] > 0 and cell["n_items"] == N_ITEMS


def test_one_task_per_domain_is_a_task_contrast_two_make_a_domain_contrast(tmp_path):
    for s in (1, 2):
        _run(tmp_path, f"b{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": 24})  # general
        _run(tmp_path, f"m{s}", f"multiemo_medicine-s{s}", s, {"*": 22})  # biomedical
    cells, boots = _cells(tmp_path)
    domains, contrasts = hierarchical.domain_tables(cells, boots)
    (row,) = contrasts.to_dict("records")
    assert row["kind"] == "task contrast" and row["delta"] == pytest.approx(-5.0)
    lines = headline(cells, domains, contrasts)
    assert any("this contrasts tasks, not domains" in line for line in lines)
    for s in (1, 2):
        _run(tmp_path, f"f{s}", f"fever-s{s}", s, {"*": 26})  # general
        _run(tmp_path, f"c{s}", f"covid19_scientific-s{s}", s, {"*": 20})  # biomedical
    cells, boots = _cells(tmp_path)
    domains, contrasts = hierarchical.domain_tables(cells, boots)
    (row,) = contrasts.to_dict("records")
    assert row["kind"] == "domain contrast"
    general = domains.set_index("domain").loc["general"]
    assert general["n_tasks"] == 2 and general["delta"] == pytest.approx((10 + 15) / 2)
    assert row["contrast"] == "biomedical − general"
    assert row["delta"] == pytest.approx(2.5 - 12.5)


def test_per_language_table_is_descriptive_with_seed_sd(tmp_path):
    for s in (1, 2):
        _run(tmp_path, f"b{s}", None, s, {"*": 20})
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": 20 + 4 * s})
    d = deltas(primary_scores(build_results(tmp_path, write=False)))
    table = hierarchical.per_language(d).set_index("language")
    assert table.loc["de", "delta"] == pytest.approx(15.0)
    assert table.loc["de", "sd_seeds"] == pytest.approx(np.std([10.0, 20.0], ddof=1))
    assert not table.loc["en", "zero_shot"] and table.loc["de", "zero_shot"]
    assert isinstance(table, pd.DataFrame)


def test_frozen_fixture_keeps_the_item_level_analysis(tmp_path):
    """freeze_study keeps per-item hits (no labels): the frozen study gives the same cells."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
    from freeze_study import freeze

    study = tmp_path / "study"
    for s in (1, 2):
        _run(study, f"b{s}", None, s, {"*": 20})
        _run(study, f"v{s}", f"vitaminc-s{s}", s, {"en": 30, "*": 22 + s})
    freeze(study, tmp_path / "frozen")
    rows = (tmp_path / "frozen" / "target" / "v1" / "predictions" / "de.jsonl").read_text()
    assert '"correct": true' in rows and "reference" not in rows
    live, _ = _cells(study)
    frozen, _ = _cells(tmp_path / "frozen")
    pd.testing.assert_frame_equal(live, frozen)
    assert frozen.iloc[0]["method"] == hierarchical.SEED_AND_ITEMS


def test_a_retrieval_baseline_runs_once_and_pairs_with_every_seed(tmp_path):
    """Retrieval trains nothing, so the grid runs its baseline once (seed 1); the trained runs of
    seeds 1-3 all pair with it: three replicates, every Δ paired, none dropped."""
    _retrieval_run(tmp_path, "base", None, 1, found=20)
    for s in (1, 2, 3):
        _retrieval_run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, found=20 + 2 * s)
    scores = primary_scores(build_results(tmp_path, write=False))
    d = deltas(scores)
    assert len(d) == 3 * len(LANGS) and d.attrs["dropped"] == 0
    assert sorted(d.groupby("seed")["delta"].mean()) == pytest.approx([5.0, 10.0, 15.0])
    cells, _ = hierarchical.cell_table(tmp_path, scores, n_boot=2000)
    (cell,) = cells.to_dict("records")
    assert cell["n_seeds"] == 3 and cell["delta"] == pytest.approx(10.0)
    assert cell["method"] == hierarchical.SEED_AND_ITEMS


def test_a_trained_target_still_needs_its_own_seed(tmp_path):
    """The same layout on a trained target (MultiEmo): seeds 2 and 3 have no baseline run, so
    only seed 1 is a replicate (the seed-free rule is for retrieval only)."""
    _run(tmp_path, "base", None, 1, {"*": 20})
    for s in (1, 2, 3):
        _run(tmp_path, f"v{s}", f"vitaminc-s{s}", s, {"*": 20 + 2 * s})
    scores = primary_scores(build_results(tmp_path, write=False))
    d = deltas(scores)
    assert len(d) == len(LANGS) and d.attrs["dropped"] == 2 * len(LANGS)
    cells, _ = hierarchical.cell_table(tmp_path, scores, n_boot=2000)
    assert cells.iloc[0]["n_seeds"] == 1


def test_a_bootstrap_p_at_its_floor_is_written_as_a_bound():
    from xstilts.stages.analysis import _fmt_p

    floor = 1 / hierarchical.N_BOOT
    row = {"p": 0.1, "p_method": "t over seeds", "p_boot": floor, "family": "confirmatory"}
    text = _fmt_p(row)
    assert text == f"t over the seed replicates p = 0.1; bootstrap p ≤ {floor:.2g}"
    assert _fmt_p({**row, "p_boot": 0.02}).endswith("bootstrap p = 0.02")
    assert _fmt_p({**row, "family": "exploratory"}).startswith("exploratory, t over")


def test_every_table_uses_one_delta_crossed_seeds_and_a_missing_baseline(tmp_path):
    """Intermediate seeds 1-2 crossed with target seeds 1-3, baselines for seeds 1-2 only. The
    per-language Δs (``deltas``) and the cell's replicates (``cell_table``) must be the same
    pairs: the matched (1, 1) and (2, 2); the seed-3 runs have no baseline and are dropped, never
    compared with the baseline's mean over other seeds."""
    _run(tmp_path, "b1", None, 1, {"*": 20})
    _run(tmp_path, "b2", None, 2, {"*": 24})
    for i, t in itertools.product((1, 2), (1, 2, 3)):
        _run(tmp_path, f"v{i}{t}", f"vitaminc-s{i}", t, {"*": 20 + 4 * i + 3 * t})
    scores = primary_scores(build_results(tmp_path, write=False))
    d = deltas(scores)
    assert d.attrs["dropped"] == 2 * len(LANGS)  # v13, v23
    assert sorted(d["run"].unique()) == ["target/v11", "target/v22"]
    cells, _ = _cells(tmp_path)
    (cell,) = cells.to_dict("records")
    zero_shot = d[d["language"] != "en"]
    assert cell["n_seeds"] == 2
    assert cell["delta"] == pytest.approx(zero_shot["delta"].mean())
    # (1, 1): 27 vs 20 right of 40; (2, 2): 34 vs 24 -> 17.5 and 25 points
    assert cell["delta"] == pytest.approx((17.5 + 25.0) / 2)
    per_lang = hierarchical.per_language(d)
    assert per_lang[per_lang["zero_shot"]]["delta"].mean() == pytest.approx(cell["delta"])
