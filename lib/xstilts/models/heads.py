"""One head per task format, shared across languages, on top of a bare encoder.

=================  =======================================================================
format             head
=================  =======================================================================
single, pair       :class:`ClassificationHead` (a pair is encoded as one text pair)
multi_label        :class:`MultiLabelHead` (one sigmoid per label, binary cross-entropy)
multiple_choice    :class:`MultipleChoiceHead` (one score per choice, softmax over choices)
qa                 :class:`SpanHead` (start / end logits per token)
tagging            :class:`TaggingHead` (labels on the first subword, -100 elsewhere)
(masked LM)        :class:`~xstilts.models.mlm.MaskedLMHead` (intermediate ``mlm: true`` only)
=================  =======================================================================

:class:`TaskModel` holds one shared encoder and one head per task (``ModuleDict``), so a
multi-task intermediate run and a single-task target run use the same wrapper. Pooling for
classification / multiple choice is the first token (``<s>`` / ``[CLS]``) by default; T5 encoders
have no such token and get mean pooling (:func:`default_pooling`).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..configs import POOLINGS  # the setting: configs.TargetConfig.pooling
from ..tasks.schema import Format
from .family import default_pooling, hidden_size_of

IGNORE_INDEX = -100


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, mode: str) -> torch.Tensor:
    """(B, L, d) -> (B, d): first token, or the mean over non-padding tokens."""
    if mode == "cls":
        return hidden[:, 0]
    if mode == "mean":
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {mode!r}")


@dataclass
class HeadOutput:
    logits: torch.Tensor
    loss: torch.Tensor | None = None


class ClassificationHead(nn.Module):
    """Pooled representation -> dropout -> linear over ``n_labels`` (single texts and pairs)."""

    def __init__(self, hidden_size: int, n_labels: int, pooling: str = "cls", dropout: float = 0.1):
        super().__init__()
        if n_labels < 2:
            raise ValueError(f"a classification head needs >= 2 labels, got {n_labels}")
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, n_labels)

    def forward(self, hidden, attention_mask, labels=None) -> HeadOutput:
        logits = self.out(self.dropout(pool(hidden, attention_mask, self.pooling)))
        loss = F.cross_entropy(logits.float(), labels) if labels is not None else None
        return HeadOutput(logits, loss)


class MultiLabelHead(ClassificationHead):
    """Pooled representation -> one logit per label; loss: binary cross-entropy per label
    (MultiEURLEX, Chalkidis et al. 2021: sigmoid outputs). ``labels`` is a 0/1 float matrix
    that may name fewer labels than the head has (absent ones are negative)."""

    def forward(self, hidden, attention_mask, labels=None) -> HeadOutput:
        logits = self.out(self.dropout(pool(hidden, attention_mask, self.pooling)))
        loss = None
        if labels is not None:
            target = torch.zeros_like(logits, dtype=torch.float32)
            target[:, : labels.shape[1]] = labels
            loss = F.binary_cross_entropy_with_logits(logits.float(), target)
        return HeadOutput(logits, loss)


class MultipleChoiceHead(nn.Module):
    """Each (context, question + choice) is encoded alone; a linear scorer gives one logit each.

    The encoder sees ``(B * C, L)``; :class:`TaskModel` passes ``n_choices`` so the scores are
    reshaped to ``(B, C)`` and the loss is a softmax over the choices.
    """

    def __init__(self, hidden_size: int, pooling: str = "cls", dropout: float = 0.1):
        super().__init__()
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.score = nn.Linear(hidden_size, 1)

    def forward(self, hidden, attention_mask, labels=None, n_choices: int = 1) -> HeadOutput:
        scores = self.score(self.dropout(pool(hidden, attention_mask, self.pooling)))
        logits = scores.view(-1, n_choices)
        # padding choices (all-padding rows) never win
        valid = attention_mask.view(-1, n_choices, attention_mask.shape[-1]).any(-1)
        logits = logits.masked_fill(~valid, torch.finfo(logits.dtype).min)
        loss = F.cross_entropy(logits.float(), labels) if labels is not None else None
        return HeadOutput(logits, loss)


class SpanHead(nn.Module):
    """Start / end logits per token; logits are ``(B, L, 2)``; loss = mean of the two CEs."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.qa_outputs = nn.Linear(hidden_size, 2)

    def forward(
        self, hidden, attention_mask, start_positions=None, end_positions=None
    ) -> HeadOutput:
        logits = self.qa_outputs(hidden)
        logits = logits.masked_fill(
            ~attention_mask.bool().unsqueeze(-1), torch.finfo(logits.dtype).min
        )
        loss = None
        if start_positions is not None and end_positions is not None:
            length = logits.shape[1]
            start = start_positions.clamp(0, length - 1)
            end = end_positions.clamp(0, length - 1)
            loss = (
                F.cross_entropy(logits[..., 0].float(), start)
                + F.cross_entropy(logits[..., 1].float(), end)
            ) / 2
        return HeadOutput(logits, loss)


class TaggingHead(nn.Module):
    """Per-token linear classifier; labels only on each word's first subword (-100 elsewhere)."""

    def __init__(self, hidden_size: int, n_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, n_labels)

    def forward(self, hidden, attention_mask, labels=None) -> HeadOutput:
        logits = self.out(self.dropout(hidden))
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.float().flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX
            )
        return HeadOutput(logits, loss)


def build_head(
    fmt: Format | str,
    hidden_size: int,
    n_labels: int | None = None,
    pooling: str = "cls",
    dropout: float = 0.1,
) -> nn.Module:
    """The head for a task format (``n_labels`` needed for classification and tagging)."""
    fmt = Format(fmt)
    if fmt in (Format.SINGLE, Format.PAIR, Format.TAGGING, Format.MULTI_LABEL) and not n_labels:
        raise ValueError(f"format {fmt.value} needs n_labels")
    if fmt in (Format.SINGLE, Format.PAIR):
        return ClassificationHead(hidden_size, n_labels, pooling, dropout)
    if fmt is Format.MULTI_LABEL:
        return MultiLabelHead(hidden_size, n_labels, pooling, dropout)
    if fmt is Format.MULTIPLE_CHOICE:
        return MultipleChoiceHead(hidden_size, pooling, dropout)
    if fmt is Format.QA:
        return SpanHead(hidden_size)
    if fmt is Format.TAGGING:
        return TaggingHead(hidden_size, n_labels, dropout)
    raise ValueError(f"format {fmt.value} has no trainable head (retrieval uses the bare encoder)")


class TaskModel(nn.Module):
    """A shared encoder plus one head per task; ``forward(batch, task)`` returns a HeadOutput.

    ``batch`` holds ``input_ids`` / ``attention_mask`` (``(B, C, L)`` for multiple choice) and the
    format's targets: ``labels``, or ``start_positions`` / ``end_positions`` for span extraction.
    """

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module]):
        super().__init__()
        if not heads:
            raise ValueError("TaskModel needs at least one head")
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)

    @classmethod
    def for_tasks(
        cls,
        encoder: nn.Module,
        tasks: dict[str, tuple[Format | str, int | None]],
        pooling: str | None = None,
        dropout: float = 0.1,
        seed: int | None = None,
    ) -> TaskModel:
        """``tasks``: name -> (format, n_labels); heads start fresh.

        With ``seed`` the heads' initial weights are a function of it alone (drawn under a forked
        torch RNG, leaving the global one untouched), so runs that differ only in seed also
        differ in head initialisation; without it they come from the global RNG as it stands."""
        pooling = pooling or default_pooling(encoder)
        size = hidden_size_of(encoder)
        rng = torch.random.fork_rng(devices=[]) if seed is not None else nullcontext()
        with rng:
            if seed is not None:
                torch.manual_seed(seed)
            heads = {
                name: build_head(fmt, size, n, pooling, dropout) for name, (fmt, n) in tasks.items()
            }
        return cls(encoder, heads)

    def _task(self, task: str | None) -> str:
        if task is None:
            if len(self.heads) != 1:
                raise ValueError(f"model has heads {list(self.heads)}: name the task")
            return next(iter(self.heads))
        if task not in self.heads:
            raise KeyError(f"no head for task {task!r}; heads: {list(self.heads)}")
        return task

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def forward(self, batch: dict[str, torch.Tensor], task: str | None = None) -> HeadOutput:
        head = self.heads[self._task(task)]
        input_ids, mask = batch["input_ids"], batch["attention_mask"]
        if isinstance(head, MultipleChoiceHead):
            n_choices = input_ids.shape[1]
            hidden = self.encode(input_ids.flatten(0, 1), mask.flatten(0, 1))
            return head(hidden, mask.flatten(0, 1), batch.get("labels"), n_choices=n_choices)
        from .mlm import MaskedLMHead  # mlm builds on this module

        if isinstance(head, MaskedLMHead):
            input_ids, labels = head.mask(input_ids, mask)
            return head(self.encode(input_ids, mask), mask, labels)
        hidden = self.encode(input_ids, mask)
        if isinstance(head, SpanHead):
            return head(hidden, mask, batch.get("start_positions"), batch.get("end_positions"))
        return head(hidden, mask, batch.get("labels"))
