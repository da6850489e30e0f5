"""Every intermediate task of the catalogue runs: curate -> intermediate stage. Hub tasks read a
mini snapshot of their repository in its exact layout and schema
(``xtreme_snapshot.build_intermediates``); embedded tasks read their registry packages from the
asset cache (``make assets``), real data either way."""

from __future__ import annotations

import json

import pytest
import torch

from tiny_models import tiny_encoder, tiny_tokenizer
from xstilts.assets.table import ASSETS, asset_of
from xstilts.stages import curate, intermediate
from xstilts.tasks import all_tasks
from xtreme_snapshot import build, build_intermediates

pytestmark = pytest.mark.slow
HUB_INTERMEDIATES = sorted(
    t.name for t in all_tasks() if "intermediate" in t.roles and t.source.kind in ("hub", "local")
)
# the BIG-bench tasks read a copy the user supplies (no registry serves bigbench 1.0.0 any more)
EMBEDDED_INTERMEDIATES = sorted(
    t.name
    for t in all_tasks()
    if "intermediate" in t.roles
    and t.source.kind == "embedded"
    and not ASSETS[asset_of(t.source.id)].user_supplied
)
TRAIN = {"max_steps": 2, "batch_size": 4, "max_length": 64, "device": "cpu", "eval_every": 2}


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    base = tmp_path_factory.mktemp("intermediates")
    opts = build(base / "data")
    env = build_intermediates(base / "data")
    mp = pytest.MonkeyPatch()
    for key, value in env.items():
        mp.setenv(key, value)
    mp.setenv("HF_HUB_OFFLINE", "1")
    tok = tiny_tokenizer()
    model = base / "tiny"
    tiny_encoder("xlmr", len(tok), seed=0).save_pretrained(model)
    tok.save_pretrained(model)
    torch.set_num_threads(1)
    cfg = {
        "intermediate_tasks": HUB_INTERMEDIATES + EMBEDDED_INTERMEDIATES,
        "target_tasks": [],
        "model": str(model),
        "hub_snapshots": opts["hub_snapshots"],
        "n_intermediate": 12,
        "n_intermediate_dev": 4,
        "match_sizes": "steps",
        "window_length": 64,
        "window_stride": 16,
    }
    manifest = curate.run(cfg, base / "curate")
    yield base, model, manifest
    mp.undo()


def test_every_hub_intermediate_is_curated_with_its_size_recorded(curated):
    _, _, manifest = curated
    assert not manifest["skipped"]
    for task in HUB_INTERMEDIATES + EMBEDDED_INTERMEDIATES:
        entry = manifest["tasks"][task]
        assert entry["splits"]["train"]["rows"] > 0 and entry["splits"]["validation"]["rows"] > 0
        size = entry["training_size"]
        assert size["match"] == "steps" and size["windows"] >= 1 and size["tokens"] > 0
    windows = {
        t: manifest["tasks"][t]["training_size"]["windows"]
        for t in HUB_INTERMEDIATES + EMBEDDED_INTERMEDIATES
    }
    # matched on steps: no task gets more windows than the smallest task's budget allows
    budget = min(windows.values())
    assert all(w <= budget + 8 for w in windows.values()), windows  # one row may cross it


@pytest.mark.parametrize("task", HUB_INTERMEDIATES + EMBEDDED_INTERMEDIATES)
def test_intermediate_stage_runs(curated, task):
    base, model, _ = curated
    out = base / "runs" / task
    metrics = intermediate.run({"model": str(model), "task": task, **TRAIN}, base / "curate", out)
    assert metrics["steps"] == 2 and "dev_score" in metrics
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["dev_score"] == metrics["dev_score"]
    assert (out / "encoder" / "model.safetensors").exists()
