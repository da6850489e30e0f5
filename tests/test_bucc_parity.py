"""BUCC mining against xtreme's own logic: ``third_party/utils_retrieve.py`` at xtreme 838c13b,
``mine_bitext`` (``mode='mine'``, ``retrieval='max'``, ``margin='ratio'``, cosine) and
``bucc_extract``, transliterated below with numpy in place of faiss (an exact inner-product
search is the same ranking). The fixture has several non-English sentences whose best English
neighbour is the same sentence, so the one-to-one filter changes what is mined."""

from __future__ import annotations

import numpy as np
import pytest

from xstilts.evaluation.retrieval import mine_candidates


def _xtreme_mine_max(x, y, k):
    """``mine_bitext`` with retrieval='max': returns [(score, src_index, trg_index)] in its
    output order (threshold 0, as the BUCC script mines before tuning it)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)  # faiss.normalize_L2 for dist='cosine'
    y = y / np.linalg.norm(y, axis=1, keepdims=True)

    def knn(q, db, kk):  # faiss IndexFlatIP(dim).search(q, k)
        sims = q @ db.T
        ind = np.argsort(-sims, axis=1, kind="stable")[:, :kk]
        return np.take_along_axis(sims, ind, axis=1), ind

    x2y_sim, x2y_ind = knn(x, y, min(y.shape[0], k))
    x2y_mean = x2y_sim.mean(axis=1)
    y2x_sim, y2x_ind = knn(y, x, min(x.shape[0], k))
    y2x_mean = y2x_sim.mean(axis=1)

    def score_candidates(a, b, cand, fwd_mean, bwd_mean):
        out = np.zeros(cand.shape)
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                kk = cand[i, j]
                out[i, j] = a[i].dot(b[kk]) / ((fwd_mean[i] + bwd_mean[kk]) / 2)
        return out

    fwd_scores = score_candidates(x, y, x2y_ind, x2y_mean, y2x_mean)
    bwd_scores = score_candidates(y, x, y2x_ind, y2x_mean, x2y_mean)
    fwd_best = x2y_ind[np.arange(x.shape[0]), fwd_scores.argmax(axis=1)]
    bwd_best = y2x_ind[np.arange(y.shape[0]), bwd_scores.argmax(axis=1)]
    indices = np.stack(
        (
            np.concatenate((np.arange(x.shape[0]), bwd_best)),
            np.concatenate((fwd_best, np.arange(y.shape[0]))),
        ),
        axis=1,
    )
    scores = np.concatenate((fwd_scores.max(axis=1), bwd_scores.max(axis=1)))
    seen_src, seen_trg, out = set(), set(), []
    for i in np.argsort(-scores):
        src_ind, trg_ind = indices[i]
        if src_ind not in seen_src and trg_ind not in seen_trg:
            seen_src.add(src_ind)
            seen_trg.add(trg_ind)
            if scores[i] > 0:
                out.append((scores[i], src_ind, trg_ind))
    return out


def _xtreme_extract(cand2score, th):
    """``bucc_extract``: the pairs scored at or above the threshold."""
    return {pair for pair, score in cand2score.items() if score >= th}


@pytest.fixture
def embeddings():
    rng = np.random.default_rng(7)
    en = rng.normal(size=(40, 16))
    x = en[:30] + rng.normal(scale=0.6, size=(30, 16))  # 30 translations, noisy
    hub = en[0] + rng.normal(scale=0.05, size=(6, 16))  # 6 sentences crowding one English one
    return np.vstack([x, hub]), en


def test_one_to_one_mining_equals_xtreme_bucc_logic(embeddings):
    x, en = embeddings
    x_ids = [f"x{i}" for i in range(len(x))]
    en_ids = [f"e{j}" for j in range(len(en))]
    ours = mine_candidates(x, en, x_ids, en_ids, k=4, candidates="one_to_one")
    ref = {(x_ids[i], en_ids[j]): s for s, i, j in _xtreme_mine_max(x, en, 4)}
    assert set(ours) == set(ref)
    assert [ours[p] for p in sorted(ours)] == pytest.approx([ref[p] for p in sorted(ref)])
    for th in np.quantile(list(ref.values()), [0.1, 0.5, 0.9]):
        assert _xtreme_extract(ours, th) == _xtreme_extract(ref, th)
    # each sentence in at most one pair
    assert len({s for s, _ in ours}) == len({t for _, t in ours}) == len(ours)


def test_the_filter_matters_on_this_fixture(embeddings):
    """Keeping every forward and backward best mines pairs that share a sentence, so at a
    threshold it extracts more pairs than xtreme does."""
    x, en = embeddings
    x_ids, en_ids = [f"x{i}" for i in range(len(x))], [f"e{j}" for j in range(len(en))]
    every = mine_candidates(x, en, x_ids, en_ids, k=4, candidates="all")
    kept = mine_candidates(x, en, x_ids, en_ids, k=4, candidates="one_to_one")
    assert set(kept) < set(every)
    assert sum(t == "e0" for _, t in every) > 1 and sum(t == "e0" for _, t in kept) == 1
    with pytest.raises(ValueError, match="one_to_one"):
        mine_candidates(x, en, x_ids, en_ids, candidates="max")
