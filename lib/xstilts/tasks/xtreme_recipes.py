"""How xtreme's own scripts fine-tune XLM-R large on each target (google-research/xtreme 838c13b):
the recipe behind Hu et al. 2020's Table 2, which a baseline must follow before its numbers are
put beside the published ones (``analysis/reference.py``). ``params/profiles/xtreme.yaml`` sets
exactly these (``tests/test_protocol.py`` checks that the two agree).

- ``scripts/train_xnli.sh``: XLM-R large lr 3e-5, batch 2 x grad_acc 16, 5 epochs, max_seq 128,
  ``--save_only_best_checkpoint`` (English dev accuracy, ``run_classify.py``); warm-up and weight
  decay are ``run_classify.py``'s defaults, 0 and 0.0;
- ``scripts/train_pawsx.sh``: the same with lr 2e-5;
- ``scripts/train_udpos.sh`` / ``train_panx.sh``: lr 2e-5, 2 x 16, 10 epochs, max length 128,
  best English dev F1 (``run_tag.py``, warm-up 0, weight decay 0.0);
- ``scripts/train_qa.sh`` (XQuAD and MLQA from SQuAD v1.1, TyDiQA from its English train): lr 3e-5,
  batch 4 x grad_acc 8, 3 epochs, max_seq 384, doc_stride 128, ``--warmup_steps 500``,
  ``--weight_decay 0.0001``, ``--save_steps -1`` (the final model);
- ``scripts/train_xcopa.sh`` (XTREME-R): lr 3e-5, 2 x 16, 5 epochs per phase (SIQA, then COPA),
  max_seq 128, HF Trainer defaults (no warm-up, no weight decay, the final model).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Recipe:
    script: str
    lr: float
    batch: int  # effective: per-device batch x gradient accumulation
    epochs: int
    max_length: int
    warmup_steps: int
    weight_decay: float
    checkpoint: str  # TrainConfig.checkpoint: best_dev or last


_CLASSIFY = dict(batch=32, epochs=5, max_length=128, warmup_steps=0, weight_decay=0.0)
_TAG = dict(lr=2e-5, batch=32, epochs=10, max_length=128, warmup_steps=0, weight_decay=0.0)
_QA = dict(lr=3e-5, batch=32, epochs=3, max_length=384, warmup_steps=500, weight_decay=1e-4)

RECIPES: dict[str, Recipe] = {
    "xnli": Recipe("train_xnli.sh", lr=3e-5, checkpoint="best_dev", **_CLASSIFY),
    "pawsx": Recipe("train_pawsx.sh", lr=2e-5, checkpoint="best_dev", **_CLASSIFY),
    "udpos": Recipe("train_udpos.sh", checkpoint="best_dev", **_TAG),
    "panx": Recipe("train_panx.sh", checkpoint="best_dev", **_TAG),
    "xquad": Recipe("train_qa.sh", checkpoint="last", **_QA),
    "mlqa": Recipe("train_qa.sh", checkpoint="last", **_QA),
    "tydiqa": Recipe("train_qa.sh", checkpoint="last", **_QA),
    "xcopa": Recipe("train_xcopa.sh", lr=3e-5, checkpoint="last", **_CLASSIFY),
}
MODEL = "xlm-roberta-large"  # the recipes are the scripts' branch for this model


def deviations(task: str, train: dict) -> list[str]:
    """How a run's ``TrainConfig`` (as recorded in its metrics.json) departs from xtreme's recipe
    for ``task``; [] when it follows it. A task without a recipe (retrieval) trains nothing."""
    recipe = RECIPES.get(task)
    if recipe is None:
        return []
    warmup = train.get("warmup_steps")
    ran = {
        "lr": train.get("lr"),
        "batch": train.get("batch_size", 0) * train.get("grad_accum", 1),
        "epochs": train.get("epochs"),
        "max_length": train.get("max_length"),
        "warmup_steps": warmup if warmup is not None else ("ratio", train.get("warmup_ratio")),
        "weight_decay": train.get("weight_decay"),
        "checkpoint": train.get("checkpoint", "best_dev"),
    }
    if ran["warmup_steps"] == ("ratio", 0.0):
        ran["warmup_steps"] = 0
    want = {k: v for k, v in asdict(recipe).items() if k != "script"}
    return [f"{k} {ran[k]} (xtreme {v})" for k, v in want.items() if ran[k] != v]
