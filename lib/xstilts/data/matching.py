"""Matching intermediate tasks in size: on examples, on training tokens, or on optimisation steps.

Equal example counts are not equal training: a CUAD question carries a whole contract and yields
many windows, an SST-2 sentence one short window. ``match_sizes`` in curate chooses the rule:

- ``examples`` (default): ``n_intermediate`` rows per task (stratified by label), or as many as the
  smallest task has where that is fewer, so that the sizes stay equal;
- ``tokens``: every task gets the number of training tokens (subwords fed to the encoder, windows
  and choices counted, at ``window_length``/``window_stride``) that the smallest task has in its
  ``n_intermediate`` rows;
- ``steps``: the same with training windows (features): at one batch size, equal optimisation
  steps per epoch.

Rows are taken in the seeded order of :func:`xstilts.data.subsample.ranked` until the budget is
reached, so a task's sample is a uniform random subset. The manifest records the examples,
tokens and windows each task got, whatever the rule. ``n_intermediate`` null (the full profiles)
takes every task's whole split under ``examples``: unmatched, as the paper's full datasets are.
"""

from __future__ import annotations

from collections import Counter

from ..configs import MATCH_MODES  # the setting: configs.CurateConfig.match_sizes
from ..tasks.schema import Format
from .subsample import ranked, stratified_sample

_CHUNK = 256


def _hf_tokenizer(tokenizer):
    """The ``transformers`` wrapper featurisation needs, around a ``tokenizers.Tokenizer``."""
    if hasattr(tokenizer, "backend_tokenizer"):
        return tokenizer
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>")


def row_costs(rows: list[dict], fmt: Format, tokenizer, window_length: int, stride: int):
    """Per row: (training tokens, training windows) as the intermediate stage featurises it."""
    from ..training.batching import feature_length
    from ..training.features import featurize

    if not rows:
        return [], []
    feats = featurize(
        rows, fmt, _hf_tokenizer(tokenizer), window_length, train=True, stride=stride, cache=False
    )
    tokens, windows = Counter(), Counter()
    for f in feats:
        tokens[f["example_index"]] += feature_length(f, total=True)
        windows[f["example_index"]] += 1
    return [tokens[i] for i in range(len(rows))], [windows[i] for i in range(len(rows))]


def usage(rows: list[dict], fmt: Format, tokenizer, window_length: int, stride: int) -> dict:
    tokens, windows = row_costs(rows, fmt, tokenizer, window_length, stride)
    return {"examples": len(rows), "tokens": sum(tokens), "windows": sum(windows)}


def smallest_pool(pools: dict[str, tuple[list[dict], Format]]) -> tuple[str, int]:
    """The task with the fewest rows, and how many it has."""
    task = min(pools, key=lambda t: len(pools[t][0]))
    return task, len(pools[task][0])


def common_size(pools: dict[str, tuple[list[dict], Format]], n: int | None) -> int | None:
    """The ``examples`` rule's size: ``n``, or the smallest pool where that has fewer rows."""
    if n is None or not pools:
        return n
    return min(n, smallest_pool(pools)[1])


def matched_samples(
    pools: dict[str, tuple[list[dict], Format]],
    n: int | None,
    mode: str,
    seed: int,
    tokenizer,
    window_length: int = 128,
    stride: int = 128,
) -> dict[str, list[dict]]:
    """Each task's training sample under the matching rule (see the module docstring)."""
    if mode not in MATCH_MODES:
        raise ValueError(f"match_sizes must be one of {MATCH_MODES}, got {mode!r}")
    if mode == "examples":
        common = common_size(pools, n)
        return {task: stratified_sample(rows, common, seed) for task, (rows, _) in pools.items()}
    key = 0 if mode == "tokens" else 1
    ordered = {task: (ranked(rows, seed), fmt) for task, (rows, fmt) in pools.items()}

    def cost(rows, fmt):
        return row_costs(rows, fmt, tokenizer, window_length, stride)[key]

    costs = {
        task: sum(cost(rows[:n] if n is not None else rows, fmt))
        for task, (rows, fmt) in ordered.items()
    }
    budget = min(costs.values(), default=0)
    if budget <= 0:  # every task would keep one row: refuse rather than train on nothing
        empty = ", ".join(t for t, c in costs.items() if c <= 0)
        raise ValueError(
            f"match_sizes={mode}: the matching budget is 0 because {empty} has no training "
            f"{'tokens' if mode == 'tokens' else 'windows'}; every task would keep one row"
        )
    chosen = {}
    for task, (rows, fmt) in ordered.items():
        taken, spent = [], 0
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            for row, c in zip(chunk, cost(chunk, fmt), strict=True):
                if taken and spent + c > budget:
                    break
                taken.append(row)
                spent += c
            else:
                continue
            break
        chosen[task] = taken
    return chosen
