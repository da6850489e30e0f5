"""Trainer, batching, samplers, feature cache, checkpoints: determinism and contracts."""

from __future__ import annotations

import collections
import json

import numpy as np
import pytest
import torch

from tiny_models import sentiment_rows, tiny_encoder, tiny_tokenizer
from xstilts.models.family import embedding_block
from xstilts.models.heads import TaskModel
from xstilts.training import (
    TaskSampler,
    TrainConfig,
    TrainTask,
    featurize,
    length_grouped_batches,
    task_probabilities,
    train,
    write_curve,
)
from xstilts.training.batching import collate, shuffled_batches
from xstilts.training.checkpoint import optimizer_tensors, restore_optimizer
from xstilts.training.trainer import linear_schedule

TOK = tiny_tokenizer()


def _head_sum_score(model):
    return {"score": -float(sum(p.detach().sum() for p in model.heads.parameters()))}


class _Stop(Exception):
    pass


def _stop(now: bool) -> None:
    if now:
        raise _Stop


def _run(tmp, seed, max_steps=12, tasks=("a",), evaluate=_head_sum_score, stop_at=None, **kw):
    torch.set_num_threads(1)
    settings = dict(lr=2e-3, batch_size=4, eval_every=6, checkpoint_every=100, device="cpu")
    cfg = TrainConfig(**{**settings, "max_steps": max_steps, "seed": seed, **kw})
    model = TaskModel.for_tasks(
        tiny_encoder("bert", len(TOK), dropout=0.1), {t: ("single", 2) for t in tasks}
    )
    data = [
        TrainTask(
            t, featurize(sentiment_rows(24 + 8 * i, i), "single", TOK, 32, train=True, cache=False)
        )
        for i, t in enumerate(tasks)
    ]
    seen = collections.Counter()
    result = train(
        model,
        data,
        cfg,
        tmp,
        pad_id=TOK.pad_token_id,
        evaluate=evaluate,
        on_step=lambda s, row: _stop(s == stop_at) or seen.update([row["task"]]),
    )
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    return result, weights, seen


def test_same_seed_same_run_other_seed_differs(tmp_path):
    a, wa, _ = _run(tmp_path / "a", seed=5)
    b, wb, _ = _run(tmp_path / "b", seed=5)
    c, wc, _ = _run(tmp_path / "c", seed=6)
    assert a.curve == b.curve and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a.curve != c.curve
    assert [r["step"] for r in a.curve] == list(range(1, 13))
    assert [r["dev"] is not None for r in a.curve].count(True) == 2  # steps 6 and 12
    assert a.best_step in (6, 12) and a.examples == 12 * 4


def test_plain_shuffled_batches_are_seeded_and_resume_exactly(tmp_path):
    a, wa, _ = _run(tmp_path / "a", seed=5, group_by_length=False)
    b, wb, _ = _run(tmp_path / "b", seed=5, group_by_length=False)
    grouped, _, _ = _run(tmp_path / "g", seed=5)
    assert a.curve == b.curve and all(torch.equal(wa[k], wb[k]) for k in wa)
    assert a.curve != grouped.curve
    # interrupted at step 8 after the checkpoint of step 6, then resumed
    with pytest.raises(_Stop):
        _run(tmp_path / "r", seed=5, group_by_length=False, checkpoint_every=6, stop_at=8)
    resumed, wr, _ = _run(tmp_path / "r", seed=5, group_by_length=False, checkpoint_every=6)
    assert resumed.resumed_from == 6 and resumed.curve == a.curve
    assert all(torch.equal(wa[k], wr[k]) for k in wa)


@pytest.mark.parametrize("family", ["xlmr", "bert", "t5"])
def test_whole_embedding_block_frozen_when_asked(tmp_path, family):
    torch.manual_seed(0)
    model = TaskModel.for_tasks(tiny_encoder(family, len(TOK)), {"a": ("single", 2)})
    block = embedding_block(model)
    if family != "t5":  # word, position, token-type tables and the embedding LayerNorm
        assert block is model.encoder.embeddings
        names = {n for n, _ in block.named_parameters()}
        assert {"position_embeddings.weight", "LayerNorm.weight", "LayerNorm.bias"} <= names
    before = {n: p.detach().clone() for n, p in block.named_parameters()}
    assert model.encoder.get_input_embeddings().weight.data_ptr() in {
        p.data_ptr() for p in block.parameters()
    }
    feats = featurize(sentiment_rows(16, 0), "single", TOK, 32, train=True, cache=False)
    train(
        model,
        [TrainTask("a", feats)],
        TrainConfig(
            max_steps=3,
            batch_size=4,
            lr=1e-2,
            warmup_ratio=0.0,
            device="cpu",
            freeze_embeddings=True,
        ),
        tmp_path,
        pad_id=TOK.pad_token_id,
    )
    for name, p in block.named_parameters():
        assert not p.requires_grad, name
        assert torch.equal(before[name], p), name
    # the rest of the encoder did train
    assert any(p.requires_grad for p in model.encoder.parameters())


def test_embeddings_train_when_not_frozen(tmp_path):
    torch.manual_seed(0)
    model = TaskModel.for_tasks(tiny_encoder("xlmr", len(TOK)), {"a": ("single", 2)})
    before = model.encoder.embeddings.LayerNorm.weight.detach().clone()
    feats = featurize(sentiment_rows(16, 0), "single", TOK, 32, train=True, cache=False)
    cfg = TrainConfig(
        max_steps=3, batch_size=4, lr=1e-2, warmup_ratio=0.0, freeze_embeddings=False, device="cpu"
    )
    train(model, [TrainTask("a", feats)], cfg, tmp_path, pad_id=TOK.pad_token_id)
    assert not torch.equal(before, model.encoder.embeddings.LayerNorm.weight)


def test_dev_ties_select_the_later_step(tmp_path):
    """Equal dev scores keep the later checkpoint (the fully trained one), not the first."""
    result, weights, _ = _run(tmp_path, seed=5, evaluate=lambda m: {"score": 0.5})
    assert [e["step"] for e in result.curve if e["dev"] is not None] == [6, 12]
    assert result.best_step == 12
    final, _, _ = _run(tmp_path / "plain", seed=5, evaluate=None)
    assert final.best_step is None


def test_checkpoint_last_keeps_the_final_weights_and_best_dev_the_best(tmp_path):
    """xtreme's train_qa.sh keeps the final model; the default keeps the best English dev
    step's. A dev score that peaks at step 6 tells them apart."""
    peak = {"n": 0}

    def peaks_first(model):
        peak["n"] += 1
        return {"score": 1.0 if peak["n"] == 1 else 0.0}

    best, w_best, _ = _run(tmp_path / "best", seed=5, evaluate=peaks_first)
    peak["n"] = 0
    last, w_last, _ = _run(tmp_path / "last", seed=5, evaluate=peaks_first, checkpoint="last")
    plain, w_plain, _ = _run(tmp_path / "plain", seed=5, evaluate=None)
    assert best.best_step == best.selected_step == 6
    assert last.best_step == 6 and last.selected_step == 12  # dev scored, final weights kept
    assert all(torch.equal(w_last[k], w_plain[k]) for k in w_last)
    assert not all(torch.equal(w_best[k], w_plain[k]) for k in w_best)


def test_warmup_steps_replace_the_ratio(tmp_path):
    result, _, _ = _run(tmp_path, seed=5, warmup_steps=4, warmup_ratio=0.5)
    lrs = [r["lr"] for r in result.curve]
    assert lrs[3] == pytest.approx(2e-3 * 3 / 4) and lrs[4] == pytest.approx(2e-3)  # 4 steps up


def test_multitask_uses_every_head(tmp_path):
    result, _, seen = _run(tmp_path, seed=1, max_steps=30, tasks=("a", "b"))
    assert set(seen) == {"a", "b"}
    assert result.steps == 30


def test_resume_with_other_config_is_refused(tmp_path):
    _run(tmp_path, seed=1, max_steps=4)
    with pytest.raises(ValueError, match="different configuration"):
        _run(tmp_path, seed=1, max_steps=5)


def test_length_grouped_batches_deterministic_and_complete():
    lengths = [(i * 37) % 50 + 1 for i in range(203)]
    a = length_grouped_batches(lengths, 8, seed=3, epoch=0)
    assert a == length_grouped_batches(lengths, 8, seed=3, epoch=0)
    assert a != length_grouped_batches(lengths, 8, seed=3, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(203))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in a) / len(a)
    assert spread < 10  # batches hold similar lengths


def test_shuffled_batches_deterministic_complete_and_mixed_in_length():
    lengths = [(i * 37) % 50 + 1 for i in range(203)]
    a = shuffled_batches(len(lengths), 8, seed=3, epoch=0)
    assert a == shuffled_batches(len(lengths), 8, seed=3, epoch=0)
    assert a != shuffled_batches(len(lengths), 8, seed=3, epoch=1)
    assert sorted(i for b in a for i in b) == list(range(203))
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in a) / len(a)
    assert spread > 25  # no length grouping


def test_samplers():
    sizes = {"a": 100, "b": 400}
    assert task_probabilities(sizes, "proportional") == pytest.approx({"a": 0.2, "b": 0.8})
    assert task_probabilities(sizes, "uniform") == pytest.approx({"a": 0.5, "b": 0.5})
    assert task_probabilities(sizes, "temperature", 2.0) == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    sampler = TaskSampler.build(sizes, "proportional", seed=0)
    draws = collections.Counter(sampler.task_for_step(s) for s in range(1, 2001))
    assert 0.75 < draws["b"] / 2000 < 0.85
    assert [sampler.task_for_step(s) for s in range(50)] == [
        sampler.task_for_step(s) for s in range(50)
    ]
    with pytest.raises(ValueError, match="sampling"):
        task_probabilities(sizes, "nope")


def test_linear_schedule_matches_transformers():
    from transformers import get_linear_schedule_with_warmup

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    sched = get_linear_schedule_with_warmup(opt, 3, 10)
    for step in range(1, 11):
        assert opt.param_groups[0]["lr"] == pytest.approx(linear_schedule(step, 10, 3))
        opt.step()
        sched.step()


def test_optimizer_state_roundtrip_without_pickle():
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(layer.parameters(), lr=0.1)
    for _ in range(3):
        layer(torch.randn(4, 3)).sum().backward()
        opt.step()
    tensors, meta = optimizer_tensors(opt)
    import json

    meta = json.loads(json.dumps(meta))
    clone = torch.optim.AdamW(layer.parameters(), lr=0.1)
    restore_optimizer(clone, tensors, meta)
    for p in layer.parameters():
        for key in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(opt.state[p][key], clone.state[p][key])


def test_feature_cache_reused(tmp_path):
    rows = sentiment_rows(10, 0)
    first = featurize(rows, "single", TOK, 32, train=True, cache_root=tmp_path, name="x")
    files = list(tmp_path.glob("x-*.arrow"))
    assert len(files) == 1
    mtime = files[0].stat().st_mtime_ns
    assert featurize(rows, "single", TOK, 32, train=True, cache_root=tmp_path, name="x") == first
    assert files[0].stat().st_mtime_ns == mtime
    featurize(rows, "single", TOK, 16, train=True, cache_root=tmp_path, name="x")
    assert len(list(tmp_path.glob("x-*.arrow"))) == 2  # other max_length, other entry


def test_collate_pads_dynamically():
    feats = featurize(sentiment_rows(4, 0), "single", TOK, 64, train=True, cache=False)
    batch = collate(feats, TOK.pad_token_id)
    longest = max(len(f["input_ids"]) for f in feats)
    assert batch["input_ids"].shape == (4, longest)
    assert batch["attention_mask"].sum().item() == sum(len(f["input_ids"]) for f in feats)


def test_train_config_rejects_unknown_keys_and_bad_values(tmp_path):
    with pytest.raises(ValueError, match="unknown TrainConfig keys"):
        TrainConfig.from_dict({"learning_rate": 1e-5})
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)
    write_curve(tmp_path / "c.csv", [{"step": 1, "loss": 0.5, "lr": 1e-5, "dev": None}])
    assert (tmp_path / "c.csv").read_text().splitlines()[0] == "step,epoch,task,loss,lr,dev"


def test_precision_fp32_and_bf16_train_alike(tmp_path):
    """fp32 runs everywhere; bf16 autocast (skipped where the CPU lacks bf16 units) keeps fp32
    master weights and optimizer state, and its losses stay close to fp32's."""
    from xstilts.precision import resolve, supports_bf16

    assert resolve("fp32", "cpu") == "fp32"
    assert resolve("auto", "cpu") == ("bf16" if supports_bf16("cpu") else "fp32")
    if not supports_bf16("cpu"):
        with pytest.raises(ValueError, match="no bf16 support"):
            resolve("bf16", "cpu")
        pytest.skip("this CPU has no bf16 units (avx512_bf16 / amx_bf16)")
    curves = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        model = TaskModel.for_tasks(tiny_encoder("xlmr", len(TOK)), {"a": ("single", 2)})
        feats = featurize(sentiment_rows(16, 0), "single", TOK, 32, train=True, cache=False)
        cfg = TrainConfig(max_steps=4, batch_size=4, lr=1e-3, device="cpu", precision=precision)
        res = train(
            model, [TrainTask("a", feats)], cfg, tmp_path / precision, pad_id=TOK.pad_token_id
        )
        assert all(p.dtype == torch.float32 for p in model.parameters())
        curves[precision] = [row["loss"] for row in res.curve]
    assert np.allclose(curves["fp32"], curves["bf16"], atol=0.05), curves


@pytest.mark.parametrize(
    "profile, frozen",
    [("xlmr-large", False), ("mt5-large", False), ("embedded", True)],
)
def test_paper_profiles_fine_tune_every_weight(profile, frozen):
    """X-STILTs, XTREME and jiant fine-tune all weights; only the embedded CPU profile freezes."""
    import yaml

    from xstilts.paths import repo_root

    data = yaml.safe_load((repo_root() / "params" / "profiles" / f"{profile}.yaml").read_text())
    for section in ("intermediate", "target"):
        assert data[section]["train"]["freeze_embeddings"] is frozen
    assert TrainConfig().freeze_embeddings is False


def test_fused_and_single_tensor_adamw_train_alike_and_resume(tmp_path):
    """``optimizer``: fused AdamW (the default) and the single-tensor loop (the embedded profile's)
    follow the same update rule: same losses to float rounding, and each resumes exactly."""
    curves, weights = {}, {}
    for opt in ("adamw_fused", "adamw"):
        kw = {"seed": 3, "optimizer": opt, "checkpoint_every": 3}
        res, w, _ = _run(tmp_path / opt, **kw)
        curves[opt], weights[opt] = [r["loss"] for r in res.curve], w
        with pytest.raises(_Stop):
            _run(tmp_path / f"{opt}-cut", stop_at=7, **kw)
        resumed, w2, _ = _run(tmp_path / f"{opt}-cut", **kw)
        assert resumed.resumed_from > 0 and all(torch.equal(w[k], w2[k]) for k in w)
    assert np.allclose(curves["adamw_fused"], curves["adamw"], atol=1e-4), curves
    assert all(torch.allclose(weights["adamw"][k], weights["adamw_fused"][k], atol=1e-4) for k in w)
    with pytest.raises(ValueError, match="optimizer[\\s\\S]*adamw_fused"):
        TrainConfig(optimizer="sgd")


def test_fp16_scales_the_loss_trains_like_fp32_and_resumes_with_its_scale(tmp_path):
    """precision fp16 (GPUs without bf16): float16 autocast with a GradScaler. Its losses stay
    close to fp32's until the scaler first skips an overflowing step (it starts at 2^16 and
    halves on each overflow, as torch.amp does; the runs part from there), the master weights
    stay float32, the scaler's state is in every checkpoint
    (a resumed run continues with the same scale: same weights as one without a break), and an
    overflowing step is skipped, not applied."""
    from xstilts.precision import grad_scaler, resolve

    assert resolve("fp16", "cpu") == "fp16" and grad_scaler("fp32", "cpu") is None
    fp32, w32, _ = _run(tmp_path / "fp32", seed=3, checkpoint_every=3)
    fp16, w16, _ = _run(tmp_path / "fp16", seed=3, checkpoint_every=3, precision="fp16")
    assert all(w.dtype == torch.float32 for w in w16.values())
    losses = [[r["loss"] for r in res.curve[:4]] for res in (fp32, fp16)]
    assert np.allclose(*losses, atol=1e-3), losses
    state = json.loads(next((tmp_path / "fp16").glob("step-*/state.json")).read_text())
    assert 0 < state["scaler"]["scale"] <= 2.0**16 and "_growth_tracker" in state["scaler"]
    with pytest.raises(_Stop):
        _run(tmp_path / "cut", seed=3, checkpoint_every=3, precision="fp16", stop_at=7)
    resumed, wr, _ = _run(tmp_path / "cut", seed=3, checkpoint_every=3, precision="fp16")
    assert resumed.resumed_from == 6 and resumed.curve == fp16.curve
    assert all(torch.equal(w16[k], wr[k]) for k in w16)
    # an overflowing gradient: the step is skipped, not applied, and the scale halves
    scaler = grad_scaler("fp16", "cpu")
    param = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.AdamW([param], lr=0.1)
    scaler.scale(param.sum()).backward()
    param.grad[0] = float("inf")
    before, scale = param.detach().clone(), scaler.get_scale()
    scaler.step(opt)
    scaler.update()
    assert torch.equal(param.detach(), before) and scaler.get_scale() == scale / 2
