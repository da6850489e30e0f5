"""The protocol table (xstilts.tasks.protocol) against the catalogue, and the reference table."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from xstilts.analysis.reference import protocol_reference
from xstilts.metrics.registry import get_metric
from xstilts.paths import repo_root
from xstilts.tasks import Format, all_tasks, get_task
from xstilts.tasks.protocol import PROTOCOLS, retrieval_layer, training_phases


def test_every_registered_task_metric_resolves():
    for spec in all_tasks():
        get_metric(spec.metric)  # raises UnknownMetricError naming the metric


def test_every_target_trains_from_a_source_or_is_retrieval():
    for spec in all_tasks():
        if "target" not in spec.roles or not spec.available:
            continue
        if spec.format is Format.RETRIEVAL:
            assert not PROTOCOLS.get(spec.name) or not PROTOCOLS[spec.name].phases
            continue
        for phase in training_phases(spec.name):
            source = get_task(phase.train)
            assert "train" in source.splits, (spec.name, phase.train)
            assert source.format is spec.format, (spec.name, phase.train)
            if spec.format in (Format.SINGLE, Format.PAIR, Format.TAGGING, Format.MULTI_LABEL):
                # a classifier trained on one label set is scored on the same label set
                assert source.label_names == spec.label_names, (spec.name, phase.train)
            assert "validation" in get_task(phase.dev).splits or phase.dev == phase.train


def test_protocol_is_the_catalogue_s_metric_and_languages():
    for name, proto in PROTOCOLS.items():
        spec = get_task(name)
        assert spec.metric == proto.metric, name
        assert set(proto.languages) <= set(spec.languages), name
        assert (proto.retrieval is not None) == (spec.format is Format.RETRIEVAL), name
    assert [p.train for p in PROTOCOLS["xcopa"].phases] == ["siqa", "copa"]
    assert [(p.train, p.dev) for p in PROTOCOLS["xnli"].phases] == [("mnli", "xnli")]
    assert PROTOCOLS["xquad"].phases[0].train == PROTOCOLS["mlqa"].phases[0].train == "squad"


def test_retrieval_layers_follow_the_xtreme_scripts():
    # run_tatoeba.sh --specific_layer 13 for XLM-R; run_bucc2018.sh 7; +1 for the embeddings
    assert retrieval_layer("tatoeba", "xlm-roberta-large") == 14
    assert retrieval_layer("tatoeba", "FacebookAI/xlm-roberta-large") == 14
    assert retrieval_layer("bucc", "xlm-roberta-large") == 8
    assert retrieval_layer("tatoeba", "bert-base-multilingual-cased") == 8
    assert retrieval_layer("tatoeba", "google/mt5-large") is None  # no XTREME setting
    assert retrieval_layer("udhr", "xlm-roberta-large") is None  # not a protocol target
    assert PROTOCOLS["tatoeba"].retrieval.direction == "en_to_x"


def _results(model: str, langs: list[str], value: float) -> pd.DataFrame:
    rows = [
        {
            "run": f"target/xnli-s{seed}",
            "intermediate": "baseline",
            "layer": float("nan"),
            "target": "xnli",
            "model": model,
            "metric": "accuracy",
            "language": lang,
            "seed": seed,
            "value": value + seed / 100,
        }
        for lang in langs
        for seed in (1, 2)
    ]
    return pd.DataFrame(rows)


def _xtreme_train(task: str) -> dict:
    """The TrainConfig that the xtreme profile resolves to for ``task`` (as metrics.json has it)."""
    from xstilts.orchestration.grid import expand
    from xstilts.orchestration.params import load_study

    study = load_study(
        repo_root() / "params" / "domains.yaml",
        ["profile=xtreme", "curate.task_options={}", f"target.tasks={json.dumps([task])}"],
        registry=False,
    )
    (run,) = [r for r in expand(study).of("target") if r.config["intermediate"] is None][:1]
    return run.config["train"] if "train" in run.config else run.config


RECIPE_TARGETS = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "xcopa"]


@pytest.mark.parametrize("task", RECIPE_TARGETS)
def test_the_xtreme_profile_follows_xtremes_scripts(task):
    from xstilts.tasks.xtreme_recipes import RECIPES, deviations

    assert set(RECIPES) == set(RECIPE_TARGETS)
    train = _xtreme_train(task)
    assert deviations(task, train) == []
    # and the X-STILTs profile does not: its numbers are never put beside Hu et al. as equal
    assert deviations(task, {**train, "lr": 1e-5}) == [f"lr 1e-05 (xtreme {RECIPES[task].lr})"]


def test_reference_table_puts_the_published_number_beside_the_baseline():
    every = list(PROTOCOLS["xnli"].languages)
    xtreme = {f"target/xnli-s{s}": _xtreme_train("xnli") for s in (1, 2)}
    table = protocol_reference(_results("xlm-roberta-large", every, 0.79), xtreme)
    row = table.iloc[0]
    assert row["published"] == 79.2 and row["comparable"]
    assert row["recipe"] == "xtreme train_xnli.sh"
    phang = {run: {**cfg, "lr": 1e-5, "epochs": 2} for run, cfg in xtreme.items()}
    other_recipe = protocol_reference(_results("xlm-roberta-large", every, 0.79), phang).iloc[0]
    assert not other_recipe["comparable"] and "lr 1e-05 (xtreme 3e-05)" in other_recipe["recipe"]
    unchecked = protocol_reference(_results("xlm-roberta-large", every, 0.79)).iloc[0]
    assert not unchecked["comparable"] and unchecked["recipe"] == "not checked"
    assert row["baseline_measured"] == pytest.approx(79.0 + 1.5)
    assert row["training"] == "mnli (dev: xnli)" and row["languages"] == "15 of 15"
    partial = protocol_reference(_results("xlm-roberta-large", ["en", "de"], 0.8)).iloc[0]
    assert not partial["comparable"] and partial["languages"] == "2 of 15"
    other = protocol_reference(_results("google/mt5-large", every, 0.8)).iloc[0]
    assert pd.isna(other["published"]) and not other["comparable"]


def test_both_benchmark_averages_and_the_xtreme_one_is_compared():
    """UD-POS run on XTREME-R's 37 languages: the XTREME average (33, what Hu et al. report) and
    the XTREME-R one are both given; comparability needs every XTREME language."""
    from xstilts.languages import BENCHMARK_LANGUAGES

    xtreme, xtremer = (BENCHMARK_LANGUAGES["udpos"][b] for b in ("XTREME", "XTREME-R"))
    rows = _results("xlm-roberta-large", list(xtremer), 0.5)
    rows["target"], rows["metric"] = "udpos", "f1"
    extra = rows["language"].isin(set(xtremer) - set(xtreme))
    rows.loc[extra, "value"] = 0.2  # the XTREME-R additions score lower
    train = {r: {**_xtreme_train("udpos")} for r in rows["run"].unique()}
    row = protocol_reference(rows, train).iloc[0]
    assert row["xtreme_languages"] == f"{len(xtreme)} of {len(xtreme)}"
    assert row["xtremer_languages"] == f"{len(xtremer)} of {len(xtremer)}"
    assert row["baseline_xtreme"] == row["baseline_measured"] == pytest.approx(51.5)
    expected = (len(xtreme) * 51.5 + (len(xtremer) - len(xtreme)) * 20.0) / len(xtremer)
    assert row["baseline_xtremer"] == pytest.approx(expected, abs=0.01)
    assert row["comparable"]


def test_languages_that_need_files_are_left_out_of_curate_without_them(tmp_path):
    """Tatoeba's XTREME-R additions exist only as LASER files: without them curate never asks
    the hub for those languages (the dry run names them); with them they are curated."""
    from xstilts.configs import CurateConfig
    from xstilts.stages.curate import _target_languages
    from xstilts.tasks import get_task

    targets = {"tatoeba": get_task("tatoeba")}
    asked = {"tatoeba": ["de", "az", "lt"]}
    bare = CurateConfig(target_tasks=["tatoeba"], task_languages=asked)
    assert _target_languages(bare, targets) == {"tatoeba": ["de"]}
    files = {"tatoeba": {"data_files": str(tmp_path)}}
    given = CurateConfig(target_tasks=["tatoeba"], task_languages=asked, task_options=files)
    assert _target_languages(given, targets) == {"tatoeba": ["de", "az", "lt"]}
