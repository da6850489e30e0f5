"""Benchmark 1: training throughput, our trainer vs a plain ``transformers.Trainer``.

Baseline = what ``examples/pytorch/text-classification/run_xnli.py`` does by default:
``padding="max_length"`` (128), no length grouping, ``default_data_collator``,
``AutoModelForSequenceClassification`` (here from the embedded model's directory), HF's AdamW and
linear schedule, fp32. A second baseline gives the Trainer its own best CPU flags, the peer a
careful user would pick: ``bf16=True``, ``group_by_length=True`` with dynamic padding
(``DataCollatorWithPadding``). Ours = :func:`xstilts.training.train` as the stages run it:
dynamic padding, length-grouped batches, ``precision: auto`` (bf16 autocast where the CPU has
bf16 units, fp32 master weights and AdamW state), every weight trainable (**same settings**).
All arms: the same real ScanCode licence rules (single texts) (exactly one epoch of ``steps * batch_size`` examples, so
every arm sees the same examples and the same real tokens), batch size, lr, warmup, weight decay,
clipping, seed and threads. Time = the training loop only (model loading, tokenisation and our
final checkpoint write are excluded). Loss curves are kept to check that they stay alike.
"""

from __future__ import annotations

import contextlib
import io
import tempfile

import numpy as np

from xstilts.precision import resolve

from . import common
from .harness import Recorder, Row, alternate, ratio

TASK = "licence_rules"
LABELS = 4
LR, WARMUP, WEIGHT_DECAY, SEED = 5e-5, 0.1, 0.01, 1


def _baseline(
    train_rows: list[dict], batch_size: int, max_length: int, steps: int, best: bool = False
) -> dict:
    """run_xnli.py's Trainer (``best``: with length grouping, dynamic padding and, where the CPU
    has bf16 units, bf16: on a CPU without them bf16 is emulated, several times slower, and a
    careful user would leave it off; the arm keeps its name)."""
    import datasets
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        default_data_collator,
    )

    transformers.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    tok = common.tokenizer()
    if best:
        texts = ([r["text_a"] for r in train_rows], [r["text_b"] for r in train_rows])
        enc = tok(*texts, truncation=True, max_length=max_length)
    else:
        enc = common.encode_max_length(tok, train_rows, "single", max_length)
    ds = datasets.Dataset.from_dict(
        {
            "input_ids": enc["input_ids"],
            "attention_mask": enc["attention_mask"],
            "label": [r["label"] for r in train_rows],
        }
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        common.embedded_dir(), num_labels=LABELS, local_files_only=True, use_safetensors=True
    )
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            per_device_train_batch_size=batch_size,
            max_steps=steps,
            learning_rate=LR,
            warmup_ratio=WARMUP,
            weight_decay=WEIGHT_DECAY,
            max_grad_norm=1.0,
            seed=SEED,
            data_seed=SEED,
            logging_steps=1,
            save_strategy="no",
            report_to=[],
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
            bf16=best and resolve("auto", "cpu") == "bf16",
            group_by_length=best,
        )
        collator = DataCollatorWithPadding(tok) if best else default_data_collator
        trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator)
        with contextlib.redirect_stdout(io.StringIO()):  # Trainer prints its logs without tqdm
            out_metrics = trainer.train().metrics
        losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    real = sum(map(sum, enc["attention_mask"]))
    return {
        "seconds": out_metrics["train_runtime"],
        "examples": len(train_rows),
        "real_tokens": int(real),
        "padded_tokens": len(train_rows) * max_length if not best else int(real),
        "loss": losses,
        "trainable_params": common.n_params(model, True),
    }


def _ours(train_rows: list[dict], batch_size: int, max_length: int) -> dict:
    from xstilts.models.heads import TaskModel
    from xstilts.training import TrainConfig, TrainTask, featurize, train

    tok = common.tokenizer()
    feats = featurize(train_rows, "single", tok, max_length, train=True, cache=False)
    model = TaskModel.for_tasks(common.encoder(), {TASK: ("single", LABELS)})
    config = TrainConfig(
        lr=LR,
        epochs=1,
        batch_size=batch_size,
        max_length=max_length,
        warmup_ratio=WARMUP,
        weight_decay=WEIGHT_DECAY,
        seed=SEED,
        freeze_embeddings=False,
        precision="auto",
        checkpoint_every=10**9,
        device="cpu",
    )
    with tempfile.TemporaryDirectory() as ckpt:
        res = train(model, [TrainTask(TASK, feats)], config, ckpt, pad_id=tok.pad_token_id)
    return {
        "seconds": res.seconds,
        "examples": res.examples,
        "real_tokens": res.tokens,
        "padded_tokens": _padded_tokens(feats, batch_size, SEED),
        "loss": [round(r["loss"], 4) for r in res.curve],
        "trainable_params": common.n_params(model, True),
    }


def _padded_tokens(feats: list[dict], batch_size: int, seed: int) -> int:
    """Tokens the model actually processed (batch width x rows), for the padding fraction."""
    from xstilts.training.batching import length_grouped_batches

    lengths = [len(f["input_ids"]) for f in feats]
    # the trainer's stream seed for its first task (see training.trainer._Stream)
    batches = length_grouped_batches(lengths, batch_size, seed * 1000, 0)
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads)
    batch_size, steps = (4, 2) if quick else (16, 8)
    max_length = 64 if quick else common.MAX_LENGTH
    repeats = repeats or (1 if quick else 2)
    warmup = 0 if quick else 1
    train_rows = common.rows(TASK, "train", limit=batch_size * steps)
    rec = Recorder("training", quick)
    rec.data["settings"] = {
        "task": TASK,
        "examples": len(train_rows),
        "batch_size": batch_size,
        "steps": steps,
        "max_length": max_length,
        "lr": LR,
        "warmup_ratio": WARMUP,
        "weight_decay": WEIGHT_DECAY,
        "seed": SEED,
        "threads": threads,
        "repeats": repeats,
        "warmup_rounds": warmup,
    }
    runs = alternate(
        {
            "hf_trainer": lambda: _baseline(train_rows, batch_size, max_length, steps),
            "hf_trainer_bf16_grouped": lambda: _baseline(
                train_rows, batch_size, max_length, steps, best=True
            ),
            "ours_same_settings": lambda: _ours(train_rows, batch_size, max_length),
        },
        repeats,
        warmup=warmup,  # the first run in a process pays one-time costs (allocator, kernels)
    )
    summaries = rec.runs("runs", runs)
    first = {arm: rs[0].extra for arm, rs in runs.items()}
    rec.data["loss_curves"] = {arm: e["loss"] for arm, e in first.items()}
    rec.data["throughput"] = {}
    for arm, s in summaries.items():
        e = first[arm]
        rec.data["throughput"][arm] = {
            "examples_per_s": e["examples"] / s["median_s"],
            "real_tokens_per_s": e["real_tokens"] / s["median_s"],
            "padding_fraction": 1 - e["real_tokens"] / e["padded_tokens"],
            "trainable_params": e["trainable_params"],
        }
    tp = rec.data["throughput"]
    rec.data["precision"] = resolve("auto", "cpu")
    curves = rec.data["loss_curves"]
    alike = ", ".join(
        f"{arm} {np.mean(c[-max(1, len(c) // 4) :]):.3f}" for arm, c in curves.items()
    )

    def cell(arm: str) -> str:
        t = tp[arm]
        return (
            f"{t['examples_per_s']:.1f} ex/s, {t['real_tokens_per_s']:,.0f} real tok/s "
            f"({t['padding_fraction']:.0%} pad)"
        )

    for base, label, goal in (
        ("hf_trainer", "as run_xnli.py runs it (fp32, padded to 128)", True),
        (
            "hf_trainer_bf16_grouped",
            "its best CPU flags ("
            + ("bf16, " if rec.data["precision"] == "bf16" else "fp32: no bf16 units, ")
            + "group_by_length, dynamic pad)",
            False,
        ),
    ):
        r = ratio(runs[base], runs["ours_same_settings"])
        rec.rows.append(
            Row(
                "training (licence rules, e5-small, all weights trainable)",
                f"examples/s vs HF Trainer {label}",
                cell(base),
                f"{cell('ours_same_settings')} ({rec.data['precision']})",
                r,
                "≥ 1.5× (CPU)" if goal else "",
                r >= 1.5 if goal else None,
                f"mean loss over the last quarter of steps: {alike}" if goal else "",
            )
        )
    return rec
