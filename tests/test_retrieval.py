"""Retrieval: margin vs cosine on constructed embeddings, both directions, BUCC, layer sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tiny_models import tiny_encoder, tiny_tokenizer
from xstilts.evaluation.retrieval import (
    accuracy_both_ways,
    cosine_matrix,
    embed_layers,
    layer_sweep,
    margin_matrix,
    mine_candidates,
)
from xstilts.metrics import accuracy_at_1, bucc_evaluate


def _hub_case(a=1.5, n=5, d=8):
    """x_i = e_i + a * hub; targets e_0..e_{n-1} plus the hub itself (index n)."""
    eye = np.eye(d)
    hub = eye[d - 1]
    x = eye[:n] + a * hub
    y = np.vstack([eye[:n], hub])
    return x, y


def test_margin_defeats_hub_that_fools_cosine():
    x, y = _hub_case()
    assert accuracy_at_1(cosine_matrix(x, y), list(range(5))) == 0.0  # the hub wins everywhere
    assert accuracy_at_1(margin_matrix(x, y, k=4), list(range(5))) == 1.0
    # the closed form: correct pair 8 / (a + 2), hub 8a / (5a + 1)
    m = margin_matrix(x, y, k=4)
    assert m[0, 0] == pytest.approx(8 / 3.5) and m[0, 5] == pytest.approx(12 / 8.5)


def test_accuracy_both_directions():
    rng = np.random.default_rng(0)
    en = rng.normal(size=(20, 16))
    x = en + 0.01 * rng.normal(size=en.shape)
    for scoring in ("cosine", "margin"):
        assert accuracy_both_ways(x, en, scoring)["accuracy"] == 1.0
    # break one direction only: a duplicate English row is found from both sides once
    en2 = en.copy()
    en2[1] = en2[0]
    res = accuracy_both_ways(x, en2, "cosine")
    assert res["x_to_en"] == pytest.approx(19 / 20)  # x_1 -> en_0 (tie goes to the first)
    assert res["en_to_x"] == pytest.approx(19 / 20)  # en_1 (= en_0) -> x_0
    assert res["n"] == 20


def test_bucc_threshold_tuned_on_dev_applies_to_test():
    rng = np.random.default_rng(1)

    def split(seed_offset):
        base = rng.normal(size=(12, 16))
        src = np.vstack([base[:8] + 0.05 * rng.normal(size=(8, 16)), rng.normal(size=(4, 16))])
        tgt = base
        src_ids = [f"s{i}" for i in range(12)]
        tgt_ids = [f"t{i}" for i in range(12)]
        gold = {(f"s{i}", f"t{i}") for i in range(8)}  # s8..s11 have no translation
        # every forward and backward best: the threshold logic alone (the one-to-one filter is
        # checked against xtreme's in test_bucc_parity.py)
        return gold, mine_candidates(src, tgt, src_ids, tgt_ids, candidates="all")

    dev_gold, dev_cand = split(0)
    test_gold, test_cand = split(1)
    res = bucc_evaluate(dev_gold, dev_cand, test_gold, test_cand)
    assert res["f1"] == 1.0 and res["dev_f1"] == 1.0


def test_layer_sweep_all_layers_one_pass():
    tok = tiny_tokenizer()
    enc = tiny_encoder("xlmr", len(tok), seed=1)
    texts = ["alpha beta", "gamma delta epsilon", "zeta", "eta theta iota kappa"]
    emb = embed_layers(enc, tok, texts, pooling="mean", batch_size=3, precision="fp32")
    assert emb.shape == (3, 4, 32)  # embeddings + 2 layers
    with torch.no_grad():
        batch = tok([texts[1]], return_tensors="pt")
        states = enc(**batch, output_hidden_states=True).hidden_states
    assert np.allclose(emb[0, 1], states[0][0].mean(0).numpy(), atol=1e-5)
    assert np.allclose(emb[2, 1], states[2][0].mean(0).numpy(), atol=1e-5)
    pairs = [{"id": str(i), "text": t, "english": t} for i, t in enumerate(texts)]
    shifted = [{"id": str(i), "text": t, "english": texts[0]} for i, t in enumerate(texts)]
    sweep = layer_sweep(enc, tok, {"xx": pairs, "yy": shifted}, pooling="mean")
    assert sorted(sweep) == [0, 1, 2]
    for layer in sweep:  # identical texts: retrieved at every layer
        assert sweep[layer]["xx"]["accuracy"] == 1.0 and sweep[layer]["xx"]["n"] == 4
    sweep, hits = layer_sweep(enc, tok, {"xx": pairs}, return_hits=True, direction="en_to_x")
    assert [h["id"] for h in hits[2]["xx"]] == ["0", "1", "2", "3"]
    assert all(h["x_to_en"] and h["en_to_x"] and h["score"] == 100.0 for h in hits[2]["xx"])
    with pytest.raises(ValueError, match="out of range"):
        layer_sweep(enc, tok, {"xx": pairs}, layers=[7])
    with pytest.raises(ValueError, match="pairs"):
        layer_sweep(enc, tok, {"xx": [{"id": "0", "text": "alpha"}]})


def test_primary_direction_follows_the_protocol():
    from xstilts.evaluation.retrieval import both_ways_metrics

    x_to_en, en_to_x = np.array([True, False]), np.array([True, True])
    assert both_ways_metrics(x_to_en, en_to_x)["accuracy"] == 0.75
    assert both_ways_metrics(x_to_en, en_to_x, "en_to_x")["accuracy"] == 1.0
    assert both_ways_metrics(x_to_en, en_to_x, "x_to_en")["accuracy"] == 0.5
    with pytest.raises(ValueError, match="direction"):
        both_ways_metrics(x_to_en, en_to_x, "sideways")


@pytest.mark.parametrize("direction", ["both", "en_to_x", "x_to_en"])
def test_item_points_average_to_the_reported_accuracy(direction):
    """The item scores the bootstrap resamples must average to the metric itself (a bug added
    boolean arrays, i.e. a logical OR, and gave 50 points for an item found both ways)."""
    from xstilts.evaluation.retrieval import _item_points, both_ways_metrics

    x_to_en = np.array([True, True, False, False, True])
    en_to_x = np.array([True, False, True, False, True])
    points = _item_points(x_to_en, en_to_x, direction)
    expected = both_ways_metrics(x_to_en, en_to_x, direction)["accuracy"] * 100
    assert points.mean() == pytest.approx(expected)
    if direction == "both":
        assert points.tolist() == [100.0, 50.0, 50.0, 0.0, 100.0]


def test_layer_sweep_item_scores_match_metrics_both_ways():
    tok = tiny_tokenizer()
    enc = tiny_encoder("xlmr", len(tok), seed=2)
    texts = ["alpha beta", "gamma delta epsilon", "zeta", "eta theta iota kappa", "lambda mu"]
    rows = [{"id": str(i), "text": t, "english": texts[(i * 2) % 5] if i % 2 else t}
            for i, t in enumerate(texts)]  # fmt: skip
    sweep, hits = layer_sweep(enc, tok, {"xx": rows}, return_hits=True, direction="both")
    for layer in sweep:
        mean = np.mean([h["score"] for h in hits[layer]["xx"]])
        assert mean == pytest.approx(sweep[layer]["xx"]["accuracy"] * 100)


def test_hits_both_ways_per_item_and_direction():
    from xstilts.evaluation.retrieval import hits_both_ways

    en = np.eye(3)
    xx = np.array([[1.0, 0, 0], [1.0, 0.1, 0], [0, 0, 1.0]])  # item 1 points at item 0's English
    x_to_en, en_to_x = hits_both_ways(xx, en)
    assert x_to_en.tolist() == [True, False, True]
    assert en_to_x.tolist() == [True, True, True]  # English 1's nearest is xx 1 (0.1 vs 0)
    assert accuracy_both_ways(xx, en)["accuracy"] == pytest.approx((2 / 3 + 1) / 2)
