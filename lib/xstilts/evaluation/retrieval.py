"""Sentence retrieval with the bare encoder (no head): a layer sweep in one forward pass.

- :func:`embed_layers`: pooled hidden states of *every* layer (``output_hidden_states=True``;
  layer 0 = the embedding output), mean or first-token pooling.
- scoring: cosine similarity, or the ratio margin of LASER / XTREME ``evaluate_retrieval.py``
  (Artetxe & Schwenk 2019): ``cos(x, y) / (mean_kNN(x) / 2 + mean_kNN(y) / 2)`` with k = 4.
- Tatoeba-style accuracy@1 in both directions (en→X and X→en) over the ids both sides have.
- BUCC-style mining F1: candidates from both directions, threshold tuned on dev and reused on
  test (:func:`xstilts.metrics.bucc_evaluate`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..metrics import retrieval as rmetrics
from ..models.heads import pool
from ..precision import autocast
from ..training.batching import _pad, sorted_batches

MARGIN_K = 4
SCORINGS = ("cosine", "margin")


@torch.inference_mode()
def embed_layers(
    encoder: nn.Module,
    tokenizer,
    texts: list[str],
    *,
    pooling: str = "mean",
    max_length: int = 128,
    batch_size: int = 64,
    precision: str = "auto",
    desc: str = "embed",
) -> np.ndarray:
    """``(n_layers + 1, len(texts), hidden)`` float32: pooled states of every layer."""
    if not texts:
        raise ValueError("no texts to embed")
    device = next(encoder.parameters()).device
    encoder.eval()
    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out: np.ndarray | None = None
    for indices in tqdm(sorted_batches([len(s) for s in ids], batch_size), desc=desc):
        seqs = [ids[i] for i in indices]
        input_ids = _pad(seqs, pad_id).to(device)
        mask = _pad([[1] * len(s) for s in seqs], 0, input_ids.shape[1]).to(device)
        with autocast(precision, device):
            states = encoder(
                input_ids=input_ids, attention_mask=mask, output_hidden_states=True
            ).hidden_states
        pooled = torch.stack([pool(h.float(), mask, pooling) for h in states]).cpu().numpy()
        if out is None:
            out = np.zeros((pooled.shape[0], len(texts), pooled.shape[2]), dtype=np.float32)
        out[:, indices] = pooled
    return out  # type: ignore[return-value]


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None)


def cosine_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return normalize(x) @ normalize(y).T


def knn_mean(sim: np.ndarray, k: int) -> np.ndarray:
    """Mean of each row's ``k`` highest similarities."""
    k = min(k, sim.shape[1])
    return np.sort(sim, axis=1)[:, -k:].mean(axis=1)


def margin_matrix(x: np.ndarray, y: np.ndarray, k: int = MARGIN_K) -> np.ndarray:
    """Ratio margin ``cos(x, y) / ((mean_kNN_y(x) + mean_kNN_x(y)) / 2)``."""
    sim = cosine_matrix(x, y)
    return sim / ((knn_mean(sim, k)[:, None] + knn_mean(sim.T, k)[None, :]) / 2)


def score_matrix(
    x: np.ndarray, y: np.ndarray, scoring: str = "cosine", k: int = MARGIN_K
) -> np.ndarray:
    if scoring == "cosine":
        return cosine_matrix(x, y)
    if scoring == "margin":
        return margin_matrix(x, y, k)
    raise ValueError(f"scoring must be one of {SCORINGS}, got {scoring!r}")


def hits_both_ways(
    src: np.ndarray, tgt: np.ndarray, scoring: str = "cosine", k: int = MARGIN_K
) -> tuple[np.ndarray, np.ndarray]:
    """Per item i (row i of ``src`` translates row i of English ``tgt``): did its nearest
    neighbour hit the gold translation, X→en and en→X (boolean arrays)."""
    if src.shape[0] != tgt.shape[0] or src.shape[0] == 0:
        raise ValueError(f"aligned, non-empty sides needed, got {src.shape[0]} and {tgt.shape[0]}")
    scores = score_matrix(src, tgt, scoring, k)
    gold = np.arange(src.shape[0])
    return scores.argmax(axis=1) == gold, scores.argmax(axis=0) == gold


def accuracy_both_ways(
    src: np.ndarray, tgt: np.ndarray, scoring: str = "cosine", k: int = MARGIN_K
) -> dict[str, float]:
    """``x_to_en``, ``en_to_x`` accuracy@1 and their mean ``accuracy`` (see :func:`hits_both_ways`)."""
    return both_ways_metrics(*hits_both_ways(src, tgt, scoring, k))


def both_ways_metrics(x_to_en: np.ndarray, en_to_x: np.ndarray) -> dict[str, float]:
    """Accuracy@1 per direction from per-item hits, their mean ``accuracy``, and ``n``."""
    return {
        "accuracy": float(x_to_en.mean() + en_to_x.mean()) / 2,
        "x_to_en": float(x_to_en.mean()),
        "en_to_x": float(en_to_x.mean()),
        "n": int(x_to_en.size),
    }


def mine_candidates(
    src: np.ndarray, tgt: np.ndarray, src_ids: list, tgt_ids: list, k: int = MARGIN_K
) -> dict[tuple, float]:
    """BUCC mining: each sentence's best margin partner, in both directions (LASER ``max``)."""
    scores = margin_matrix(src, tgt, k)
    fwd = scores.argmax(1)
    bwd = scores.argmax(0)
    triples = [(src_ids[i], tgt_ids[j], scores[i, j]) for i, j in enumerate(fwd)]
    triples += [(src_ids[i], tgt_ids[j], scores[i, j]) for j, i in enumerate(bwd)]
    return rmetrics.candidate_scores(triples)


def aligned(src_rows: list[dict], en_rows: list[dict]) -> tuple[list[int], list[int], list]:
    """Indices into both sides for the ids they share (sorted), and those ids."""
    src_index = {r["id"]: i for i, r in enumerate(src_rows)}
    en_index = {r["id"]: i for i, r in enumerate(en_rows)}
    shared = sorted(set(src_index) & set(en_index), key=str)
    return [src_index[i] for i in shared], [en_index[i] for i in shared], shared


def layer_sweep(
    encoder: nn.Module,
    tokenizer,
    rows_by_lang: dict[str, list[dict]],
    *,
    pooling: str = "mean",
    scoring: str = "cosine",
    max_length: int = 128,
    batch_size: int = 64,
    layers: list[int] | None = None,
    precision: str = "auto",
    return_hits: bool = False,
):
    """Accuracy@1 both ways for every non-English language at every layer (or ``layers``).

    All texts of all languages are embedded in one pass; returns ``{layer: {lang: metrics}}``,
    and with ``return_hits`` also ``{layer: {lang: [{"id", "x_to_en", "en_to_x"}]}}`` (per item).
    """
    if "en" not in rows_by_lang:
        raise ValueError(f"retrieval needs the English side (test.en); have {sorted(rows_by_lang)}")
    texts, spans, start = [], {}, 0
    for lang, rows in rows_by_lang.items():
        texts.extend(r["text"] for r in rows)
        spans[lang] = (start, start + len(rows))
        start += len(rows)
    embeddings = embed_layers(
        encoder,
        tokenizer,
        texts,
        pooling=pooling,
        max_length=max_length,
        batch_size=batch_size,
        precision=precision,
    )
    n_layers = embeddings.shape[0]
    chosen = list(range(n_layers)) if layers is None else [int(x) for x in layers]
    for layer in chosen:
        if not -n_layers <= layer < n_layers:
            raise ValueError(
                f"layer {layer} out of range: the encoder has layers 0..{n_layers - 1}"
            )
    chosen = [layer % n_layers for layer in chosen]
    en = embeddings[:, slice(*spans["en"])]
    sweep: dict[int, dict[str, dict[str, float]]] = {layer: {} for layer in chosen}
    hits: dict[int, dict[str, list[dict]]] = {layer: {} for layer in chosen}
    for lang, rows in rows_by_lang.items():
        if lang == "en":
            continue
        src_idx, en_idx, shared = aligned(rows, rows_by_lang["en"])
        if not shared:
            raise ValueError(f"retrieval: test.{lang} and test.en share no ids")
        src = embeddings[:, slice(*spans[lang])]
        for layer in chosen:
            x_to_en, en_to_x = hits_both_ways(src[layer][src_idx], en[layer][en_idx], scoring)
            sweep[layer][lang] = both_ways_metrics(x_to_en, en_to_x)
            hits[layer][lang] = [
                {"id": i, "x_to_en": bool(a), "en_to_x": bool(b)}
                for i, a, b in zip(shared, x_to_en, en_to_x, strict=True)
            ]
    return (sweep, hits) if return_hits else sweep
