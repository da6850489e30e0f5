"""Intermediate -> target stage entry points on a tiny local model and hand-made curated rows."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from safetensors.torch import load_file

from tiny_models import sentiment_rows, tiny_encoder, tiny_masked_lm, tiny_tokenizer
from xstilts.data.store import write_split
from xstilts.stages import intermediate, target

TRAIN = {
    "max_steps": 6,
    "batch_size": 4,
    "checkpoint_every": 3,
    "eval_every": 3,
    "max_length": 32,
    "device": "cpu",
    "lr": 1e-3,
}


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    torch.set_num_threads(1)
    tok = tiny_tokenizer()
    model_dir = tmp_path / "tiny-xlmr"
    tiny_encoder("xlmr", len(tok), seed=0, dropout=0.1).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    cur = tmp_path / "curate"
    pairs = [
        {"id": f"v{i}", "text_a": r["text"], "text_b": r["text"].split()[0], "label": i % 3}
        for i, r in enumerate(sentiment_rows(24, 5))
    ]
    write_split(cur, "vitaminc", "train", pairs[:16])
    write_split(cur, "vitaminc", "validation", pairs[16:])
    write_split(cur, "multiemo", "train", sentiment_rows(20, 1))
    write_split(cur, "multiemo", "validation", sentiment_rows(8, 2))
    for lang, seed in (("en", 3), ("de", 4), ("pl", 6)):
        write_split(cur, "multiemo", "test", sentiment_rows(6, seed), lang)
    texts = ["all humans are born free", "everyone has the right to life", "no one shall be held"]
    pairs = [{"id": str(i), "text": t.upper(), "english": t} for i, t in enumerate(texts)]
    write_split(cur, "udhr", "test", pairs, "de")
    return tmp_path, model_dir, cur


def test_intermediate_then_target(setup):
    tmp, model_dir, cur = setup
    inter = intermediate.run(
        {"model": str(model_dir), "task": "vitaminc", "seed": 2, **TRAIN}, cur, tmp / "inter"
    )
    assert inter["steps"] == 6 and inter["best_step"] in (3, 6) and inter["tokens_per_s"] > 0
    assert (
        json.loads((tmp / "inter" / "metrics.json").read_text())["dev_score"] == inter["dev_score"]
    )
    enc_dir = tmp / "inter" / "encoder"
    assert (enc_dir / "model.safetensors").exists() and (enc_dir / "tokenizer.json").exists()
    assert not any("heads" in k for k in load_file(str(enc_dir / "model.safetensors")))
    before = load_file(str(model_dir / "model.safetensors"))
    after = load_file(str(enc_dir / "model.safetensors"))
    changed = [k for k in after if not torch.equal(after[k], before[k])]
    assert changed and any("word_embeddings" in k for k in changed)  # every weight trains

    metrics = target.run(
        {"model": str(model_dir), "task": "multiemo", "intermediate": "vitaminc", **TRAIN},
        cur,
        enc_dir,
        tmp / "target",
    )
    assert list(metrics)[:7] == [
        "task",
        "format",
        "primary_metric",
        "intermediate",
        "seed",
        "model",
        "per_language",
    ]
    assert metrics["primary_metric"] == "accuracy" and metrics["encoder"] == "intermediate"
    assert list(metrics["per_language"]) == ["en", "de", "pl"]
    assert all(m["n"] == 6 for m in metrics["per_language"].values())
    accs = [m["accuracy"] for m in metrics["per_language"].values()]
    assert metrics["average"]["accuracy"] == pytest.approx(sum(accs) / 3)
    preds = (tmp / "target" / "predictions" / "de.jsonl").read_text().splitlines()
    assert len(preds) == 6 and set(json.loads(preds[0])) == {"id", "prediction", "reference"}
    with open(tmp / "target" / "curve.csv") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == list(range(1, 7))

    # the same call again resumes the finished run: identical metrics
    again = target.run(
        {"model": str(model_dir), "task": "multiemo", "intermediate": "vitaminc", **TRAIN},
        cur,
        enc_dir,
        tmp / "target",
    )
    assert again["per_language"] == metrics["per_language"]

    baseline = target.run(
        {"model": str(model_dir), "task": "multiemo", **TRAIN}, cur, None, tmp / "baseline"
    )
    assert baseline["encoder"] == "pretrained" and baseline["intermediate"] is None


def test_retrieval_target_sweeps_layers_without_training(setup):
    tmp, model_dir, cur = setup
    metrics = target.run(
        {"model": str(model_dir), "task": "udhr", **TRAIN}, cur, None, tmp / "udhr"
    )
    assert sorted(metrics["layers"], key=int) == ["0", "1", "2"]
    assert metrics["layer"] == 2 and metrics["per_language"] == metrics["layers"]["2"]
    assert set(metrics["per_language"]["de"]) >= {"accuracy", "x_to_en", "en_to_x", "n"}
    assert metrics["direction"] == "both" and metrics["protocol_layer"] is None  # no protocol
    assert not (tmp / "udhr" / "checkpoints").exists()


def test_a_study_wide_language_list_gives_each_target_the_languages_it_evaluates(setup):
    """``target.languages`` applies to every target: a retrieval target skips English (the other
    side of its pairs) and the languages it does not have. It used to fail on 'en' after the
    intermediates had trained."""
    tmp, model_dir, cur = setup
    config = {"model": str(model_dir), "task": "udhr", "languages": ["en", "de", "az"], **TRAIN}
    metrics = target.run(config, cur, None, tmp / "udhr-langs")  # UDHR has no 'az' declaration
    assert list(metrics["per_language"]) == ["de"]
    with pytest.raises(FileNotFoundError, match="no curated test split for \\['ja'\\]"):
        target.run({**config, "languages": ["de", "ja"]}, cur, None, tmp / "udhr-ja")
    with pytest.raises(ValueError, match="none of the languages \\['en'\\] is one it evaluates"):
        target.run({**config, "languages": ["en"]}, cur, None, tmp / "udhr-en")


def test_config_errors_are_clear(setup):
    tmp, model_dir, cur = setup
    with pytest.raises(ValueError, match="unknown keys"):
        target.run(
            {"model": str(model_dir), "task": "multiemo", "learning_rate": 1}, cur, None, tmp
        )
    with pytest.raises(ValueError, match="masked-LM head"):
        intermediate.run({"mlm": True}, cur, tmp / "mlm")
    with pytest.raises(FileNotFoundError, match="curated task 'xnli'"):
        intermediate.run({"mlm": True, "mlm_task": "xnli"}, cur, tmp / "mlm")
    with pytest.raises(ValueError, match="retrieval task"):
        intermediate.run({"model": str(model_dir), "task": "udhr"}, cur, tmp / "x")
    with pytest.raises(ValueError, match="none of the languages \\['xx'\\] is one it evaluates"):
        target.run(
            {"model": str(model_dir), "task": "multiemo", "languages": ["xx"]}, cur, None, tmp / "y"
        )


def test_intermediate_with_masked_lm_continuation(setup):
    """X-STILTs' "+ MLM": the pretrained MLM head trains beside the task head, on every language
    of the curated MLM corpus; the saved encoder is the bare encoder; reruns are identical."""
    tmp, _, cur = setup
    tok = tiny_tokenizer()
    mlm_dir = tmp / "tiny-xlmr-mlm"
    pretrained = tiny_masked_lm(len(tok), seed=0, dropout=0.1)
    pretrained.save_pretrained(mlm_dir)
    tok.save_pretrained(mlm_dir)
    cfg = {"model": str(mlm_dir), "task": "vitaminc", "mlm": True, "sampling": "uniform"}
    cfg |= {**TRAIN, "max_steps": 10, "freeze_embeddings": False, "mlm_probability": 0.3}
    metrics = intermediate.run(cfg, cur, tmp / "mlm")

    assert metrics["mlm_texts"] == 6  # 3 UDHR articles x (en, de)
    assert metrics["train_examples"] == {"vitaminc": 16, "mlm": 6}
    with (tmp / "mlm" / "curve.csv").open() as fh:
        curve = list(csv.DictReader(fh))
    mlm_losses = [float(r["loss"]) for r in curve if r["task"] == "mlm"]
    assert mlm_losses and {r["task"] for r in curve} == {"vitaminc", "mlm"}
    # a fresh head on 89 pieces starts near ln(89) = 4.5, finite, and the loss is not constant
    assert all(1.0 < loss < 8.0 for loss in mlm_losses) and len(set(mlm_losses)) > 1

    saved = load_file(str(tmp / "mlm" / "encoder" / "model.safetensors"))
    assert not any("lm_head" in name for name in saved)
    before = pretrained.roberta.state_dict()
    changed = [n for n, t in saved.items() if n in before and not torch.equal(t, before[n])]
    assert "embeddings.word_embeddings.weight" in changed  # the trained encoder was saved

    again = intermediate.run(cfg, cur, tmp / "mlm-again")
    assert again["dev_score"] == metrics["dev_score"]
    resaved = load_file(str(tmp / "mlm-again" / "encoder" / "model.safetensors"))
    assert all(torch.equal(resaved[n], saved[n]) for n in saved)


def test_masked_lm_never_trains_on_an_evaluated_split(setup):
    """X-STILTs' + MLM on UDHR while UDHR is a target would train on its test items: refused.
    A corpus text that is also a test item of an evaluated target is dropped from the corpus."""
    from xstilts.data.store import read_split
    from xstilts.stages.intermediate import IntermediateConfig, mlm_corpus

    tmp, _, cur = setup
    with pytest.raises(ValueError, match="evaluated by a target"):
        mlm_corpus(cur, IntermediateConfig(mlm=True, evaluated_tasks=["multiemo", "udhr"]))
    leaked = read_split(cur, "multiemo", "test", "de")[0]["text"]
    write_split(cur, "udhr", "test", [{"id": "0", "text": leaked}], "fr")
    assert leaked in mlm_corpus(cur, IntermediateConfig(mlm=True))  # nothing evaluated: kept
    corpus = mlm_corpus(cur, IntermediateConfig(mlm=True, evaluated_tasks=["multiemo"]))
    assert leaked not in corpus and len(corpus) == 6


def test_mlm_masking_follows_bert():
    from xstilts.models.mlm import MaskedLMHead

    tok = tiny_tokenizer()
    head = MaskedLMHead(torch.nn.Linear(4, len(tok)), tok, probability=0.15)
    torch.manual_seed(0)
    ids = torch.randint(5, len(tok), (64, 128))
    ids[:, 0], ids[:, 100], ids[:, 101:] = tok.cls_token_id, tok.sep_token_id, tok.pad_token_id
    mask = (ids != tok.pad_token_id).long()
    masked, labels = head.mask(ids, mask)
    chosen = labels != -100
    assert torch.equal(labels[chosen], ids[chosen])
    assert not chosen[:, 0].any() and not chosen[:, 100:].any()  # specials and padding never
    assert torch.equal(masked[~chosen], ids[~chosen])
    rate = chosen.float().sum() / (64 * 99)
    assert 0.13 < rate < 0.17
    share_mask = (masked[chosen] == tok.mask_token_id).float().mean()
    share_same = (masked[chosen] == ids[chosen]).float().mean()
    assert 0.76 < share_mask < 0.84 and 0.07 < share_same < 0.13


def test_a_dev_row_that_is_a_test_item_is_refused_before_training(setup):
    """The target stage's checkpoint is chosen on English dev rows that share no id and no text
    with its test items (curate ensures it; the stage checks it where the rows are used)."""
    from xstilts.data.tuning import TestPoolLeak

    tmp, model_dir, cur = setup
    from xstilts.data.store import split_path

    test_de = json.loads(split_path(cur, "multiemo", "test", "de").read_text().splitlines()[2])
    dev = [*sentiment_rows(7, 2), {**test_de, "id": "renamed"}]  # a test text under a new id
    write_split(cur, "multiemo", "validation", dev)
    with pytest.raises(TestPoolLeak, match="1 of 8 English dev rows of 'multiemo'.*'renamed'"):
        target.run({"model": str(model_dir), "task": "multiemo", **TRAIN}, cur, None, tmp / "t")
    assert not (tmp / "t" / "checkpoints").exists()  # refused before any step
