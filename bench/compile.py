"""Does ``torch.compile`` pay back its compile time in a study's training stage? (opt-in:
``python -m bench compile``)

The setting is the default study's MultiEmo target fine-tuning as the trainer runs it: real
English MultiEmo training reviews, batch 16, ≤ 128 tokens with dynamic padding (so shapes vary
from step to step: ``dynamic=True``), frozen embeddings, fused AdamW, ``precision: auto``, every
core. Arms, each on a fresh model and the same batches: eager; the encoder under
``torch.compile`` (inductor), whose first step includes the compile; and a second compiled model
in the same process, as a kept kernel's next stage would see it. The first compile is cold:
inductor's on-disk cache goes to a new temporary directory for the run
(``TORCHINDUCTOR_CACHE_DIR``), which the second compile then finds warm, as would every later
stage on the machine. A stage pays back when compile + its steps take less than its steps eager;
the default study's MultiEmo stage has 32 steps.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from unittest import mock

import torch

from . import common
from .harness import Recorder, Row

STAGE_STEPS = 32  # 256 English MultiEmo reviews, batch 16, 2 epochs (params/default.yaml)


def _model():
    from xstilts.models.heads import TaskModel
    from xstilts.tasks.icd10 import LABELS
    from xstilts.training.trainer import TrainConfig, _optimizer, freeze_embeddings

    torch.manual_seed(1)
    model = TaskModel.for_tasks(common.encoder(), {"m": ("single", len(LABELS))}).train()
    freeze_embeddings(model)
    return model, _optimizer(model, TrainConfig(batch_size=16))


def _batches(steps: int, batch_size: int, max_length: int) -> list[dict]:
    from xstilts.training import featurize
    from xstilts.training.batching import collate, shuffled_batches

    rows = common.rows("icd10", "train", "en", steps * batch_size)
    feats = featurize(rows, "single", common.tokenizer(), max_length, train=True)
    pad = common.tokenizer().pad_token_id
    order = shuffled_batches(len(feats), batch_size, 1, 0)[:steps]
    return [collate([feats[i] for i in idx], pad) for idx in order]


def _train(batches: list[dict], compiled: bool) -> dict:
    """Per-step seconds (the first includes a compile) and losses of one fresh model."""
    from xstilts.precision import autocast

    model, opt = _model()
    if compiled:
        model.encoder = torch.compile(model.encoder, dynamic=True)
    seconds, losses = [], []
    for step, batch in enumerate(batches, 1):
        torch.manual_seed(step)
        start = time.perf_counter()
        with autocast("auto", torch.device("cpu")):
            loss = model(batch, "m").loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - start)
        losses.append(float(loss.detach()))
    return {"step_s": seconds, "loss": losses}


def _stage_s(first: float, steady: float, steps: int = STAGE_STEPS) -> float:
    return first + (steps - 1) * steady


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads, default=0)
    steps, batch_size, max_length = (3, 4, 64) if quick else (12, 16, common.MAX_LENGTH)
    rec = Recorder("compile", quick)
    batches = _batches(steps, batch_size, max_length)
    with (
        tempfile.TemporaryDirectory() as cache,
        mock.patch.dict(os.environ, {"TORCHINDUCTOR_CACHE_DIR": cache}),
    ):
        arms = {
            "eager": _train(batches, compiled=False),
            "compiled": _train(batches, compiled=True),
            "compiled_again": _train(batches, compiled=True),
        }
    steady = {k: statistics.median(v["step_s"][1:]) for k, v in arms.items()}
    first = {k: v["step_s"][0] for k, v in arms.items()}
    eager_stage = STAGE_STEPS * steady["eager"]
    loss_gap = max(
        abs(a - b) for a, b in zip(arms["eager"]["loss"], arms["compiled"]["loss"], strict=True)
    )
    rec.data |= {
        "settings": {"steps": steps, "batch_size": batch_size, "max_length": max_length},
        "threads": threads,
        "arms": arms,
        "steady_step_s": steady,
        "first_step_s": first,
        "largest_loss_difference": loss_gap,
    }
    for arm in ("compiled", "compiled_again"):
        stage = _stage_s(first[arm], steady[arm])
        rec.rows.append(
            Row(
                "torch.compile (MultiEmo target training, inductor, dynamic shapes)",
                f"{arm.replace('_', ' ')}: first step (compile) and median step, "
                f"vs eager; a {STAGE_STEPS}-step stage",
                f"eager {steady['eager']:.2f} s/step; stage {eager_stage:.0f} s",
                f"first {first[arm]:.1f} s, then {steady[arm]:.2f} s/step; stage {stage:.0f} s",
                eager_stage / stage,
                "pays back in a stage",
                stage < eager_stage,
                f"largest loss difference vs eager {loss_gap:.1e}",
            )
        )
    return rec
