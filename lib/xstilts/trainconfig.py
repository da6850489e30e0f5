"""The training settings: :class:`TrainConfig`, defined once.

Each field's annotation carries its constraint, so the same definition validates a config built in
Python (``TrainConfig(batch_size=0)`` fails), a stage config (``stageconfig.check_stage_configs``)
and a study file (the ``train:`` and ``per_task:`` sections of ``orchestration.study_schema`` are generated
from these fields and the stage configs' own, :mod:`xstilts.configs`). Adding a training setting is
one field here. Torch-free, so the CLI validates a study without importing torch.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Annotated, Literal, get_args

from pydantic import Field
from pydantic.dataclasses import dataclass

Precision = Literal["auto", "fp32", "bf16", "fp16"]  # autocast; see xstilts.precision
Optimizer = Literal["adamw_fused", "adamw"]
Checkpoint = Literal["best_dev", "last"]
Tracker = Literal["tensorboard"]  # xstilts.training.tracking
PRECISIONS: tuple[str, ...] = get_args(Precision)
OPTIMIZERS: tuple[str, ...] = get_args(Optimizer)

Positive = Annotated[int, Field(ge=1)]
NonNegative = Annotated[int, Field(ge=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


@dataclass
class TrainConfig:
    lr: PositiveFloat = 5e-5
    epochs: NonNegative = 2
    max_steps: NonNegative = 0  # > 0 overrides epochs
    batch_size: Positive = 16
    eval_batch_size: Positive = 64
    grad_accum: Positive = 1
    max_length: Positive = 128
    doc_stride: Positive = 128  # QA: tokens from one window's start to the next (xtreme's)
    warmup_ratio: Annotated[float, Field(ge=0, lt=1)] = 0.1
    warmup_steps: NonNegative | None = None  # set: this many steps, instead of warmup_ratio
    weight_decay: Annotated[float, Field(ge=0)] = 0.01
    max_grad_norm: PositiveFloat = 1.0
    seed: int = 1
    # True freezes the whole embedding block (word/position/type + LayerNorm). Off by default:
    # X-STILTs, XTREME and jiant fine-tune every weight; the embedded CPU profile freezes (stated).
    freeze_embeddings: bool = False
    # Dropout on attention probabilities; None keeps the model's pretrained value (0.1 for BERT /
    # XLM-R). 0 lets CPU SDPA use its fast kernel, but cost English dev accuracy in the embedded
    # profile, which keeps None (params/profiles/embedded.yaml, docs/performance.md).
    attention_dropout: Annotated[float, Field(ge=0, lt=1)] | None = None
    group_by_length: bool = True  # length-grouped batches (False: plain shuffled batches)
    gradient_checkpointing: bool = False
    checkpoint_every: Positive = 200  # steps; the final step is always checkpointed
    eval_every: NonNegative = 0  # steps; 0 = at the end of every epoch and at the last step
    # which weights the run keeps: the best English dev score's, or the last step's (xtreme's
    # train_qa.sh saves the final model: --save_steps -1); dev is scored either way
    checkpoint: Checkpoint = "best_dev"
    # the resumable training state under <run>/checkpoints is deleted once the stage is DONE
    # (a finished stage is never resumed); true keeps it
    keep_checkpoints: bool = False
    max_train_samples: Positive | None = None
    max_eval_samples: Positive | None = None
    precision: Precision = "auto"
    # adamw_fused: one kernel per parameter (CPU and CUDA); adamw: the single-tensor loop (on
    # this CPU ~6x slower per step over the 250k-row embedding matrix: docs/performance.md).
    optimizer: Optimizer = "adamw_fused"
    device: str = "auto"
    # experiment trackers (the HF Trainer's report_to): loss, lr, tokens/s per step and the dev
    # score, as event files under <run>/tensorboard; [] logs to stage.log and curve.csv only
    report_to: tuple[Tracker, ...] = ("tensorboard",)

    def __post_init__(self) -> None:
        if self.max_steps <= 0 and self.epochs <= 0:
            raise ValueError("TrainConfig needs epochs > 0 or max_steps > 0")

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}; known: {sorted(known)}")
        return cls(**values)
