"""Evaluation: zero-shot per-language scoring, and retrieval with the bare encoder."""

from .retrieval import accuracy_both_ways, embed_layers, layer_sweep, margin_matrix, mine_candidates
from .zero_shot import LanguageResult, evaluate_languages

__all__ = [
    "LanguageResult",
    "accuracy_both_ways",
    "embed_layers",
    "evaluate_languages",
    "layer_sweep",
    "margin_matrix",
    "mine_candidates",
]
