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
        return XLMRobertaModel(
            XLMRobertaConfig(
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
            ),
            add_pooling_layer=False,
        )
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
