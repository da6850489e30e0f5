"""Analysis stage outputs and offline HTML rendering of the small study fixture."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from xstilts.analysis.report import external_resources, render_study, strip_external
from xstilts.stages import analysis
from xstilts.stages.analysis import AnalysisConfig

FIXTURE = Path(__file__).parent / "fixtures" / "study_small"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("report")
    study = Path(shutil.copytree(FIXTURE, tmp / "runs" / "study_small"))
    analysis.run({"fertility": False}, study, tmp / "reports")
    render_study(study, tmp / "reports")
    return study, tmp / "reports"


def test_figures_and_tables_written(rendered):
    _, reports = rendered
    out = reports / "study_small"
    for name in (
        "heatmap_delta",
        "delta_per_language",
        "seed_spread",
        "delta_vs_similarity",
        "retrieval_layers",
    ):
        for ext in ("png", "svg"):
            assert (out / "figures" / f"{name}.{ext}").stat().st_size > 1000, name
    for name in (
        "cells",
        "deltas",
        "domains",
        "domain_contrasts",
        "forgetting",
        "languages",
        "task_scores",
    ):
        assert not pd.read_csv(out / "tables" / f"{name}.csv").empty, name


def test_every_table_says_whether_english_is_in_its_averages(rendered):
    from xstilts.stages.analysis import ENGLISH

    _, reports = rendered
    out = reports / "study_small"
    for path in sorted((out / "tables").glob("*.csv")):
        table = pd.read_csv(path)
        if path.stem == "languages" or table.empty:
            continue
        assert set(table["english"]) == {ENGLISH[path.stem]}, path.name
    page = (out / "index.html").read_text()
    assert "score summary (English included: XTREME-style" in page
    assert "domains (English excluded: mean over the zero-shot" in page
    # the Phang-style table: the bare-model row over the same (non-English) languages as the Δs
    per_lang = pd.read_csv(out / "tables" / "scores_per_language.csv")
    bare = per_lang[(per_lang["intermediate"] == "baseline") & (per_lang["language"] != "en")]
    paper = pd.read_csv(out / "tables" / "paper_table2.csv").set_index("intermediate")
    assert set(bare["target"]) == set(paper.columns) - {"english"}
    for target, grp in bare.groupby("target"):
        expected = grp.groupby("run")["score"].mean().mean()
        assert float(paper.loc["bare model", target]) == pytest.approx(expected, abs=0.051)


def test_correlations_are_per_target_and_carry_no_p(rendered):
    """Targets differ in metric and text: a correlation is never pooled over them, and one over
    a handful of intermediates (or languages) that share the target's models gets no p-value."""
    _, reports = rendered
    corr = pd.read_csv(reports / "study_small" / "tables" / "correlations.csv")
    cells = pd.read_csv(reports / "study_small" / "tables" / "cells.csv")
    assert "p" not in corr.columns and corr["target"].notna().all()
    assert set(corr["target"]) == set(cells["target"])
    assert corr["kind"].str.startswith("exploratory").all()
    for r in corr[corr["x"].str.contains("jaccard")].itertuples():
        assert r.n == (cells["target"] == r.target).sum()  # intermediates of that target alone


def test_index_pages_are_self_contained_and_answer(rendered):
    _, reports = rendered
    page = (reports / "study_small" / "index.html").read_text()
    assert external_resources(page) == []
    assert page.count('src="data:image/png;base64,') >= 4
    table = re.search(r"<table id=\"headline-table\">(.*?)</table>", page, re.S).group(1)
    assert table.count("<tr") == 1 + 12
    cells = pd.read_csv(reports / "study_small" / "tables" / "cells.csv")
    legal = cells[cells["intermediate"] == "casehold"]["delta"]
    assert f"{legal.min():+.2f}" in table  # numbers in the table are the computed ones
    domains = pd.read_csv(reports / "study_small" / "tables" / "domains.csv")
    general = domains[(domains["target"] != "all") & (domains["domain"] == "general")]
    assert len(general) > 1  # one sentence per target: targets' units differ
    for g in general.to_dict("records"):
        verb = "raised" if g["delta"] > 0 else "lowered"
        assert (
            f"General intermediate training (1 task(s): {g['tasks']}) {verb} zero-shot "
            f"transfer on {g['target']} by {abs(g['delta']):.2f} points" in page
        )
    assert "one task stands for the domain, so this is that task&#39;s effect" in page
    root = (reports / "index.html").read_text()
    assert external_resources(root) == [] and 'href="study_small/index.html"' in root


def test_stage_notebooks_rendered_without_inputs_or_cdn(rendered):
    _, reports = rendered
    pages = sorted((reports / "study_small" / "stages").rglob("*.html"))
    assert [p.relative_to(reports / "study_small").as_posix() for p in pages] == [
        "stages/curate/quick.html",
        "stages/target/multiemo-baseline-s1.html",
    ]
    for p in pages:
        html = p.read_text()
        assert external_resources(html) == [], p
        assert "cdnjs" not in html and "require.min.js" not in html
        assert "data:image/png;base64," in html and "rows: 5" in html
        assert "show()" not in html  # exclude_input


def test_external_resource_detection_and_stripping():
    page = (
        '<html><head><script src="https://cdn.x/require.js"></script>'
        '<script type="text/x-mathjax-config">MathJax.Hub.Config({})</script>'
        '<script type="module">import m from "https://cdn.x/mermaid.mjs";</script>'
        '<link rel="stylesheet" href="//fonts.x/css"><style>@import "https://x/y.css";</style>'
        '<script>var a = 1;</script></head><body><a href="https://example.org">ok link</a>'
        '<img src="http://x/y.png"></body></html>'
    )
    found = external_resources(page)
    assert len(found) == 5
    stripped = strip_external(page)
    assert [
        f for f in external_resources(stripped) if "script" in f or "link" in f or "js" in f
    ] == []
    assert "var a = 1" in stripped and "https://example.org" in stripped


def test_config_rejects_unknown_keys():
    with pytest.raises(ValueError, match="unknown key"):
        AnalysisConfig.from_dict({"alpah": 0.1})


def test_the_answer_opens_with_domains_against_every_target(rendered):
    """The first thing under "Answer" is the domain × target table, with intervals over seeds,
    from the analysis's own domain table, bold exactly where the confirmatory family says
    significant: a domain row of its own, or the one cell of a one-task domain."""
    _, reports = rendered
    page = (reports / "study_small" / "index.html").read_text()
    answer = page[page.index("<h2>Answer</h2>") :]
    assert answer.index('<table id="domain-glance">') < answer.index("<ul class=headline")
    table = re.search(r'<table id="domain-glance">(.*?)</table>', page, re.S).group(1)
    domains = pd.read_csv(reports / "study_small" / "tables" / "domains.csv")
    domains = domains[domains["target"] != "all"]
    cells_csv = pd.read_csv(reports / "study_small" / "tables" / "cells.csv")
    sig = cells_csv[(cells_csv["family"] == "confirmatory") & (cells_csv["q"] < 0.05)]
    sig_cells = set(zip(sig["intermediate"], sig["target"], strict=True))
    targets = sorted(domains["target"].unique())
    header = re.findall(r"<th>(.*?)</th>", table)
    assert header == targets
    caption = re.sub(r"\s+", " ", re.search(r"<caption>(.*?)</caption>", table, re.S).group(1))
    methods = "; ".join(sorted(domains["p_method"].unique()))
    assert f"[95% interval: {methods}]" in caption  # the inference behind these numbers
    rows = re.findall(r"<tr><td class=l>(\w+) \(.*?\)</td>(.*?)</tr>", table, re.S)
    assert [d for d, _ in rows] == sorted(domains["domain"].unique())
    for domain, html in rows:
        cells = re.findall(r'<td class="([^"]*)">(.*?)<br><small>\[(.*?), (.*?)\];', html)
        assert len(cells) == len(targets)
        for target, (css, delta, low, high) in zip(targets, cells, strict=True):
            r = domains[(domains["domain"] == domain) & (domains["target"] == target)].iloc[0]
            assert (delta, low, high) == tuple(
                f"{r[k]:+.2f}" for k in ("delta", "ci_low", "ci_high")
            )
            own = r["family"] == "confirmatory" and r["q"] < 0.05
            assert ("sig" in css) == bool(
                own or (r["n_tasks"] == 1 and (r["tasks"], target) in sig_cells)
            )


def test_an_interim_report_says_so_first(tmp_path):
    """With runs of the grid unfinished (`xstilts report` mid-study), the answer's first line
    names them and says the numbers will change."""
    import json

    study = Path(shutil.copytree(FIXTURE, tmp_path / "runs" / "study_small"))
    finished = [f"target/{p.parent.name}" for p in (study / "target").glob("*/DONE")]
    missing = ["target/xquad__baseline__s9-0000000000", "intermediate/casehold__s9-0000000000"]
    grid = {"study": "study_small", "runs": [{"id": i, "stage": i.split("/")[0]} for i in finished]}
    grid["runs"] += [{"id": i, "stage": i.split("/")[0]} for i in missing]
    (study / "grid.json").write_text(json.dumps(grid))
    summary = analysis.run({"fertility": False}, study, tmp_path / "reports")
    assert summary["unfinished_runs"] == missing
    first = summary["headline"][0]
    assert first.startswith("Interim report: 2 run(s) of the study have not finished (")
    assert missing[0] in first and "will change when they finish" in first
    (study / "grid.json").unlink()  # no grid manifest: nothing known to be missing
    summary = analysis.run({"fertility": False}, study, tmp_path / "reports2")
    assert summary["unfinished_runs"] == [] and not summary["headline"][0].startswith("Interim")


def test_the_methods_page_names_the_inference_the_tables_used(rendered):
    """methods.html describes both inferences the tables' p_method can name (the t over seeds
    where no item scores exist, as in this study; the generalized interval where they do), and
    not the Satterthwaite t the crossed case used before."""
    _, reports = rendered
    methods = (reports / "study_small" / "methods.html").read_text(encoding="utf-8")
    cells = pd.read_csv(reports / "study_small" / "tables" / "cells.csv")
    assert set(cells["p_method"]) == {"t over seeds"} and "t interval and t test" in methods
    assert (
        "generalized\n(fiducial) interval" in methods
        or "generalized (fiducial) interval" in methods
    )
    assert "with Satterthwaite's degrees of freedom, and the" not in methods
