"""``params/default.yaml`` itself (what ``make study`` runs) through every stage and the report.

The file is not copied: ``-p`` overrides shrink it for CI (the tiny test model, one seed, a few
rows per task, two steps per run, two languages per target). Every intermediate task (legal,
biomedical, general) and every target of the file runs, on the real registry-package data.
"""

from __future__ import annotations

import json

import pytest
import yaml

from study_runner import run_study
from tiny_models import tiny_encoder, tiny_tokenizer
from xstilts.paths import repo_root
from xstilts.tasks import get_task

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
STUDY = repo_root() / "params" / "default.yaml"
SMALL = {"max_steps": 2, "max_length": 64, "batch_size": 4, "device": "cpu", "eval_every": 2}


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    base = tmp_path_factory.mktemp("default")
    tok = tiny_tokenizer()
    model = base / "tiny-xlmr"
    tiny_encoder("xlmr", len(tok), seed=0, dropout=0.1).save_pretrained(model)
    tok.save_pretrained(model)
    overrides = {
        "model": str(model),
        "seeds.intermediate": [1],
        "seeds.target": [1],
        "curate.task_languages": {
            "icd10": ["en", "de"],
            "gnome_help": ["en", "ru"],
            "udhr": ["de", "fr"],
        },
        "curate.n_intermediate": 12,
        "curate.n_intermediate_dev": 4,
        "curate.n_target_train": 12,
        "curate.n_target_dev": 4,
        "curate.n_target_test": 6,
        "curate.max_retrieval_items": 6,
        "intermediate.train": SMALL,
        "target.train": SMALL,
    }
    return run_study(STUDY, base, overrides)


def test_every_domain_and_target_runs_and_the_report_compares_the_domains(capped):
    study_dir, report_dir = capped
    spec = yaml.safe_load(STUDY.read_text())
    intermediates = spec["intermediate"]["tasks"]
    assert {get_task(t).domain for t in intermediates} == {"legal", "biomedical", "general"}
    assert len({get_task(t).format for t in intermediates}) == 1  # format-matched arms
    ran = {
        json.loads((r / "metrics.json").read_text())["config"]["task"]
        for r in (study_dir / "intermediate").iterdir()
    }
    assert ran == set(intermediates)
    manifest = json.loads(
        next((study_dir / "curate").iterdir()).joinpath("manifest.json").read_text()
    )
    sizes = {manifest["tasks"][t]["training_size"]["examples"] for t in intermediates}
    assert sizes == {12}, sizes  # the same size N for every domain
    sources = {}
    for run in (study_dir / "target").iterdir():
        metrics = json.loads((run / "metrics.json").read_text())
        sources.setdefault(metrics["task"], set()).add(metrics["intermediate"])
        assert metrics["per_language"], run
    assert set(sources) == set(spec["target"]["tasks"])
    trained = {None, *(f"{t}-s1" for t in intermediates)}  # checkpoint = task + its seed
    assert all(s == trained for s in sources.values()), sources
    summary = json.loads((report_dir / "summary.json").read_text())
    text = " ".join(summary["headline"])
    for domain in ("Legal", "Biomedical", "General"):
        assert f"{domain} intermediate training" in text, text
    for target in spec["target"]["tasks"]:  # each domain has a target of its own
        assert f"Matching domains on {target} ({get_task(target).domain})" in text, text
