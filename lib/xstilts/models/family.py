"""What differs between encoder families (BERT / XLM-R vs T5 / mT5), in one place: layer count,
hidden size, default pooling, the input-embedding block, the encoder-only class and where a
masked-LM head lives. Torch-free at import (the study validation imports ``models.loading``)."""

from __future__ import annotations

from typing import Any

T5_FAMILY = ("t5", "mt5", "umt5")  # no classification token; relative positions in attention
MLM_ARCHITECTURE_SUFFIXES = ("ForMaskedLM", "ForPreTraining")
MLM_WEIGHT_PREFIXES = ("lm_head.", "cls.predictions.", "roberta.lm_head.", "lm_head")


def is_t5(config: Any) -> bool:
    return getattr(config, "model_type", "") in T5_FAMILY


# RoBERTa-style position ids start after the padding index (transformers'
# ``create_position_ids_from_input_ids``), so padding_idx + 1 of the table are never an input
POSITIONS_AFTER_PADDING = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert")


# The encoder families this module knows: BERT, the RoBERTa line and the T5 family. Another
# architecture (a decoder such as GPT-2, an encoder-decoder such as BART) is refused before compute.
KNOWN_FAMILIES = ("bert", *POSITIONS_AFTER_PADDING, *T5_FAMILY)


def unknown_family(config: Any) -> str | None:
    """Why the model of ``config`` is not an encoder this study runs, or None."""
    kind = getattr(config, "model_type", None)
    if kind in KNOWN_FAMILIES:
        return None
    return (
        f"model type {kind!r} is not an encoder family xstilts runs (known: "
        f"{', '.join(KNOWN_FAMILIES)}; models/family.py says what differs between them)"
    )


def max_input_length(config: Any) -> int | None:
    """The most tokens one input may have: the absolute position table's usable rows; None where
    positions are relative (T5 family) or the config does not say."""
    if is_t5(config):
        return None
    n = getattr(config, "max_position_embeddings", None)
    if n is None:
        return None
    if getattr(config, "model_type", "") in POSITIONS_AFTER_PADDING:
        n -= (getattr(config, "pad_token_id", 1) or 0) + 1
    return n


def default_pooling(encoder: Any) -> str:
    """``mean`` for encoders without a classification token (T5 family), else ``cls``."""
    return "mean" if is_t5(getattr(encoder, "config", None)) else "cls"


def num_layers_of(encoder: Any) -> int:
    """Transformer layers (``hidden_states`` has one more: the embedding output)."""
    config = encoder.config
    n = getattr(config, "num_hidden_layers", None)
    return n if n is not None else config.num_layers


def hidden_size_of(encoder: Any) -> int:
    config = encoder.config
    return getattr(config, "hidden_size", None) or config.d_model


def embedding_block(model: Any):
    """The encoder's whole input-embedding block: BERT / XLM-R ``embeddings`` (word, position and
    token-type tables plus the embedding LayerNorm), or the input embeddings alone where there is
    no such block (T5: ``shared``; its positions are relative biases inside attention)."""
    from torch import nn

    encoder = getattr(model, "encoder", model)
    block = getattr(encoder, "embeddings", None)
    if isinstance(block, nn.Module) and any(True for _ in block.parameters()):
        return block
    return encoder.get_input_embeddings()


def encoder_class(config: Any):
    """The class that loads the bare encoder: T5-family encoder-only classes, else AutoModel."""
    from transformers import AutoModel, MT5EncoderModel, T5EncoderModel, UMT5EncoderModel

    return {"t5": T5EncoderModel, "mt5": MT5EncoderModel, "umt5": UMT5EncoderModel}.get(
        config.model_type, AutoModel
    )


def set_attention_dropout(model: Any, p: float) -> int:
    """Set the dropout on attention probabilities of every attention module to ``p``, in place, for
    this model object only (its saved config keeps the pretrained value). Returns how many modules
    changed; raises if the architecture has none this knows.

    BERT / XLM-R self-attention keeps it twice: ``dropout`` (an ``nn.Dropout``, the eager path)
    and ``dropout_prob`` (the SDPA path, transformers' ``Bert/XLMRobertaSdpaSelfAttention``); T5
    attention keeps it as the float ``dropout`` (``T5Attention.forward``: attn_weights dropout);
    T5's ``T5LayerSelfAttention.dropout`` is on the hidden state, and is left alone."""
    from torch import nn

    changed = 0
    for module in model.modules():
        dropout = getattr(module, "dropout", None)
        if hasattr(module, "query") and isinstance(dropout, nn.Dropout):  # BERT / XLM-R
            dropout.p = p
            if hasattr(module, "dropout_prob"):
                module.dropout_prob = p
            changed += 1
        elif hasattr(module, "relative_attention_num_buckets") and isinstance(dropout, float):
            module.dropout = p  # T5 (its layer wrappers' nn.Dropout is hidden-state dropout)
            changed += 1
    if not changed:
        raise ValueError(
            f"attention_dropout: no attention module of a known kind in {type(model).__name__} "
            "(expected BERT / XLM-R self-attention or T5 attention)"
        )
    return changed
