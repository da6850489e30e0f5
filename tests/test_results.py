"""The tidy results table from the small study fixture."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xstilts.analysis.results import BASELINE, build_results

FIXTURE = Path(__file__).parent / "fixtures" / "study_small"


@pytest.fixture
def study(tmp_path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "study_small"))


def _expected_rows(study: Path) -> int:
    """Count numeric metric values in finished target runs, straight from the JSON files."""
    total = 0
    for done in (study / "target").glob("*/DONE"):
        m = json.loads((done.parent / "metrics.json").read_text())
        blocks = list(m["per_language"].values())
        blocks += [v for layer in m.get("layers", {}).values() for v in layer.values()]
        total += sum(
            1 for b in blocks for k, v in b.items() if k != "n" and isinstance(v, int | float)
        )
    return total


def test_rows_come_from_finished_runs_only(study):
    df = build_results(study)
    assert len(df) == _expected_rows(study)
    assert not (study / "target" / "multiemo-vitaminc-s3" / "DONE").exists()
    assert "target/multiemo-vitaminc-s3" not in set(df["run"])
    assert set(df["intermediate"]) == {BASELINE, "vitaminc", "casehold", "medmcqa", "pubmedqa"}
    assert df["seed"].notna().all() and set(df["seed"]) == {1, 2}
    assert (df.loc[df["intermediate"] == BASELINE, "intermediate_domain"] == "none").all()
    assert set(df.loc[df["intermediate"] == "casehold", "intermediate_domain"]) == {"legal"}


def test_values_match_metrics_json(study):
    df = build_results(study)
    m = json.loads((study / "target" / "xquad-casehold-s2" / "metrics.json").read_text())
    row = df[
        (df["run"] == "target/xquad-casehold-s2")
        & (df["language"] == "ru")
        & (df["metric"] == "f1")
    ]
    assert row["value"].item() == m["per_language"]["ru"]["f1"]
    assert row["n"].item() == m["per_language"]["ru"]["n"]
    layered = df[(df["target"] == "tatoeba") & df["layer"].notna()]
    assert sorted(layered["layer"].unique()) == [4, 8, 12]


def test_written_atomically_and_idempotent(study):
    df = build_results(study)
    csv1 = (study / "results.csv").read_bytes()
    again = build_results(study)
    assert (study / "results.csv").read_bytes() == csv1
    pd.testing.assert_frame_equal(df, again)
    parquet = pd.read_parquet(study / "results.parquet")
    pd.testing.assert_frame_equal(parquet, df, check_dtype=False)
    assert not [p for p in study.iterdir() if p.name.startswith(".")]  # no temp leftovers


def test_repeated_setting_keeps_latest_run(study):
    src = study / "target" / "multiemo-vitaminc-s1"
    dup = study / "target" / "multiemo-vitaminc-s1-rerun"
    shutil.copytree(src, dup)
    m = json.loads((dup / "metrics.json").read_text())
    m["per_language"]["en"]["accuracy"] = 0.123
    (dup / "metrics.json").write_text(json.dumps(m))
    os.utime(dup / "DONE", (src.stat().st_mtime + 100,) * 2)
    df = build_results(study, write=False)
    runs = set(
        df.loc[
            (df["target"] == "multiemo") & (df["intermediate"] == "vitaminc") & (df["seed"] == 1),
            "run",
        ]
    )
    assert runs == {"target/multiemo-vitaminc-s1-rerun"}


def test_bad_metrics_json_names_file_and_key(study):
    bad = study / "target" / "xquad-baseline-s1" / "metrics.json"
    bad.write_text(json.dumps({"task": "xquad"}))
    with pytest.raises(
        ValueError, match=r"xquad-baseline-s1/metrics.json: missing key 'per_language'"
    ):
        build_results(study, write=False)
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read JSON"):
        build_results(study, write=False)


def test_missing_study_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="study dir not found"):
        build_results(tmp_path / "nope")


def test_forgetting_is_after_minus_before_per_layer(study):
    from xstilts.analysis.explain import forgetting

    df = build_results(study, write=False)
    f = forgetting(df).set_index(["intermediate", "target", "layer", "language"])
    vals = {}
    for inter in ("baseline", "casehold"):
        for seed in (1, 2):
            m = json.loads(
                (study / "target" / f"tatoeba-{inter}-s{seed}" / "metrics.json").read_text()
            )
            vals.setdefault(inter, []).append(m["layers"]["12"]["ru"]["accuracy"] * 100)
    expected = sum(vals["casehold"]) / 2 - sum(vals["baseline"]) / 2
    assert f.loc[("casehold", "tatoeba", 12, "ru"), "change"] == pytest.approx(expected)


def test_fertility_with_a_known_tokenizer():
    from xstilts.analysis.explain import fertility

    pairs = lambda s: [w[i : i + 2] for w in s.split() for i in range(0, len(w), 2)]  # noqa: E731
    f = fertility({"en": ["ab cde", "f"], "zh": ["你好世界"]}, pairs).set_index("language")
    # en: pieces ab, cd, e, f = 4 over 6 characters and 3 words
    assert f.loc["en", "fertility"] == pytest.approx(4 / 6)
    assert f.loc["en", "fertility_words"] == pytest.approx(4 / 3)
    # zh: no spaces, so per character only (2 pieces over 4 characters); per "word" would be 2.0
    assert f.loc["zh", "fertility"] == pytest.approx(2 / 4)
    assert np.isnan(f.loc["zh", "fertility_words"])
    assert bool(f.loc["en", "spaced"]) and not bool(f.loc["zh", "spaced"])


def test_language_table_and_domain_profile(study):
    from xstilts.analysis.explain import domain_similarity, language_table

    langs = language_table(["de", "zz"]).set_index("iso")
    assert langs.loc["de", "script"] == "Latn" and langs.loc["de", "note"] == ""
    assert (
        langs.loc["zz", "script"] == "unknown"
        and "not in xstilts.languages" in langs.loc["zz", "note"]
    )
    sim = domain_similarity(study)
    assert len(sim) == 4 * 3 and set(sim.columns) == {"intermediate", "target", "jaccard", "jsd"}
    (study / "curate" / "quick" / "profile.csv").write_text("measure,b\ndomain,2\n")
    assert "no column for 'intermediate'" in domain_similarity(study).attrs["note"]


def test_domain_similarity_of_the_real_curate_stage_is_english_at_equal_tokens(tmp_path):
    """The frozen default study's profile.csv: the ``domain`` rows (English vs English, equal
    token budgets) are the similarity; ``cross_language`` rows are a separate measure."""
    from xstilts.analysis.explain import domain_similarity

    study = Path(__file__).parent / "fixtures" / "study_default"
    raw = pd.read_csv(next(study.glob("curate/*/profile.csv")))
    domain = raw[raw.measure == "domain"]
    assert set(domain.language) == {"en"}
    assert (domain.intermediate_tokens == domain.target_tokens).all()
    assert (raw.measure == "cross_language").any()
    sim = domain_similarity(study).set_index(["intermediate", "target"])
    assert sim.attrs.get("note", "") == ""
    assert len(sim) == len(domain) == 4
    want = domain[(domain.intermediate_task == "vitaminc") & (domain.target == "udhr")].iloc[0]
    assert sim.loc[("vitaminc", "udhr"), "jaccard"] == pytest.approx(want.vocab_jaccard)
    # an older per-language profile (no measure column) compares scripts, not domains: skipped
    old = tmp_path / "curate" / "old"
    old.mkdir(parents=True)
    (old / "DONE").write_text("")
    raw.drop(columns="measure").to_csv(old / "profile.csv", index=False)
    skipped = domain_similarity(tmp_path)
    assert skipped.empty and "no 'measure' column" in skipped.attrs["note"]


def test_checkpoint_labels_split_into_task_and_intermediate_seed():
    from xstilts.analysis.results import split_label

    assert split_label("vitaminc-s1") == ("vitaminc", 1)
    assert split_label("general-mix-s12") == ("general-mix", 12)
    assert split_label("baseline") == ("baseline", None)
    assert split_label("multiemo_products") == ("multiemo_products", None)
