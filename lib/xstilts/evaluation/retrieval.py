"""Sentence retrieval with the bare encoder (no head): a layer sweep in one forward pass.

- :func:`embed_layers`: pooled hidden states of *every* layer (``output_hidden_states=True``;
  layer 0 = the embedding output), mean or first-token pooling.
- scoring: cosine similarity, or the ratio margin of LASER / XTREME ``evaluate_retrieval.py``
  (Artetxe & Schwenk 2019): ``cos(x, y) / (mean_kNN(x) / 2 + mean_kNN(y) / 2)`` with k = 4.
- pairs (Tatoeba, UDHR): accuracy@1 in both directions (en→X and X→en) over each language's
  pairs ``{id, text, english}``; ``accuracy`` is the protocol's direction (XTREME Tatoeba: en→X,
  English queries against the indexed X side, ``third_party/utils_retrieve.py``
  ``similarity_search``) or, for targets without one, the mean of the two;
- mining (BUCC): LASER/XTREME margin mining (``third_party/utils_retrieve.py`` ``mine_bitext``:
  k = 4 nearest neighbours each way by cosine, ratio margin, the best candidate of every
  sentence in both directions), threshold tuned on dev and applied to test
  (:func:`xstilts.metrics.bucc_evaluate`). The neighbour search runs in row chunks, so memory is
  ``chunk × n`` and never ``n × n``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..configs import SCORINGS
from ..metrics import retrieval as rmetrics
from ..models.family import num_layers_of
from ..models.heads import pool
from ..precision import autocast
from ..training.batching import _pad, sorted_batches

MARGIN_K = 4


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
    keep: list[int] | None = None,
) -> np.ndarray:
    """``(n_layers + 1, len(texts), hidden)`` float32: pooled states of every layer, or of the
    ``keep`` layers only (in that order), which BUCC-sized sets need."""
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
        if keep is not None:
            states = [states[k] for k in keep]
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


def nearest_both_ways(
    src: np.ndarray, tgt: np.ndarray, scoring: str = "cosine", k: int = MARGIN_K
) -> tuple[np.ndarray, np.ndarray]:
    """For aligned sides (row i of ``src`` translates row i of English ``tgt``): the index of each
    X sentence's nearest English sentence, and of each English sentence's nearest X sentence
    (the search XTREME runs: ``similarity_search`` indexes X and queries with English)."""
    if src.shape[0] != tgt.shape[0] or src.shape[0] == 0:
        raise ValueError(f"aligned, non-empty sides needed, got {src.shape[0]} and {tgt.shape[0]}")
    scores = score_matrix(src, tgt, scoring, k)
    return scores.argmax(axis=1), scores.argmax(axis=0)


def hits_both_ways(
    src: np.ndarray, tgt: np.ndarray, scoring: str = "cosine", k: int = MARGIN_K
) -> tuple[np.ndarray, np.ndarray]:
    """Per item: did its nearest neighbour hit the gold translation, X→en and en→X."""
    x_to_en, en_to_x = nearest_both_ways(src, tgt, scoring, k)
    gold = np.arange(src.shape[0])
    return x_to_en == gold, en_to_x == gold


def accuracy_both_ways(
    src: np.ndarray, tgt: np.ndarray, scoring: str = "cosine", k: int = MARGIN_K
) -> dict[str, float]:
    """``x_to_en``, ``en_to_x`` accuracy@1 and their mean ``accuracy`` (see :func:`hits_both_ways`)."""
    return both_ways_metrics(*hits_both_ways(src, tgt, scoring, k))


DIRECTIONS = ("both", "en_to_x", "x_to_en")


def both_ways_metrics(
    x_to_en: np.ndarray, en_to_x: np.ndarray, direction: str = "both"
) -> dict[str, float]:
    """Accuracy@1 per direction from per-item hits, ``accuracy`` (the ``direction`` given, or
    the mean of the two for "both"), and ``n``."""
    primary = {
        "both": (x_to_en.mean() + en_to_x.mean()) / 2,
        "en_to_x": en_to_x.mean(),
        "x_to_en": x_to_en.mean(),
    }
    if direction not in primary:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return {
        "accuracy": float(primary[direction]),
        "x_to_en": float(x_to_en.mean()),
        "en_to_x": float(en_to_x.mean()),
        "n": int(x_to_en.size),
    }


def knn_cosine(
    x: np.ndarray, y: np.ndarray, k: int, *, device: str | torch.device = "cpu", budget: int = 2**28
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` most cosine-similar rows of ``y`` for every row of ``x``: (similarities, indices),
    each ``(len(x), k)``, best first. ``x`` is processed in chunks of rows so that a chunk's
    similarity block stays within ``budget`` bytes: memory is O(chunk × len(y)), never
    O(len(x) × len(y)), and BUCC-sized sets (≈ 200k × 200k) fit a GPU or a laptop."""
    k = min(k, len(y))
    xt = torch.nn.functional.normalize(torch.as_tensor(x, dtype=torch.float32), dim=1)
    yt = torch.nn.functional.normalize(torch.as_tensor(y, dtype=torch.float32), dim=1).to(device)
    chunk = max(1, min(len(x), budget // (4 * max(1, len(y)))))
    sims, idx = [], []
    for start in range(0, len(x), chunk):
        block = xt[start : start + chunk].to(device) @ yt.T
        top = torch.topk(block, k, dim=1)
        sims.append(top.values.cpu())
        idx.append(top.indices.cpu())
    return torch.cat(sims).numpy(), torch.cat(idx).numpy()


CANDIDATES = ("one_to_one", "all")


def mine_candidates(
    src: np.ndarray,
    tgt: np.ndarray,
    src_ids: list,
    tgt_ids: list,
    k: int = MARGIN_K,
    device: str | torch.device = "cpu",
    candidates: str = "one_to_one",
) -> dict[tuple, float]:
    """BUCC mining as LASER ``mine_bitexts.py`` / XTREME ``mine_bitext`` do it (``--mode mine
    --retrieval max --margin ratio``): each sentence's k nearest neighbours by cosine, the ratio
    margin ``cos / ((mean_kNN(x) + mean_kNN(y)) / 2)`` over those candidates, and the best
    candidate of every sentence in both directions.

    ``candidates="one_to_one"`` is xtreme's ``retrieval='max'`` (``third_party/utils_retrieve.py``,
    ``mine_bitext``): the forward and backward bests, greedy by score, each sentence in at most
    one pair. ``"all"`` keeps every forward and backward best (a pair found twice keeps its best
    score), which extracts more pairs at a threshold and so lowers precision."""
    if candidates not in CANDIDATES:
        raise ValueError(f"bucc candidates must be one of {CANDIDATES}, got {candidates!r}")
    fwd_sim, fwd_idx = knn_cosine(src, tgt, k, device=device)
    bwd_sim, bwd_idx = knn_cosine(tgt, src, k, device=device)
    src_mean, tgt_mean = fwd_sim.mean(axis=1), bwd_sim.mean(axis=1)
    fwd_margin = fwd_sim / ((src_mean[:, None] + tgt_mean[fwd_idx]) / 2)
    bwd_margin = bwd_sim / ((tgt_mean[:, None] + src_mean[bwd_idx]) / 2)
    triples = []
    for i, (best, row) in enumerate(zip(fwd_margin.argmax(1), fwd_idx, strict=True)):
        triples.append((src_ids[i], tgt_ids[row[best]], fwd_margin[i, best]))
    for j, (best, row) in enumerate(zip(bwd_margin.argmax(1), bwd_idx, strict=True)):
        triples.append((src_ids[row[best]], tgt_ids[j], bwd_margin[j, best]))
    if candidates == "one_to_one":
        triples = one_to_one(triples)
    return rmetrics.candidate_scores(triples)


def one_to_one(triples: list[tuple]) -> list[tuple]:
    """xtreme's ``retrieval='max'`` filter: best score first (forward bests before backward ones
    on ties, as xtreme concatenates them), a pair kept only if neither sentence is taken."""
    seen_src, seen_tgt, kept = set(), set(), []
    for src, tgt, score in sorted(triples, key=lambda t: -t[2]):
        if src not in seen_src and tgt not in seen_tgt:
            seen_src.add(src)
            seen_tgt.add(tgt)
            kept.append((src, tgt, score))
    return kept


def _embed_unique(encoder, tokenizer, texts: list[str], **kwargs) -> tuple[np.ndarray, list[int]]:
    """Embed each distinct text once (a shared English side serves every language)."""
    unique = list(dict.fromkeys(texts))
    position = {t: i for i, t in enumerate(unique)}
    return embed_layers(encoder, tokenizer, unique, **kwargs), [position[t] for t in texts]


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
    direction: str = "both",
    return_hits: bool = False,
):
    """Accuracy@1 both ways for every language's pairs ``{id, text, english}`` at every layer
    (or ``layers``); all texts embedded in one pass. Returns ``{layer: {lang: metrics}}``, and
    with ``return_hits`` also ``{layer: {lang: [{"id", "x_to_en", "en_to_x", "score"}]}}``
    (``score``: the item's points under ``direction``, for the item-level bootstrap)."""
    for lang, rows in rows_by_lang.items():
        if not rows or any("english" not in r for r in rows):
            raise ValueError(
                f"retrieval {lang}: rows must be pairs {{id, text, english}} (curate writes them)"
            )
    texts = [t for rows in rows_by_lang.values() for r in rows for t in (r["text"], r["english"])]
    kwargs = {"pooling": pooling, "max_length": max_length, "batch_size": batch_size}
    embeddings, where = _embed_unique(encoder, tokenizer, texts, precision=precision, **kwargs)
    chosen = _check_layers(layers, embeddings.shape[0])
    sweep = {layer: {} for layer in chosen}
    hits = {layer: {} for layer in chosen}
    cursor = 0
    for lang, rows in rows_by_lang.items():
        pos = where[cursor : cursor + 2 * len(rows)]
        cursor += 2 * len(rows)
        for layer in chosen:
            src, eng = embeddings[layer][pos[0::2]], embeddings[layer][pos[1::2]]
            to_en, to_x = nearest_both_ways(src, eng, scoring)
            gold = np.arange(len(rows))
            x_to_en, en_to_x = to_en == gold, to_x == gold
            sweep[layer][lang] = both_ways_metrics(x_to_en, en_to_x, direction)
            item = _item_points(x_to_en, en_to_x, direction)
            hits[layer][lang] = [
                {
                    "id": r["id"],
                    "x_to_en": bool(x_to_en[i]),
                    "en_to_x": bool(en_to_x[i]),
                    "x_to_en_id": rows[to_en[i]]["id"],
                    "en_to_x_id": rows[to_x[i]]["id"],
                    "score": float(item[i]),
                }
                for i, r in enumerate(rows)
            ]
    return (sweep, hits) if return_hits else sweep


def _item_points(x_to_en: np.ndarray, en_to_x: np.ndarray, direction: str) -> np.ndarray:
    """Each item's points under ``direction``; their mean is the ``accuracy`` of
    :func:`both_ways_metrics` in points. (Cast first: numpy adds boolean arrays as logical OR.)"""
    x_to_en, en_to_x = x_to_en.astype(float), en_to_x.astype(float)
    points = {"both": (x_to_en + en_to_x) * 50.0, "en_to_x": en_to_x * 100.0}
    return points.get(direction, x_to_en * 100.0)


def _check_layers(layers: list[int] | None, n_layers: int) -> list[int]:
    chosen = list(range(n_layers)) if layers is None else [int(x) for x in layers]
    for layer in chosen:
        if not -n_layers <= layer < n_layers:
            raise ValueError(
                f"layer {layer} out of range: the encoder has layers 0..{n_layers - 1}"
            )
    return [layer % n_layers for layer in chosen]


def mining_sweep(
    encoder: nn.Module,
    tokenizer,
    sets: dict[str, dict[str, list[dict]]],
    *,
    layers: list[int],
    pooling: str = "mean",
    max_length: int = 128,
    batch_size: int = 64,
    precision: str = "auto",
    candidates: str = "one_to_one",
) -> tuple[dict[int, dict[str, dict]], dict[str, list[dict]]]:
    """BUCC per layer and language: mine dev and test, tune the threshold on dev gold, score test
    (:func:`xstilts.metrics.retrieval.bucc_evaluate`). ``sets``: lang -> {"validation": rows,
    "test": rows} with rows ``{id, text, side, gold}``. Returns ``{layer: {lang: metrics}}`` and
    the test pairs mined at the last layer given, per language."""
    n_layers = num_layers_of(encoder) + 1
    chosen = _check_layers(layers, n_layers)
    kwargs = {"pooling": pooling, "max_length": max_length, "batch_size": batch_size}
    sweep: dict[int, dict[str, dict]] = {layer: {} for layer in chosen}
    mined: dict[str, list[dict]] = {}
    for lang, splits in sets.items():
        found = {
            split: _mine_split(
                encoder, tokenizer, f"{lang} {split}", rows, chosen, precision, kwargs, candidates
            )
            for split, rows in splits.items()
        }
        for k, layer in enumerate(chosen):
            sweep[layer][lang] = rmetrics.bucc_evaluate(
                found["validation"][0],
                found["validation"][1][k],
                found["test"][0],
                found["test"][1][k],
            )
        threshold = sweep[chosen[-1]][lang]["threshold"]
        mined[lang] = [
            {"id": s, "mined": t, "margin": float(v), "kept": bool(v >= threshold)}
            for (s, t), v in sorted(found["test"][1][-1].items(), key=lambda kv: -kv[1])
        ]
    return sweep, mined


def _mine_split(encoder, tokenizer, where: str, rows, chosen, precision, kwargs, candidates):
    """One BUCC split: its gold pairs, and the candidates mined at each chosen layer."""
    x = [r for r in rows if r["side"] == "x"]
    en = [r for r in rows if r["side"] == "en"]
    gold = {(r["id"], r["gold"]) for r in x if r.get("gold")}
    if not (x and en and gold):
        raise ValueError(f"bucc {where}: needs both sides and gold pairs")
    texts = [r["text"] for r in x + en]
    desc = "bucc." + where.replace(" ", ".")
    emb = embed_layers(
        encoder, tokenizer, texts, precision=precision, keep=chosen, desc=desc, **kwargs
    )
    device = next(encoder.parameters()).device
    x_ids, en_ids = [r["id"] for r in x], [r["id"] for r in en]
    return gold, [
        mine_candidates(
            e[: len(x)], e[len(x) :], x_ids, en_ids, device=device, candidates=candidates
        )
        for e in emb
    ]
