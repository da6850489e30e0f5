"""The training loop: single- or multi-task, exactly resumable, with dev-based model selection.

Why a small loop of our own rather than ``transformers.Trainer``: the study needs runs that can be
killed at any instant and resumed with *no* lost or duplicated step and bit-identical results, with
checkpoints that never use pickle. ``Trainer`` saves optimizer / scheduler / RNG state with
``torch.save`` (pickle) and restores data order by skipping batches of a stateful sampler; it
also has no notion of several heads sharing an encoder under a task sampler. Here instead:

- the data order is a pure function of ``(seed, epoch)`` (:mod:`.batching`) and the task of each
  step a pure function of ``(seed, step)`` (:mod:`.samplers`), so a JSON position suffices;
- torch is reseeded before every step from ``(seed, step)`` (:func:`xstilts.seeding.step_seed`),
  so dropout needs no saved RNG state;
- the learning rate is computed from the step (linear warmup then linear decay, as
  ``get_linear_schedule_with_warmup``), so there is no scheduler state;
- trainable weights and AdamW state go to safetensors (:mod:`.checkpoint`).
"""

from __future__ import annotations

import csv
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from ..models.family import embedding_block, set_attention_dropout
from ..precision import autocast, grad_scaler
from ..seeding import set_seed, step_seed
from ..trainconfig import OPTIMIZERS, TrainConfig
from . import checkpoint as ckpt
from .batching import (
    collate,
    feature_length,
    length_grouped_batches,
    shuffled_batches,
    to_device,
)
from .samplers import TaskSampler
from .tracking import Trackers

log = logging.getLogger(__name__)
__all__ = ["OPTIMIZERS", "TrainConfig", "TrainResult", "TrainTask", "train", "write_curve"]


@dataclass
class TrainTask:
    """One task's training features (``name`` matches its head in the TaskModel)."""

    name: str
    features: list[dict]


@dataclass
class TrainResult:
    steps: int
    best_step: int | None
    best_score: float | None
    best_eval: dict | None
    selected_step: int  # the step whose weights the run kept (TrainConfig.checkpoint)
    examples: int
    tokens: int
    seconds: float
    resumed_from: int
    curve: list[dict] = field(repr=False, default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def freeze_embeddings(model: nn.Module) -> int:
    """Freeze the whole input-embedding block (:func:`embedding_block`); return its parameter count.

    Freezing only the word matrix would still let English-only training move the position /
    token-type tables and the embedding LayerNorm that every language's tokens pass through;
    freezing the block keeps the multilingual input space as pretrained (and still removes the
    250k x d matrix from Adam)."""
    block = embedding_block(model)
    for p in block.parameters():
        p.requires_grad_(False)
    return sum(p.numel() for p in block.parameters())


def linear_schedule(step: int, total: int, warmup: int) -> float:
    """LR multiplier of optimisation step ``step`` (1-based), as get_linear_schedule_with_warmup."""
    current = step - 1
    if current < warmup:
        return current / max(1, warmup)
    return max(0.0, (total - current) / max(1, total - warmup))


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        (no_decay if p.ndim < 2 or "norm" in name.lower() else decay).append(p)
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # Fused AdamW by default (one kernel per parameter, CPU and CUDA since torch 2.4): with every
    # weight trainable the single-tensor loop over the 250k x d embedding matrix costs 0.7-0.9 s per
    # step on CPU against 0.11 s fused (docs/performance.md). The two are not bitwise equal
    # (~1e-7 after a few steps), hence the setting.
    if config.optimizer == "adamw_fused":
        return torch.optim.AdamW(groups, lr=config.lr, fused=True)
    return torch.optim.AdamW(groups, lr=config.lr, foreach=False)


class _Stream:
    """An endless, epoch-by-epoch batch order for one task; position = (epoch, index)."""

    def __init__(self, lengths: list[int], batch_size: int, seed: int, grouped: bool = True):
        self.lengths, self.batch_size, self.seed, self.grouped = lengths, batch_size, seed, grouped
        self.seek(0, 0)

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def seek(self, epoch: int, index: int) -> None:
        self.epoch, self.index = epoch, index
        if self.grouped:
            self._batches = length_grouped_batches(self.lengths, self.batch_size, self.seed, epoch)
        else:
            self._batches = shuffled_batches(len(self.lengths), self.batch_size, self.seed, epoch)

    def next(self) -> list[int]:
        if self.index >= len(self._batches):
            self.seek(self.epoch + 1, 0)
        batch = self._batches[self.index]
        self.index += 1
        return batch


def train(
    model: nn.Module,
    tasks: list[TrainTask],
    config: TrainConfig,
    checkpoint_dir: str | Path,
    *,
    pad_id: int,
    evaluate: Callable[[nn.Module], dict] | None = None,
    sampling: str = "proportional",
    temperature: float = 1.0,
    on_step: Callable[[int, dict], None] | None = None,
    epochs_scale: float = 1.0,
    events_dir: str | Path | None = None,
) -> TrainResult:
    """Train ``model`` (a :class:`~xstilts.models.heads.TaskModel`) on ``tasks``.

    ``events_dir``: where the trackers of ``config.report_to`` write (None: nowhere).
    ``epochs_scale`` multiplies the epochs (a mixture matched to a larger domain budget:
    ``stages/intermediate.mixture_budget``); ``max_steps``, where set, wins.

    ``evaluate(model) -> {"score": float, ...}`` runs on the English dev set every ``eval_every``
    steps (or epoch) and at the end; the weights with the highest score (the latest of equal
    scores) are loaded back at the end. Resumes from the newest checkpoint in ``checkpoint_dir``;
    a finished run just reloads.
    """
    _check_tasks(tasks)
    root = _clean_checkpoint_dir(Path(checkpoint_dir))
    set_seed(config.seed)
    device = resolve_device(config.device)
    optimizer = _prepare_model(model, config, device)
    plan = _Plan.build(tasks, config, sampling, temperature, epochs_scale)
    state = _restore(root, model, optimizer, plan)
    scaler = grad_scaler(config.precision, device)  # fp16 only
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    resumed_from = state["step"]
    by_name = {t.name: t for t in tasks}

    started = time.perf_counter() - state["seconds"]
    trackers = Trackers(config.report_to, Path(events_dir) if events_dir else None, resumed_from)
    bar = tqdm(total=plan.total, initial=state["step"], desc="train", unit="step")
    for step in range(state["step"] + 1, plan.total + 1):
        task = plan.sampler.task_for_step(step)
        torch.manual_seed(step_seed(config.seed, step))
        lr = config.lr * linear_schedule(step, plan.total, plan.warmup)
        loss = _step(
            model, optimizer, plan, by_name[task], lr, config, device, pad_id, state, scaler
        )
        row = {"step": step, "epoch": round(step / plan.steps_per_epoch, 4), "task": task}
        row |= {"loss": loss, "lr": lr, "dev": None}
        if evaluate is not None and (step % plan.eval_every == 0 or step == plan.total):
            row["dev"] = _evaluate(model, evaluate, step, state, root)
        state["curve"].append(row)
        state["seconds"] = time.perf_counter() - started
        if step % config.checkpoint_every == 0 or step == plan.total:
            state["positions"] = {n: [s.epoch, s.index] for n, s in plan.streams.items()}
            if scaler is not None:
                state["scaler"] = scaler.state_dict()
            ckpt.save_checkpoint(root, step, model, optimizer, state)
        bar.update(1)
        bar.set_postfix(loss=f"{row['loss']:.4f}", dev=row["dev"])
        if step % plan.log_every == 0 or row["dev"] is not None or step == plan.total:
            _log_step(row, plan.total, state)
        trackers.log(row, _tokens_per_s(state))
        if on_step is not None:
            on_step(step, row)
    bar.close()
    trackers.close()
    return _result(model, root, state, plan.total, resumed_from, config.checkpoint)


def _log_step(row: dict, total: int, state: dict) -> None:
    """One line per logged step, for ``tail -f stage.log`` (the bar lives in the notebook)."""
    rate = _tokens_per_s(state)
    dev = f" dev {row['dev']:.4f}" if row["dev"] is not None else ""
    log.info(
        "train step %d/%d task %s loss %.4f lr %.2e%s (%.0f tokens/s)",
        row["step"], total, row["task"], row["loss"], row["lr"], dev, rate,
    )  # fmt: skip


def _tokens_per_s(state: dict) -> float:
    return state["tokens"] / state["seconds"] if state["seconds"] else 0.0


def _check_tasks(tasks: list[TrainTask]) -> None:
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate task names {names}")
    for t in tasks:
        if not t.features:
            raise ValueError(f"task {t.name!r} has no training features")


def _clean_checkpoint_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for partial in root.glob(".*-*"):  # temp dirs of a write that was killed
        shutil.rmtree(partial, ignore_errors=True)
    return root


def _prepare_model(model: nn.Module, config: TrainConfig, device: torch.device):
    """Freeze what the config freezes, move to ``device``; the optimizer of what trains."""
    if config.freeze_embeddings:
        freeze_embeddings(model)
    if config.attention_dropout is not None:
        set_attention_dropout(model, config.attention_dropout)
    if config.gradient_checkpointing and hasattr(model.encoder, "gradient_checkpointing_enable"):
        model.encoder.gradient_checkpointing_enable()
    model.to(device)
    return _optimizer(model, config)


@dataclass
class _Plan:
    """What a run will do, fixed before its first step: the batch streams, the step count and
    schedule, the task of each step, and the fingerprint a checkpoint must match to resume."""

    streams: dict[str, _Stream]
    steps_per_epoch: int
    total: int
    warmup: int
    eval_every: int
    log_every: int  # steps between progress lines in the log (20 per run)
    sampler: TaskSampler
    run_id: str

    @classmethod
    def build(
        cls,
        tasks: list[TrainTask],
        config: TrainConfig,
        sampling: str,
        temperature: float,
        epochs_scale: float = 1.0,
    ) -> _Plan:
        streams = {
            t.name: _Stream(
                [feature_length(f) for f in t.features],
                config.batch_size,
                config.seed * 1000 + i,
                config.group_by_length,
            )
            for i, t in enumerate(tasks)
        }
        steps_per_epoch = sum(
            math.ceil(s.batches_per_epoch / config.grad_accum) for s in streams.values()
        )
        epochs = config.epochs * epochs_scale
        total = config.max_steps if config.max_steps > 0 else int(epochs * steps_per_epoch)
        sizes = {t.name: len(t.features) for t in tasks}
        run_id = ckpt.fingerprint(
            {
                "config": asdict(config),
                "tasks": sizes,
                "sampling": sampling,
                "temperature": temperature,
                "total": total,  # covers epochs_scale
            }
        )
        return cls(
            streams=streams,
            steps_per_epoch=steps_per_epoch,
            total=total,
            warmup=config.warmup_steps
            if config.warmup_steps is not None
            else math.ceil(config.warmup_ratio * total),
            eval_every=config.eval_every or steps_per_epoch,
            log_every=max(1, total // 20),
            sampler=TaskSampler.build(sizes, sampling, temperature, config.seed),
            run_id=run_id,
        )


def _restore(root: Path, model: nn.Module, optimizer, plan: _Plan) -> dict:
    """A fresh run state, or the newest checkpoint's (weights, optimizer and stream positions
    restored into ``model``, ``optimizer`` and ``plan.streams``)."""
    state = {
        "run": plan.run_id,
        "step": 0,
        "positions": {},
        "curve": [],
        "evals": [],
        "best_step": None,
        "best_score": None,
        "examples": 0,
        "tokens": 0,
        "seconds": 0.0,
    }
    latest = ckpt.latest_checkpoint(root)
    if latest is None:
        return state
    state = ckpt.load_checkpoint(latest, model, optimizer)
    if state["run"] != plan.run_id:
        raise ValueError(
            f"{latest}: checkpoint belongs to a different configuration "
            f"(run {state['run']} vs {plan.run_id}); use a fresh out_dir"
        )
    for name, (epoch, index) in state["positions"].items():
        plan.streams[name].seek(epoch, index)
    log.info("resuming from %s (step %d of %d)", latest, state["step"], plan.total)
    return state


def _step(
    model, optimizer, plan: _Plan, task: TrainTask, lr, config, device, pad_id, state, scaler
):
    """One optimizer step (``grad_accum`` micro-batches of ``task``); the mean loss. With fp16's
    ``scaler`` the loss is scaled for the backward pass and the gradients unscaled before
    clipping; a step whose gradients overflowed is skipped and the scale lowered."""
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    loss_sum = 0.0
    for _ in range(config.grad_accum):
        indices = plan.streams[task.name].next()
        batch = to_device(collate([task.features[i] for i in indices], pad_id), device)
        with autocast(config.precision, device):
            loss = model(batch, task.name).loss
        scaled = loss / config.grad_accum
        (scaler.scale(scaled) if scaler is not None else scaled).backward()
        loss_sum += loss.item()
        state["examples"] += len(indices)
        state["tokens"] += int(batch["attention_mask"].sum())
    if scaler is not None:
        scaler.unscale_(optimizer)
    if config.max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(
            [p for p in model.parameters() if p.requires_grad], config.max_grad_norm
        )
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss_sum / config.grad_accum


def _evaluate(model, evaluate: Callable[[nn.Module], dict], step: int, state, root: Path) -> float:
    """Score the dev set; keep the weights if they are the best so far."""
    result = evaluate(model)
    dev = float(result["score"])
    state["evals"].append({"step": step, **result})
    # ties go to the later step: an equal dev score (common on a few hundred items, accuracy
    # moves in 1/n steps) should not bring back a checkpoint from mid-schedule
    if state["best_score"] is None or dev >= state["best_score"]:
        state["best_score"], state["best_step"] = dev, step
        ckpt.save_best(root, step, model)
    return dev


def _result(
    model, root: Path, state: dict, total: int, resumed_from: int, keep: str = "best_dev"
) -> TrainResult:
    """Load the best weights back (``keep="last"``: keep the final step's); the run's summary."""
    selected = total
    if keep != "last" and state["best_step"] is not None:
        ckpt.load_best(root, state["best_step"], model)
        selected = state["best_step"]
    best_eval = next((e for e in state["evals"] if e["step"] == state["best_step"]), None)
    return TrainResult(
        steps=total,
        best_step=state["best_step"],
        best_score=state["best_score"],
        best_eval=best_eval,
        selected_step=selected,
        examples=state["examples"],
        tokens=state["tokens"],
        seconds=state["seconds"],
        resumed_from=resumed_from,
        curve=state["curve"],
    )


def write_curve(path: str | Path, curve: list[dict]) -> Path:
    """``curve.csv``: step, epoch, task, loss, lr, dev (dev empty where not evaluated)."""
    from ..io import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", "epoch", "task", "loss", "lr", "dev"])
        writer.writeheader()
        for row in curve:
            writer.writerow(
                {k: ("" if row.get(k) is None else row.get(k)) for k in writer.fieldnames}
            )
    return Path(path)
