"""Masked-LM continuation: the pretrained MLM head beside the task heads (X-STILTs' "+ MLM").

:class:`MaskedLMHead` masks its batch itself (BERT's 80/10/10 scheme, as transformers'
``DataCollatorForLanguageModeling``) with the torch RNG, which the trainer reseeds before every
step from ``(seed, step)``: the masks are reproducible and a resumed run masks as an uninterrupted
one. Only masked positions go through the vocabulary projection (250k columns for XLM-R).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .heads import IGNORE_INDEX, HeadOutput

MLM_HEAD = "mlm"  # the head's (and the sampled "task"'s) name in a TaskModel


def split_masked_lm(mlm_model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """``(encoder, lm_head)`` of a ``*ForMaskedLM`` model; they share the tied word embeddings."""
    encoder = mlm_model.base_model
    heads = [m for m in mlm_model.children() if m is not encoder]
    if len(heads) != 1:
        raise ValueError(
            f"{type(mlm_model).__name__}: expected one MLM head module beside the encoder, "
            f"found {[type(m).__name__ for m in heads]}"
        )
    return encoder, heads[0]


class MaskedLMHead(nn.Module):
    """Masks ``probability`` of the non-special tokens, predicts them with the pretrained head."""

    def __init__(self, lm_head: nn.Module, tokenizer, probability: float = 0.15):
        super().__init__()
        if not 0 < probability < 1:
            raise ValueError(f"mlm_probability must be in (0, 1), got {probability}")
        if tokenizer.mask_token_id is None:
            raise ValueError(f"{type(tokenizer).__name__} has no mask token: cannot do masked LM")
        self.lm_head = lm_head
        self.probability = probability
        self.mask_token_id = tokenizer.mask_token_id
        self.vocab_size = len(tokenizer)
        self.register_buffer(
            "special_ids", torch.tensor(sorted(tokenizer.all_special_ids)), persistent=False
        )

    def mask(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(masked input_ids, labels)``; labels are -100 except at the masked positions."""
        eligible = attention_mask.bool() & ~torch.isin(input_ids, self.special_ids)
        chosen = torch.bernoulli(eligible.float() * self.probability).bool()
        labels = input_ids.masked_fill(~chosen, IGNORE_INDEX)
        to_mask = chosen & torch.bernoulli(torch.full_like(chosen, 0.8, dtype=torch.float)).bool()
        to_random = (
            chosen
            & ~to_mask
            & torch.bernoulli(torch.full_like(chosen, 0.5, dtype=torch.float)).bool()
        )
        masked = input_ids.masked_fill(to_mask, self.mask_token_id)
        random_ids = torch.randint_like(input_ids, self.vocab_size)
        return torch.where(to_random, random_ids, masked), labels

    def forward(self, hidden, attention_mask, labels) -> HeadOutput:

        positions = labels != IGNORE_INDEX
        if not positions.any():  # nothing masked in this batch: a zero loss keeps the graph
            return HeadOutput(hidden.new_zeros((0, self.vocab_size)), hidden.sum() * 0.0)
        logits = self.lm_head(hidden[positions])
        return HeadOutput(logits, F.cross_entropy(logits.float(), labels[positions]))


def texts_of(row: dict) -> list[str]:
    """The running text of a curated row of any format (MLM needs text, not labels)."""
    from ..data.profile import row_texts

    return [t for t in row_texts(row) if t.strip()]
