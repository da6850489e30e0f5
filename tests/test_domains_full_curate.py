"""``params/domains.yaml`` curated at full size: the study file's own sizes (the xlmr-large
profile's nulls, n_intermediate 20,000 matched on steps), nothing shrunk with ``-p``; only where
the data is (the mini hub snapshots of ``xtreme_snapshot``) and the tokenizer are given.

The snapshots overlap as the real data does: the ``nyu-mll/glue`` MNLI rows that the MNLI
intermediate trains on are XNLI's English training rows, and SQuAD is both an intermediate and
the training (and dev) source of XQuAD and MLQA. The leakage audit once checked intermediates
against the targets' training splits too, and so deleted every MNLI and SQuAD row at full size.
"""

from __future__ import annotations

import json

import pytest

from tiny_models import tiny_tokenizer
from xstilts.configs import IntermediateConfig, coerce_config
from xstilts.orchestration.grid import expand
from xstilts.orchestration.params import load_study
from xstilts.paths import repo_root
from xstilts.stages import curate
from xstilts.stages.intermediate import mixture_budget
from xtreme_snapshot import build, build_intermediates

pytestmark = [pytest.mark.slow]
STUDY = repo_root() / "params" / "domains.yaml"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    base = tmp_path_factory.mktemp("domains_full")
    opts = build(base / "data")
    env = build_intermediates(base / "data")
    tok = base / "tok"
    tiny_tokenizer().save_pretrained(tok)
    overrides = [  # where the data is and which tokenizer: no size is touched
        f"model={json.dumps(str(tok))}",
        f"curate.hub_snapshots={json.dumps(opts['hub_snapshots'])}",
        f"curate.task_options={json.dumps(opts['task_options'])}",
        f"curate.task_languages={json.dumps(opts['task_languages'])}",
    ]
    return base, overrides, env


def _curate(data, name: str, extra: list[str]):
    base, overrides, env = data
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    try:
        grid = expand(load_study(STUDY, [*overrides, *extra]))
        (run,) = grid.of("curate")
        assert run.config["n_intermediate"] == 20000 and run.config["match_sizes"] == "steps"
        assert run.config["n_target_train"] is None  # the profile's full size
        manifest = curate.run(run.config, base / name)
    finally:
        mp.undo()
    return base / name, manifest, grid


@pytest.fixture(scope="module")
def curated(data):
    return _curate(data, "curate", [])


def _rows(out, task, split):
    return [json.loads(line) for line in (out / "tasks" / task / f"{split}.jsonl").open()]


def test_the_xtreme_profile_trains_tydiqa_on_all_of_its_english_train(data, curated):
    """xtreme's train_qa.sh trains TyDiQA-GoldP on its whole English train split; the default
    holds 10 % of it out as English dev. Under the xtreme profile the dev rows stay in train."""
    out, _, _ = curated
    xtreme_out, _, _ = _curate(data, "curate_xtreme", ["profile=xtreme"])
    held_train, held_dev = _rows(out, "tydiqa", "train"), _rows(out, "tydiqa", "validation")
    full_train, dev = (
        _rows(xtreme_out, "tydiqa", "train"),
        _rows(xtreme_out, "tydiqa", "validation"),
    )
    assert held_dev and not {r["id"] for r in held_dev} & {r["id"] for r in held_train}
    assert len(full_train) == len(held_train) + len(held_dev)
    assert {r["id"] for r in dev} <= {r["id"] for r in full_train}


def test_mnli_and_squad_overlap_a_targets_training_data_and_keep_every_row(curated):
    out, manifest, _ = curated
    xnli_train = {(r["text_a"], r["text_b"]) for r in _rows(out, "xnli", "train")}
    mnli_train = {(r["text_a"], r["text_b"]) for r in _rows(out, "mnli", "train")}
    assert mnli_train & xnli_train  # the overlap the old audit deleted
    removed = manifest["leakage"]["removed"]
    assert removed["mnli/train"]["removed"] == 0
    assert removed["squad/train"]["removed"] == 0
    assert removed["squad/validation"]["after"] > 0  # SQuAD dev is XQuAD's dev: kept
    named = {(c["intermediate"], c["target"]) for c in manifest["confounds"]}
    assert {("mnli", "xnli"), ("squad", "xquad"), ("squad", "mlqa")} <= named


def test_every_intermediate_keeps_its_matched_nonzero_size(curated):
    _, manifest, grid = curated
    tasks = {r.config["task"] for r in grid.of("intermediate") if "tasks" not in r.config}
    sizes = {t: manifest["tasks"][t]["training_size"] for t in tasks}
    assert all(s["match"] == "steps" and s["examples"] > 0 for s in sizes.values()), sizes
    windows = [s["windows"] for s in sizes.values()]
    assert min(windows) > 1 and max(windows) - min(windows) <= 1  # matched on steps


def test_per_domain_mixture_budgets_are_equal_within_one_percent(curated):
    """One mixture per domain, of 4, 4 and 2 tasks: each trains the largest mixture's worth of
    windows (``mixture_budget``), so that the biomedical arm gets as many updates as the rest."""
    _, manifest, grid = curated
    budgets = {}
    for run in grid.of("intermediate"):
        if run.config.get("tasks") and run.config["seed"] == 1:
            cfg = coerce_config(IntermediateConfig, run.config)
            windows = sum(manifest["tasks"][t]["training_size"]["windows"] for t in cfg.tasks)
            budgets[cfg.task] = windows * mixture_budget(cfg)
    assert sorted(budgets) == ["biomedical_mix", "general_mix", "legal_mix"]
    assert max(budgets.values()) / min(budgets.values()) <= 1.01, budgets
