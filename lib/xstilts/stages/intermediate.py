"""Stage 2: English intermediate-task training (one task or a sampled mixture).

``run(config, curate_dir, out_dir)`` trains a shared encoder with one fresh head per task, selects
the checkpoint with the best English dev score, and writes::

    out_dir/encoder/          the encoder alone (safetensors + config + tokenizer), loadable by
                              ``xstilts.models.loading.load_encoder(str(dir))``
    out_dir/metrics.json      dev metrics, steps, examples, time, tokens/s
    out_dir/curve.csv         step, epoch, task, loss, lr, dev
    out_dir/checkpoints/      resumable state (rerunning the same call continues from here)

With ``mlm: true`` the model's pretrained masked-LM head joins the task heads and masked-LM on
the curated texts of ``mlm_task`` (every language, every split) is sampled as one more task
(X-STILTs' multi-task "+ MLM" setting). Only models with an MLM head can do this.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from itertools import zip_longest
from pathlib import Path

from ..configs import IntermediateConfig, coerce_config
from ..data.leakage import normalise, text_hash
from ..data.store import split_path
from ..io import atomic_path, read_jsonl, write_json
from ..metrics.registry import primary_key
from ..models.heads import TaskModel
from ..models.loading import load_encoder, load_masked_lm, load_tokenizer
from ..models.mlm import MLM_HEAD, MaskedLMHead, split_masked_lm, texts_of
from ..precision import resolve as resolve_precision
from ..tasks import Format, get_task
from ..training.finetune import dev_metrics, fine_tune, train_task
from ..training.tracking import EVENTS
from ..training.trainer import TrainTask, resolve_device, write_curve
from ._common import n_labels_of, read_rows

log = logging.getLogger(__name__)


def run(
    config: IntermediateConfig | dict | None, curate_dir: str | Path, out_dir: str | Path
) -> dict:
    cfg = coerce_config(IntermediateConfig, config)
    out_dir = Path(out_dir)
    specs = _trainable_specs(cfg)
    mlm_texts = mlm_corpus(curate_dir, cfg) if cfg.mlm else []
    lm_head = None
    if cfg.mlm:
        encoder, lm_head = split_masked_lm(load_masked_lm(cfg.model))
    else:
        encoder = load_encoder(cfg.model)
    tokenizer = load_tokenizer(cfg.model)
    tc = cfg.train
    tasks, dev, n_labels = [], {}, {}
    for spec in specs:
        train_rows = read_rows(curate_dir, spec.name, "train", limit=tc.max_train_samples)
        dev[spec.name] = read_rows(curate_dir, spec.name, "validation", limit=tc.max_eval_samples)
        tasks.append(
            train_task(spec.name, train_rows, spec.format, tokenizer, tc, f"{spec.name}.train")
        )
        n_labels[spec.name] = n_labels_of(spec, train_rows)
    model = TaskModel.for_tasks(
        encoder,
        {s.name: (s.format, n_labels[s.name]) for s in specs},
        pooling=cfg.pooling,
        seed=cfg.seed,
    )
    if lm_head is not None:
        model.heads[MLM_HEAD] = MaskedLMHead(lm_head, tokenizer, cfg.mlm_probability)
        ids = tokenizer(mlm_texts, truncation=True, max_length=tc.max_length)["input_ids"]
        tasks.append(TrainTask(MLM_HEAD, [{"input_ids": x} for x in ids if len(x) > 2]))

    def primary_dev(m, spec) -> float:
        label = f"{spec.name}.validation"
        metrics = dev_metrics(m, tokenizer, dev[spec.name], spec.format, spec.name, spec, tc, label)
        return metrics[primary_key(spec.metric)]

    def evaluate(m) -> dict:  # the mean over tasks of each task's primary dev metric
        scores = {spec.name: primary_dev(m, spec) for spec in specs}
        return {"score": sum(scores.values()) / len(scores), "per_task": scores}

    started = time.perf_counter()
    sampling = {
        "sampling": cfg.sampling,
        "temperature": cfg.temperature,
        "epochs_scale": mixture_budget(cfg),
    }
    result = fine_tune(
        model, tasks, tc, out_dir / "checkpoints", tokenizer, evaluate, out_dir / EVENTS, **sampling
    )
    with atomic_path(out_dir / "encoder") as tmp:
        model.encoder.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    write_curve(out_dir / "curve.csv", result.curve)
    metrics = _metrics(cfg, specs, tasks, result, mlm_texts, time.perf_counter() - started)
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def mixture_budget(cfg: IntermediateConfig) -> float:
    """The epochs scale of a mixture of k matched tasks in a study whose largest mixture has K:
    K/k, so that each domain arm trains on K tasks' worth of windows (max_steps, where set, is
    equal already). One task, or no budget set: 1."""
    k = len(cfg.task_names)
    if cfg.mixture_budget_tasks is None or k < 2 or cfg.train.max_steps > 0:
        return 1.0
    return cfg.mixture_budget_tasks / k


def _trainable_specs(cfg: IntermediateConfig) -> list:
    specs = [get_task(name) for name in cfg.task_names]
    for spec in specs:
        if spec.format is Format.RETRIEVAL:
            raise ValueError(f"task {spec.name!r} is a retrieval task: nothing to train on")
    if MLM_HEAD in cfg.task_names:
        raise ValueError(f"{MLM_HEAD!r} is reserved for masked-LM continuation (mlm: true)")
    return specs


def _metrics(cfg: IntermediateConfig, specs, tasks, result, mlm_texts, seconds: float) -> dict:
    tc = cfg.train
    return {
        "model": cfg.model,
        "tasks": cfg.task_names,
        "seed": cfg.seed,
        "precision": resolve_precision(tc.precision, resolve_device(tc.device)),
        "sampling": cfg.sampling if len(specs) > 1 else None,
        "dev_score": result.best_score,
        "dev": (result.best_eval or {}).get("per_task"),
        "best_step": result.best_step,
        "selected_step": result.selected_step,
        "steps": result.steps,
        "epochs": tc.epochs * mixture_budget(cfg),  # a mixture's, scaled to the domain budget
        "examples": result.examples,
        "train_examples": {t.name: len(t.features) for t in tasks},
        "mlm_texts": len(mlm_texts) if cfg.mlm else None,
        "train_seconds": round(result.seconds, 2),
        "seconds": round(seconds, 2),
        "tokens_per_s": round(result.tokens_per_s, 1),
        "resumed_from_step": result.resumed_from,
        "config": asdict(cfg),
    }


def mlm_corpus(curate_dir: str | Path, cfg: IntermediateConfig) -> list[str]:
    """Every text of the curated ``cfg.mlm_task`` (all splits and languages), interleaved across
    files (languages) so that ``max_mlm_texts`` keeps every language."""
    files = sorted(split_path(curate_dir, cfg.mlm_task, "x").parent.glob("*.jsonl"))
    if not files:
        raise FileNotFoundError(
            f"mlm: true reads its multilingual text from curated task {cfg.mlm_task!r}, but "
            f"{split_path(curate_dir, cfg.mlm_task, 'x').parent} holds no splits; curate it "
            "(add it to the study's targets) or set mlm_task to a curated task"
        )
    if cfg.mlm_task in cfg.evaluated_tasks:
        raise ValueError(
            f"mlm: the corpus task {cfg.mlm_task!r} is evaluated by a target of this study; "
            "masked-LM may never train on an evaluated split (choose another mlm_task)"
        )
    evaluated = evaluated_texts(curate_dir, cfg.evaluated_tasks)
    per_file = [
        [
            t
            for row in read_jsonl(f)
            for t in texts_of(row)
            if text_hash(normalise(t)) not in evaluated
        ]
        for f in files
    ]
    texts = [t for group in zip_longest(*per_file) for t in group if t is not None]
    return texts[: cfg.max_mlm_texts] if cfg.max_mlm_texts else texts


def evaluated_texts(curate_dir: str | Path, tasks: list[str]) -> set[str]:
    """Hashes of the normalised texts of every curated test split of ``tasks``."""
    out: set[str] = set()
    for task in tasks:
        for path in split_path(curate_dir, task, "x").parent.glob("test.*.jsonl"):
            out |= {text_hash(normalise(t)) for row in read_jsonl(path) for t in texts_of(row)}
    return out
