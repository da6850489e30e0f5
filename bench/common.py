"""What the benchmarks share: the embedded model and tokenizer, real data, thread settings."""

from __future__ import annotations

import os
from functools import lru_cache

import torch

from xstilts.models.loading import EMBEDDED, load_encoder, load_tokenizer

MAX_LENGTH = 128  # run_xnli.py's default max_seq_length


def set_threads(threads: int | None, default: int = 1) -> int:
    """Pin torch's intra-op threads (the same for both arms of a pair); return the value in force.

    ``threads`` None takes the benchmark's ``default``: 1 for the A/B pairs (the machine is shared),
    0 = every core (torch's own default, as a study runs)."""
    threads = default if threads is None else threads
    torch.set_num_threads(threads if threads > 0 else os.cpu_count() or 1)
    os.environ.setdefault("TQDM_DISABLE", "1")
    return torch.get_num_threads()


@lru_cache(maxsize=1)
def tokenizer():
    return load_tokenizer(EMBEDDED)


def encoder():
    """A fresh copy of the embedded encoder (multilingual-e5-small as a BertModel)."""
    return load_encoder(EMBEDDED)


def embedded_dir() -> str:
    from xstilts.assets.embedded_model import ensure_embedded_model

    return str(ensure_embedded_model())


def rows(task: str, split: str, language: str = "en", limit: int | None = None) -> list[dict]:
    """Real rows of a registered task (the curated data's source), first ``limit`` of them."""
    from xstilts.tasks import get_task

    loaded = get_task(task).loader(split, language)
    return loaded[:limit] if limit else loaded


def encode_max_length(tok, rows: list[dict], fmt: str, max_length: int, **kwargs):
    """Tokenise ``rows`` as ``run_xnli.py`` does: truncated and padded to ``max_length``.
    ``fmt`` "pair" reads ``text_a``/``text_b``, anything else ``text``."""
    if fmt == "pair":
        texts = ([r["text_a"] for r in rows], [r["text_b"] for r in rows])
    else:
        texts = ([r["text"] for r in rows],)
    return tok(*texts, padding="max_length", truncation=True, max_length=max_length, **kwargs)


def n_params(model: torch.nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def fmt_rate(x: float, unit: str) -> str:
    return f"{x:,.0f} {unit}" if x >= 100 else f"{x:.1f} {unit}"


def fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"
