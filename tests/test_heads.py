"""Heads x encoder families: forward, loss, memorisation; QA windows and tagging alignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tiny_models import FAMILIES, QA, ROWS, TAG_NAMES, TAGGING, tiny_encoder, tiny_tokenizer
from xstilts.evaluation.zero_shot import best_span, decode, predict_features
from xstilts.models.family import default_pooling
from xstilts.models.heads import TaskModel, pool
from xstilts.training.batching import collate
from xstilts.training.features import IGNORE_INDEX, featurize

TOK = tiny_tokenizer()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("fmt", list(ROWS))
def test_forward_loss_and_memorise(family, fmt):
    rows, n_labels = ROWS[fmt]
    feats = featurize(rows, fmt, TOK, 64, train=True, cache=False)
    batch = collate(feats, TOK.pad_token_id)
    encoder = tiny_encoder(family, len(TOK))
    model = TaskModel.for_tasks(encoder, {"t": (fmt, n_labels)}, dropout=0.0)
    assert model.heads["t"].__class__.__name__
    out = model(batch)
    assert out.loss is not None and torch.isfinite(out.loss)
    if fmt in ("single", "pair"):
        assert out.logits.shape == (len(rows), n_labels)
    elif fmt == "multiple_choice":
        assert out.logits.shape == (len(rows), 2)
    elif fmt == "qa":
        assert out.logits.shape[-1] == 2 and out.logits.shape[0] == len(feats)
    first = out.loss.item()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(40):
        opt.zero_grad()
        loss = model(batch).loss
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first, (first, loss.item())


def test_t5_defaults_to_mean_pooling():
    assert default_pooling(tiny_encoder("t5", len(TOK))) == "mean"
    assert default_pooling(tiny_encoder("xlmr", len(TOK))) == "cls"
    hidden = torch.arange(12.0).view(1, 3, 4)
    mask = torch.tensor([[1, 1, 0]])
    assert torch.equal(pool(hidden, mask, "mean"), hidden[0, :2].mean(0, keepdim=True))
    assert torch.equal(pool(hidden, mask, "cls"), hidden[:, 0])


def test_tagging_labels_on_first_subword_only():
    feats = featurize(TAGGING, "tagging", TOK, 64, train=True, cache=False)
    ids, labels, positions = feats[0]["input_ids"], feats[0]["labels"], feats[0]["word_positions"]
    # char-level tokenizer: "john" = 4 subwords; <s> first
    assert positions == [1, 5, 10, 12]
    assert [labels[p] for p in positions] == TAGGING[0]["tags"]
    assert sum(label != IGNORE_INDEX for label in labels) == 4
    assert len(labels) == len(ids)


def test_tagging_long_sentences_are_cut_into_pieces_and_every_word_predicted():
    feats = featurize(TAGGING, "tagging", TOK, 10, train=False, cache=False)
    pieces = [f for f in feats if f["example_index"] == 0]
    assert len(pieces) == 3  # t0 (17 subwords) does not fit 10 tokens: cut between words
    assert all(len(f["input_ids"]) <= 10 for f in feats)
    covered = [max(f["word_positions"][w] for f in pieces) for w in range(4)]
    assert all(p >= 0 for p in covered)  # every word has a position in exactly one piece
    assert sum(p >= 0 for f in pieces for p in f["word_positions"]) == 4
    outs = []
    for f in feats:
        logits = np.zeros((len(f["input_ids"]), 3), dtype=np.float32)
        logits[:, 2] = 1.0  # predict B-LOC everywhere
        outs.append(logits)
    preds = decode("tagging", TAGGING, feats, outs, TAG_NAMES)
    assert preds[0] == ["B-LOC"] * 4  # no word is left to a default label
    assert [len(p) for p in preds] == [4, 3, 3]
    train = featurize(TAGGING, "tagging", TOK, 10, train=True, cache=False)
    gold = [t for f in train if f["example_index"] == 0 for t in f["labels"] if t != -100]
    assert gold == TAGGING[0]["tags"]  # every gold tag is trained on, in order


def test_qa_sliding_windows_cover_the_answer():
    long = {
        "id": "l",
        "title": "t",
        "question": "where?",
        "context": "aa bb cc dd ee ff gg hh ii jj kk ll target mm nn oo pp",
        "answers": {"text": ["target"], "answer_start": [36]},
    }
    assert long["context"][36:42] == "target"
    train = featurize([long], "qa", TOK, 24, train=True, stride=6, cache=False)
    assert len(train) > 1  # overflowing windows
    hits = [f for f in train if f["start_position"] > 0]
    assert hits
    evals = featurize([long], "qa", TOK, 24, train=False, stride=6, cache=False)
    assert len(evals) == len(train)
    for f, e in zip(hits, [evals[train.index(h)] for h in hits], strict=True):
        s, t = e["offsets"][f["start_position"]], e["offsets"][f["end_position"]]
        assert long["context"][s[0] : t[1]] == "target"
        # question tokens have no offsets (never predicted)
        assert e["offsets"][1] is None


def test_qa_doc_stride_is_the_step_between_windows_as_in_xtreme():
    """xtreme's run_squad.py (transformers' squad_convert_example_to_features): window k starts
    k * doc_stride context tokens in, each holds max_seq_length - question - special tokens, and
    the last is the first that reaches the end of the context."""
    context = " ".join(f"w{i}" for i in range(60))
    row = {
        "id": "s",
        "title": "t",
        "question": "where is it?",
        "context": context,
        "answers": {"text": ["w3"], "answer_start": [context.index("w3")]},
    }
    stride, max_length = 8, 32
    windows = featurize([row], "qa", TOK, max_length, train=False, stride=stride, cache=False)
    full = TOK(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    token_at = {start: k for k, (start, _) in enumerate(full)}
    starts = [token_at[next(o for o in w["offsets"] if o)[0]] for w in windows]
    assert starts == [stride * k for k in range(len(windows))]
    question = len(TOK(row["question"], add_special_tokens=False)["input_ids"])
    room = max_length - question - TOK.num_special_tokens_to_add(pair=True)
    assert starts[-1] + room >= len(full) > starts[-2] + room


def test_best_span_respects_max_length_and_context():
    context = "one two three"
    offsets = [None, [0, 3], [4, 7], [8, 13], None]
    logits = np.full((5, 2), -5.0, dtype=np.float32)
    logits[0] = [10, 10]  # best scores on a non-context token: ignored
    logits[1, 0], logits[3, 1] = 3.0, 3.0
    assert best_span(context, [(logits, offsets)]) == "one two three"
    assert best_span(context, [(logits, offsets)], max_answer_length=2) in {
        "one",
        "two three",
        "one two",
    }
    # end before start is never chosen
    logits2 = np.full((5, 2), -5.0, dtype=np.float32)
    logits2[3, 0], logits2[1, 1] = 5.0, 5.0
    assert best_span(context, [(logits2, offsets)]) != ""


def test_qa_end_to_end_predictions_after_memorising():
    torch.manual_seed(0)
    model = TaskModel.for_tasks(tiny_encoder("xlmr", len(TOK)), {"qa": ("qa", None)}, dropout=0.0)
    feats = featurize(QA, "qa", TOK, 64, train=True, cache=False)
    batch = collate(feats, TOK.pad_token_id)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(80):
        opt.zero_grad()
        model(batch).loss.backward()
        opt.step()
    eval_feats = featurize(QA, "qa", TOK, 64, train=False, cache=False)
    outs = predict_features(model, eval_feats, task=None, pad_id=TOK.pad_token_id)
    assert decode("qa", QA, eval_feats, outs) == ["paris", "the mountain"]


def test_head_init_follows_seed_and_leaves_global_rng_alone():
    encoder = tiny_encoder("xlmr", len(TOK))

    def head_weight(seed):
        model = TaskModel.for_tasks(encoder, {"t": ("single", 3)}, seed=seed)
        return model.heads["t"].out.weight.detach().clone()

    torch.manual_seed(0)
    state = torch.get_rng_state()
    a, b, c = head_weight(3), head_weight(3), head_weight(4)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(state, torch.get_rng_state())


def test_evaluation_runs_in_eval_mode():
    """Dropout is off at evaluation even when the model was left in train mode by the loop."""
    rows, n_labels = ROWS["single"]
    feats = featurize(rows, "single", TOK, 64, train=False, cache=False)
    torch.manual_seed(0)
    model = TaskModel.for_tasks(
        tiny_encoder("xlmr", len(TOK), dropout=0.5), {"t": ("single", n_labels)}, dropout=0.5
    )
    model.train()
    kwargs = {"task": "t", "pad_id": TOK.pad_token_id, "batch_size": 2, "precision": "fp32"}
    first = predict_features(model, feats, **kwargs)
    model.train()
    second = predict_features(model, feats, **kwargs)
    assert not model.training
    batch = collate(feats, TOK.pad_token_id)
    with torch.no_grad():
        reference = model({k: batch[k] for k in ("input_ids", "attention_mask")}, "t").logits
    for i, (x, y) in enumerate(zip(first, second, strict=True)):
        np.testing.assert_allclose(x, y, rtol=0, atol=0)
        np.testing.assert_allclose(x, reference[i].numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_attention_dropout_setting_reaches_every_attention_kernel(family):
    """The setting acts on the attention path the model really runs (SDPA for BERT / XLM-R,
    T5's own): with every other dropout off, train-mode outputs vary only when it is > 0; the
    model's config, which a saved checkpoint carries, keeps its pretrained value."""
    from xstilts.models.family import set_attention_dropout

    encoder = tiny_encoder(family, TOK.vocab_size, dropout=0.0).train()
    before = encoder.config.to_dict()
    batch = TOK(["a cat sat on the mat", "no dog"], padding=True, return_tensors="pt")
    inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}

    def two_outputs():
        return [encoder(**inputs).last_hidden_state for _ in range(2)]

    assert set_attention_dropout(encoder, 0.5) == 2  # one per layer
    first, second = two_outputs()
    assert not torch.allclose(first, second)
    set_attention_dropout(encoder, 0.0)
    first, second = two_outputs()
    assert torch.equal(first, second)
    assert encoder.config.to_dict() == before


def test_attention_dropout_refuses_a_model_without_known_attention():
    from xstilts.models.family import set_attention_dropout

    with pytest.raises(ValueError, match="attention_dropout: no attention module"):
        set_attention_dropout(torch.nn.Linear(2, 2), 0.0)
