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
