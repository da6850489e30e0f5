"""Cost model of a Phang-style X-STILTs grid, and of intermediate-checkpoint reuse.

Training FLOPs = 6 x parameters x tokens (forward + backward, Kaplan et al. 2020); tokens per run
= examples x choices x epochs x max_length, the same upper bound as
:mod:`xstilts.orchestration.estimate` (dynamic padding makes real runs cheaper). Task sizes are
the English training sets' published sizes; the recipe (epochs, lengths) is Phang et al. (2020)
§3 as in ``params/profiles/xlmr-large.yaml``. Evaluation is not counted (forward only, small).
"""

from __future__ import annotations

from dataclasses import dataclass

XLMR_LARGE_PARAMS = 560e6
H100_BF16_DENSE_PEAK = 989e12  # FLOP/s, SXM, dense
A100_BF16_DENSE_PEAK = 312e12
ASSUMED_MFU = 0.40  # typical for BERT-large-sized encoders in bf16 + SDPA; replace by a measurement


@dataclass(frozen=True)
class TaskSize:
    name: str
    examples: int
    epochs: float
    max_length: int
    choices: int = 1  # multiple choice encodes every choice separately

    @property
    def tokens(self) -> float:
        return self.examples * self.choices * self.epochs * self.max_length


# Phang et al. (2020): 9 English intermediate tasks (ANLI+ = SNLI + MNLI + ANLI r1-3); 2 epochs.
GENERAL_INTERMEDIATES = (
    TaskSize("anli_plus", 550_152 + 392_702 + 162_865, 2, 256),
    TaskSize("mnli", 392_702, 2, 256),
    TaskSize("qqp", 363_846, 2, 256),
    TaskSize("sst2", 67_349, 2, 256),
    TaskSize("squad", 87_599, 2, 384),
    TaskSize("ccg", 38_015, 2, 256),
    TaskSize("hellaswag", 39_905, 2, 256, choices=4),
    TaskSize("cosmosqa", 25_262, 2, 256, choices=4),
    TaskSize("commonsenseqa", 9_741, 2, 256, choices=5),
)
DOMAIN_INTERMEDIATES = (
    TaskSize("casehold", 45_000, 2, 256, choices=5),  # legal
    TaskSize("medmcqa", 182_822, 2, 256, choices=4),  # biomedical
)
# XTREME targets: English training sets, Phang et al. epochs; BUCC / Tatoeba have no training.
XTREME_TARGETS = (
    TaskSize("xnli", 392_702, 2, 256),
    TaskSize("pawsx", 49_401, 5, 256),
    TaskSize("udpos", 21_253, 10, 256),
    TaskSize("panx", 20_000, 10, 256),
    TaskSize("xquad", 87_599, 2, 384),
    TaskSize("mlqa", 87_599, 2, 384),
    TaskSize("tydiqa", 3_696, 2, 384),
    TaskSize("bucc", 0, 0, 256),
    TaskSize("tatoeba", 0, 0, 256),
)


def grid_tokens(
    intermediates,
    targets,
    target_seeds: int = 3,
    intermediate_seeds: int = 1,
    baseline: bool = True,
    reuse: bool = True,
) -> dict[str, float]:
    """Training tokens of the grid. ``reuse``: one intermediate checkpoint per (task, seed) feeds
    every target; without it, every (intermediate, target) pipeline retrains its intermediate."""
    inter = sum(t.tokens for t in intermediates) * intermediate_seeds
    n_targets = sum(1 for t in targets if t.examples)
    if not reuse:
        inter *= max(n_targets, 1)
    arms = len(intermediates) * intermediate_seeds + (1 if baseline else 0)
    target = sum(t.tokens for t in targets) * target_seeds * arms
    return {"intermediate": inter, "target": target, "total": inter + target}


def gpu_hours(
    tokens: float,
    params: float = XLMR_LARGE_PARAMS,
    tokens_per_s: float | None = None,
    peak: float = A100_BF16_DENSE_PEAK,
    mfu: float = ASSUMED_MFU,
) -> float:
    """Hours on one GPU: at a measured ``tokens_per_s``, else at ``mfu`` of ``peak``."""
    rate = tokens_per_s or mfu * peak / (6 * params)
    return tokens / rate / 3600


def phang_grid(target_seeds: int = 3, tokens_per_s: float | None = None) -> dict:
    """Tokens, FLOPs and GPU-hours of 9 general + legal + biomedical intermediates x 9 XTREME
    targets x seeds (+ the no-intermediate baseline), with and without checkpoint reuse."""
    inter = GENERAL_INTERMEDIATES + DOMAIN_INTERMEDIATES
    out = {
        "intermediates": len(inter),
        "targets": len(XTREME_TARGETS),
        "target_seeds": target_seeds,
        "params": XLMR_LARGE_PARAMS,
    }
    for reuse in (True, False):
        tok = grid_tokens(inter, XTREME_TARGETS, target_seeds, reuse=reuse)
        key = "reuse" if reuse else "no_reuse"
        out[key] = {
            "tokens": tok,
            "pflop": 6 * XLMR_LARGE_PARAMS * tok["total"] / 1e15,
            "a100_hours": gpu_hours(tok["total"], tokens_per_s=tokens_per_s),
            "h100_hours": gpu_hours(
                tok["total"], tokens_per_s=tokens_per_s, peak=H100_BF16_DENSE_PEAK
            ),
        }
    return out
