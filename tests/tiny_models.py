"""Tiny tokenizer and encoders (BERT, XLM-R, T5 encoder) for fast tests; shared by test files."""

from __future__ import annotations

import string

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
from transformers import (
    BertConfig,
    BertModel,
    PreTrainedTokenizerFast,
    T5Config,
    T5EncoderModel,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMRobertaModel,
)

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<mask>"]
FAMILIES = ("bert", "xlmr", "t5")


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    """Character-level WordPiece (``c`` then ``##c``) with XLM-R style specials and templates."""
    chars = string.ascii_lowercase + string.digits + ".,!?'-"
    vocab = {tok: i for i, tok in enumerate(SPECIALS + list(chars) + [f"##{c}" for c in chars])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="<unk>", max_input_chars_per_word=100))
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFD(), normalizers.Lowercase(), normalizers.StripAccents()]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", vocab["<s>"]), ("</s>", vocab["</s>"])],
    )
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
    )


# The smallest XLM-R config, for tests of loading and of the model's limits (not of training);
# XLM-R's positions start after the padding index, so 40 rows hold 38 usable positions.
SMALLEST_XLMR = dict(
    vocab_size=40,
    hidden_size=16,
    num_hidden_layers=1,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=40,
    pad_token_id=1,
)


def tiny_encoder(family: str, vocab_size: int, seed: int = 0, dropout: float = 0.0):
    import torch

    torch.manual_seed(seed)
    if family == "bert":
        return BertModel(
            BertConfig(
                vocab_size=vocab_size,
                hidden_size=32,
                num_hidden_layers=2,
                num_attention_heads=2,
                intermediate_size=64,
                max_position_embeddings=512,
                pad_token_id=0,
                hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout,
            ),
            add_pooling_layer=False,
        )
    if family == "xlmr":
        return XLMRobertaModel(_xlmr_config(vocab_size, dropout), add_pooling_layer=False)
    if family == "t5":
        return T5EncoderModel(
            T5Config(
                vocab_size=vocab_size,
                d_model=32,
                d_kv=16,
                d_ff=64,
                num_layers=2,
                num_heads=2,
                pad_token_id=0,
                eos_token_id=2,
                dropout_rate=dropout,
            )
        )
    raise ValueError(family)


def _xlmr_config(vocab_size: int, dropout: float) -> XLMRobertaConfig:
    return XLMRobertaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=514,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    )


def tiny_masked_lm(vocab_size: int, seed: int = 0, dropout: float = 0.0) -> XLMRobertaForMaskedLM:
    """A tiny XLM-R with its masked-LM head (what ``mlm: true`` needs)."""
    import torch

    torch.manual_seed(seed)
    return XLMRobertaForMaskedLM(_xlmr_config(vocab_size, dropout))


SINGLE = [
    {"id": "s0", "text": "good great fine", "label": 1},
    {"id": "s1", "text": "bad awful poor", "label": 0},
    {"id": "s2", "text": "great good", "label": 1},
    {"id": "s3", "text": "awful bad", "label": 0},
]
PAIR = [
    {"id": "p0", "text_a": "a cat", "text_b": "a cat", "label": 0},
    {"id": "p1", "text_a": "a cat", "text_b": "no dog", "label": 1},
    {"id": "p2", "text_a": "the sun", "text_b": "the sun", "label": 0},
    {"id": "p3", "text_a": "the sun", "text_b": "a moon", "label": 2},
]
MULTIPLE_CHOICE = [
    {
        "id": "m0",
        "context": "sky is blue",
        "question": "sky?",
        "choices": ["blue", "red"],
        "label": 0,
    },
    {
        "id": "m1",
        "context": "grass is green",
        "question": "grass?",
        "choices": ["pink", "green"],
        "label": 1,
    },
    {
        "id": "m2",
        "context": "snow is white",
        "question": "snow?",
        "choices": ["white", "black"],
        "label": 0,
    },
]
QA = [
    {
        "id": "q0",
        "title": "t",
        "context": "paris is the capital of france and it is big",
        "question": "capital of france?",
        "answers": {"text": ["paris"], "answer_start": [0]},
    },
    {
        "id": "q1",
        "title": "t",
        "context": "the river is long and the mountain is high",
        "question": "what is high?",
        "answers": {"text": ["the mountain"], "answer_start": [22]},
    },
]
TAGGING = [
    {"id": "t0", "tokens": ["john", "lives", "in", "berlin"], "tags": [1, 0, 0, 2]},
    {"id": "t1", "tokens": ["mary", "visits", "rome"], "tags": [1, 0, 2]},
    {"id": "t2", "tokens": ["the", "dog", "sleeps"], "tags": [0, 0, 0]},
]
ROWS = {
    "single": (SINGLE, 2),
    "pair": (PAIR, 3),
    "multiple_choice": (MULTIPLE_CHOICE, None),
    "qa": (QA, None),
    "tagging": (TAGGING, 3),
}
TAG_NAMES = ("O", "B-PER", "B-LOC")


WORDS_POS = ["good", "great", "fine", "nice", "happy", "super"]
WORDS_NEG = ["bad", "awful", "poor", "sad", "ugly", "worse"]


def sentiment_rows(n: int, seed: int) -> list[dict]:
    """Synthetic 2-label rows of varying length (the label is the majority word polarity)."""
    import random

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        pool, other = (WORDS_POS, WORDS_NEG) if label else (WORDS_NEG, WORDS_POS)
        words = [rng.choice(pool) for _ in range(rng.randint(2, 6))] + [rng.choice(other)]
        rng.shuffle(words)
        rows.append({"id": f"r{seed}-{i}", "text": " ".join(words), "label": label})
    return rows


def run_tiny_job(
    checkpoint_dir: str,
    result_path: str,
    sleep: float = 0.0,
    seed: int = 3,
    max_steps: int = 40,
    checkpoint_every: int = 4,
) -> dict:
    """A small but real training run (dropout on, dev evaluation, best selection); writes the
    result and final trainable weights next to ``result_path``. Used in-process and killed."""
    import json
    import time

    import torch
    from safetensors.torch import save_file

    from xstilts.evaluation.zero_shot import evaluate_languages
    from xstilts.models.heads import TaskModel
    from xstilts.training import TrainConfig, TrainTask, featurize, train
    from xstilts.training.checkpoint import trainable_state

    torch.set_num_threads(1)
    tok = tiny_tokenizer()
    config = TrainConfig(
        lr=2e-3,
        max_steps=max_steps,
        batch_size=4,
        seed=seed,
        eval_every=8,
        checkpoint_every=checkpoint_every,
        warmup_ratio=0.1,
        device="cpu",
    )
    model = TaskModel.for_tasks(
        tiny_encoder("xlmr", len(tok), seed=0, dropout=0.1), {"sent": ("single", 2)}, dropout=0.1
    )
    train_rows, dev_rows = sentiment_rows(48, 1), sentiment_rows(16, 2)
    feats = featurize(train_rows, "single", tok, 32, train=True, cache=False)

    def evaluate(m):
        res = evaluate_languages(
            m, tok, {"en": dev_rows}, "single", "accuracy", max_length=32, cache=False
        )
        return {"score": res["en"].metrics["accuracy"]}

    def on_step(step, row):
        if sleep:
            time.sleep(sleep)

    result = train(
        model,
        [TrainTask("sent", feats)],
        config,
        checkpoint_dir,
        pad_id=tok.pad_token_id,
        evaluate=evaluate,
        on_step=on_step,
    )
    final = evaluate(model)
    save_file(trainable_state(model), result_path + ".safetensors")
    out = {
        "best_step": result.best_step,
        "best_score": result.best_score,
        "final": final,
        "curve": result.curve,
        "resumed_from": result.resumed_from,
        "examples": result.examples,
    }
    with open(result_path, "w") as fh:
        json.dump(out, fh)
    return out
