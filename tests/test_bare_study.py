"""A study without intermediate tasks (the bare model on a retrieval target, as a Tatoeba study
would be), end to end through the real notebooks and kernels: its report answers with the bare
model's score per language, draws no seed figure from one seed, keeps its methods a short list
with the full text behind a link, and records the model's hash."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from study_runner import run_study

try:  # the browser check skips where its client is missing; the rest must run
    from test_browser import _check_page, browser  # noqa: F401 - the fixture is used by name
except pytest.skip.Exception:
    _check_page = None

    @pytest.fixture
    def browser():
        pytest.skip("no websocket client for the DevTools protocol")


pytestmark = [pytest.mark.e2e, pytest.mark.slow]

STUDY = """\
study: bare_udhr
profile: embedded
curate:
  max_retrieval_items: 60
  task_languages:
    udhr: "@panx"
intermediate:
  tasks: []
target:
  tasks: [udhr]
baseline: true
"""


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bare")
    study = base / "bare_udhr.yaml"
    study.write_text(STUDY, encoding="utf-8")
    return run_study(study, base)


def test_the_answer_is_the_bare_models_score_per_language(bare):
    study_dir, report_dir = bare
    table = pd.read_csv(report_dir / "tables" / "bare_per_language.csv")
    per_lang = pd.read_csv(report_dir / "tables" / "scores_per_language.csv")
    assert len(table) == per_lang["language"].nunique() > 10
    assert (table["n_seeds"] == 1).all() and table["score"].between(0, 100).all()
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    rows = re.search(r'<table id="bare-per-language">(.*?)</table>', page, re.S).group(1)
    assert rows.count("<tr>") == 1 + len(table)  # header + a row per language
    for r in table.sample(3, random_state=0).itertuples():
        assert f"<td class=l>{r.language}</td><td>{r.score:.1f}</td>" in rows
    zero_shot = table[table["language"] != "en"]
    answer = f"udhr ({table['metric'].iloc[0]}): {zero_shot['score'].mean():.2f} points"
    assert answer in page and "No Δ could be computed" not in page


def test_one_seed_draws_no_seed_figure_and_the_methods_are_a_short_list(bare):
    _, report_dir = bare
    figures = {p.stem for p in (report_dir / "figures").glob("*.png")}
    assert "scores_per_language" in figures and "seed_spread" not in figures
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    methods = re.search(r"<ul id=methods>(.*?)</ul>", page, re.S).group(1)
    assert all(len(item) < 200 for item in re.findall(r"<li>(.*?)</li>", methods, re.S))
    assert 'href="methods.html"' in methods
    assert "hierarchical bootstrap" in (report_dir / "methods.html").read_text(encoding="utf-8")


def test_the_model_hash_is_recorded(bare):
    study_dir, report_dir = bare
    from xstilts.analysis.report import provenance_summary

    prov = provenance_summary(study_dir)
    assert prov["models"] == ["embedded:multilingual-e5-small"]
    (entry,) = prov["model_hashes"]
    assert re.fullmatch(r"embedded:multilingual-e5-small model\.safetensors: [0-9a-f]{64}", entry)
    page = (report_dir / "index.html").read_text(encoding="utf-8")
    assert entry in page and "model hash(es): <code>unknown" not in page
    assert prov["data_hashes"]  # the curated splits it read


def test_the_bare_report_in_a_browser(browser, bare):  # noqa: F811 - fixture by name
    _, report_dir = bare
    images = _check_page(browser, report_dir / "index.html", "report_bare_study.png", 1)
    assert "fig-scores_per_language" in {img["id"] for img in images}
