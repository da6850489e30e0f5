"""Encoders and tokenizers by name (:mod:`.loading`) and task heads."""

from .loading import (
    EMBEDDED,
    ModelNotAvailableError,
    has_mlm_head,
    load_encoder,
    load_masked_lm,
    load_tokenizer,
    resolve_model,
)

__all__ = [
    "EMBEDDED",
    "ModelNotAvailableError",
    "has_mlm_head",
    "load_encoder",
    "load_masked_lm",
    "load_tokenizer",
    "resolve_model",
]
