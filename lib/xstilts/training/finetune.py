"""The one fine-tuning path of both training stages (intermediate and target): English training
rows -> features -> :func:`~xstilts.training.trainer.train`, with the checkpoint chosen on a score
of the English dev rows (XTREME's protocol; hyperparameters never see test items)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from torch import nn

from ..trainconfig import TrainConfig
from .features import featurize
from .trainer import TrainResult, TrainTask, train


def train_task(
    name: str, rows: list[dict], fmt, tokenizer, tc: TrainConfig, label: str
) -> TrainTask:
    """The training features of ``rows`` for the head ``name`` (``label`` names them in errors
    and progress bars)."""
    feats = featurize(
        rows, fmt, tokenizer, tc.max_length, train=True, stride=tc.doc_stride, name=label
    )
    return TrainTask(name, feats)


def dev_metrics(
    model: nn.Module,
    tokenizer,
    rows: list[dict],
    fmt,
    head: str,
    scored_as,
    tc: TrainConfig,
    label: str,
) -> dict:
    """Metrics of the head ``head`` on English dev ``rows``, scored with the metric and labels
    of the task ``scored_as`` (the head's own task, or a training phase's dev task)."""
    from ..evaluation.zero_shot import evaluate_languages

    return evaluate_languages(
        model,
        tokenizer,
        {"en": rows},
        fmt,
        scored_as.metric,
        task=head,
        max_length=tc.max_length,
        stride=tc.doc_stride,
        batch_size=tc.eval_batch_size,
        label_names=scored_as.label_names,
        precision=tc.precision,
        name=label,
    )["en"].metrics


def fine_tune(
    model: nn.Module,
    tasks: list[TrainTask],
    tc: TrainConfig,
    folder: Path,
    tokenizer,
    evaluate: Callable[[nn.Module], dict],
    events_dir: Path | None = None,
    **sampling,
) -> TrainResult:
    """Train ``model`` on ``tasks`` (checkpoints in ``folder``, tracker events in
    ``events_dir``), keeping the weights of the best ``evaluate(model)["score"]``;
    ``sampling``: the multi-task sampler's settings (and a mixture's ``epochs_scale``)."""
    pad_id = tokenizer.pad_token_id or 0
    return train(
        model,
        tasks,
        tc,
        folder,
        pad_id=pad_id,
        evaluate=evaluate,
        events_dir=events_dir,
        **sampling,
    )
