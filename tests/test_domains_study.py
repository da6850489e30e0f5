"""``params/domains.yaml`` itself, the mission's study file, through every stage and the report.

The file is not copied: only ``-p`` overrides shrink it for CI (the tiny test model on CPU, the
mini hub snapshots of ``xtreme_snapshot``, one seed, a few rows, two steps per run, two of its
targets: XNLI and the legal MultiEURLEX). Every intermediate task and mixture of the file runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from study_runner import run_study
from tiny_models import tiny_encoder, tiny_tokenizer
from xstilts.orchestration.grid import trains_nothing
from xstilts.paths import repo_root
from xtreme_snapshot import build, build_intermediates

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
STUDY = repo_root() / "params" / "domains.yaml"


def test_dry_run_prints_the_grid_and_a_gpu_hour_estimate_offline():
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "xstilts", "run", str(STUDY), "--dry-run"],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spec = yaml.safe_load(STUDY.read_text())
    n_inter = len(spec["intermediate"]["tasks"]) + len(spec["intermediate"]["mixtures"])
    n_seeds = len(spec["seeds"]["target"])
    n_retrieval = sum(trains_nothing(t) for t in spec["target"]["tasks"])  # BUCC, Tatoeba
    n_trained = len(spec["target"]["tasks"]) - n_retrieval
    assert n_retrieval == 2
    # matched seeds: each checkpoint once per target; the baseline every seed, but once for a
    # retrieval target (nothing is trained, so a seed changes nothing)
    n_targets = n_trained * (n_inter + 1) * n_seeds + n_retrieval * (n_inter * n_seeds + 1)
    assert f"{n_inter * n_seeds} intermediate" in done.stdout
    assert f"{n_targets} target" in done.stdout
    assert "GPU-hours on cuda" in done.stdout and "without an estimate" not in done.stdout
    # intermediates that are a target's own training source are named before anything runs
    assert "design confounds (6; run; target.exclude_confounded: true drops them)" in done.stdout
    for pair in (
        "mnli -> xnli",
        "squad -> xquad",
        "squad -> mlqa",
        "mnli (in general_mix) -> xnli",
    ):
        assert pair in done.stdout
    # and the benchmark languages no source has, with what the average then covers
    assert "languages without data: tatoeba: az, lt, pl, uk, ro (XTREME-R lists it;" in done.stdout
    assert "its XTREME-R average covers 36 of 41" in done.stdout
    total = 1 + n_inter * n_seeds + n_targets + 1  # curate, intermediates, targets, analysis
    docs = (repo_root() / "docs" / "full-study.md").read_text(encoding="utf-8")
    assert f"`--dry-run` prints its {total} runs" in docs  # the docs stay true of the file


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    base = tmp_path_factory.mktemp("domains")
    opts = build(base / "data")
    env_extra = build_intermediates(base / "data")
    tok = tiny_tokenizer()
    model = base / "tiny-xlmr"
    tiny_encoder("xlmr", len(tok), seed=0, dropout=0.1).save_pretrained(model)
    tok.save_pretrained(model)
    small = {
        "max_steps": 2,
        "max_length": 64,
        "batch_size": 4,
        "grad_accum": 1,
        "device": "cpu",
        "precision": "auto",
        "eval_every": 2,
    }
    overrides = {
        "model": str(model),
        "seeds.intermediate": [1],
        "seeds.target": [1],
        "target.tasks": ["xnli", "multi_eurlex"],
        "curate.hub_snapshots": opts["hub_snapshots"],
        "curate.task_languages": {"xnli": ["en", "de"], "multi_eurlex": ["en", "de"]},
        "curate.n_intermediate": 12,
        "curate.n_intermediate_dev": 4,
        "curate.n_target_train": 12,
        "curate.n_target_dev": 4,
        "curate.n_target_test": 6,
        "curate.window_length": 64,
        "curate.window_stride": 16,
        # epochs, not max_steps: the domain mixtures' budgets (4, 4 and 2 tasks) must come out equal
        "intermediate.train": {**small, "max_steps": 0, "epochs": 1},
        "target.train": small,
        "resources.default": {"gpus": 0},
    }
    return run_study(STUDY, base, overrides, env_extra)


def test_capped_study_runs_every_intermediate_and_names_the_domain_contrasts(capped):
    study_dir, report_dir = capped
    spec = yaml.safe_load(STUDY.read_text())
    wanted = set(spec["intermediate"]["tasks"]) | set(spec["intermediate"]["mixtures"])
    ran = {
        json.loads((r / "metrics.json").read_text())["config"]["task"]
        for r in (study_dir / "intermediate").iterdir()
    }
    assert ran == wanted
    manifest = json.loads(
        next((study_dir / "curate").iterdir()).joinpath("manifest.json").read_text()
    )
    sizes = {t: manifest["tasks"][t]["training_size"] for t in spec["intermediate"]["tasks"]}
    assert {s["match"] for s in sizes.values()} == {"steps"}
    summary = json.loads((report_dir / "summary.json").read_text())
    text = " ".join(summary["headline"])
    for domain in ("General", "Legal", "Biomedical"):
        assert f"{domain} intermediate training" in text
    assert "Domain contrast legal − general" in text or "Domain contrast general − legal" in text
    assert "Matching domains on multi_eurlex (legal)" in text
    contrasts = pd.read_csv(report_dir / "tables" / "domain_contrasts.csv")
    assert set(contrasts["kind"]) == {"domain contrast"}  # >= 2 tasks per domain, mixtures apart
    tex = (report_dir / "tables" / "paper_table2.tex").read_text()
    assert r"\toprule" in tex and "bare model" in tex and "legal\\_mix" in tex
    assert (report_dir / "tables" / "paper_domain_gains.tex").exists()


def test_each_domain_mixture_trains_the_same_number_of_steps(capped):
    """One mixture per domain, of 4, 4 and 2 matched tasks: the 2-task one runs twice the
    epochs, so every domain arm gets about the same updates (not half)."""
    study_dir, _ = capped
    mixtures = {}
    for run in (study_dir / "intermediate").iterdir():
        metrics = json.loads((run / "metrics.json").read_text())
        if len(metrics["tasks"]) > 1:
            mixtures[metrics["config"]["task"]] = metrics
    assert sorted(mixtures) == ["biomedical_mix", "general_mix", "legal_mix"]
    assert mixtures["biomedical_mix"]["epochs"] == 2 and mixtures["legal_mix"]["epochs"] == 1
    steps = [m["steps"] for m in mixtures.values()]
    assert max(steps) <= 1.2 * min(steps), {k: m["steps"] for k, m in mixtures.items()}


def test_exclude_confounded_drops_exactly_the_confounded_target_runs(tmp_path):
    from xstilts.orchestration.grid import expand
    from xstilts.orchestration.params import load_study

    bucc = [f"curate.task_options.bucc.data_files={json.dumps(str(tmp_path))}"]
    kept = expand(load_study(STUDY, bucc)).of("target")
    dropped = expand(load_study(STUDY, [*bucc, "target.exclude_confounded=true"])).of("target")
    gone = {r.name for r in kept} - {r.name for r in dropped}
    n_seeds = len(yaml.safe_load(STUDY.read_text())["seeds"]["target"])
    # mnli and general_mix -> xnli; squad and general_mix -> xquad and mlqa; per seed
    assert len(gone) == 6 * n_seeds and len(kept) - len(dropped) == len(gone)
    assert all(
        any(
            f"{t}__from-{i}-s" in name
            for t, i in [
                ("xnli", "mnli"),
                ("xnli", "general_mix"),
                ("xquad", "squad"),
                ("xquad", "general_mix"),
                ("mlqa", "squad"),
                ("mlqa", "general_mix"),
            ]
        )
        for name in gone
    )
