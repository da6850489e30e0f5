"""Zero-shot evaluation: one fine-tuned model, every language of a task, one length-sorted pass.

Features of all languages are pooled and sorted by length (longest first) so padding is minimal
and memory peaks in the first batch; outputs are then split back per language, decoded to
predictions (label, choice, answer text or tag sequence) and scored with :mod:`xstilts.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..metrics import registry as metric_registry
from ..precision import autocast
from ..tasks.schema import Format
from ..training.batching import collate, feature_length, sorted_batches, to_device
from ..training.features import featurize

N_BEST = 20
MAX_ANSWER_LENGTH = 30


@dataclass
class LanguageResult:
    metrics: dict[str, float]
    predictions: list[dict]  # {"id", "prediction", "reference"} per example


def model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.inference_mode()
def predict_features(
    model: nn.Module,
    features: list[dict],
    *,
    task: str | None,
    pad_id: int,
    batch_size: int = 64,
    precision: str = "auto",
    desc: str = "eval",
) -> list[np.ndarray]:
    """Head logits per feature (float32, padding trimmed): ``(n_labels,)``, ``(n_choices,)``,
    ``(L, 2)`` start/end for spans, ``(L, n_labels)`` for tagging."""
    device = model_device(model)
    model.eval()
    outputs: list[np.ndarray | None] = [None] * len(features)
    batches = sorted_batches([feature_length(f) for f in features], batch_size)
    for indices in tqdm(batches, desc=desc, unit="batch"):
        batch = collate([features[i] for i in indices], pad_id)
        batch = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        with autocast(precision, device):
            logits = model(to_device(batch, device), task).logits.float().cpu().numpy()
        for row, i in enumerate(indices):
            out = logits[row]
            if out.ndim == 2:  # per-token outputs: drop padding
                out = out[: len(features[i]["input_ids"])]
            elif isinstance(features[i]["input_ids"][0], list):  # padded choices
                out = out[: len(features[i]["input_ids"])]
            outputs[i] = out
    return outputs  # type: ignore[return-value]


def best_span(
    context: str,
    windows: list[tuple[np.ndarray, list]],
    n_best: int = N_BEST,
    max_answer_length: int = MAX_ANSWER_LENGTH,
    return_score: bool = False,
):
    """run_qa.py's postprocessing: best start+end score over all windows, n-best candidates per
    window, spans inside the context, end >= start, at most ``max_answer_length`` tokens."""
    best_score, best_text = -np.inf, ""
    for logits, offsets in windows:
        start_logits, end_logits = logits[:, 0], logits[:, 1]
        starts = np.argsort(start_logits)[::-1][:n_best]
        ends = np.argsort(end_logits)[::-1][:n_best]
        for s in starts:
            for e in ends:
                if offsets[s] is None or offsets[e] is None:
                    continue
                if e < s or e - s + 1 > max_answer_length:
                    continue
                score = start_logits[s] + end_logits[e]
                if score > best_score:
                    best_score, best_text = score, context[offsets[s][0] : offsets[e][1]]
    return (best_text, float(best_score)) if return_score else best_text


def null_margin(windows: list[tuple[np.ndarray, list]], best_score: float) -> float:
    """run_qa.py with ``version_2_with_negative``: the null score (start + end logit of the first
    token) is the minimum over a question's windows; "no answer" wins by this margin over the
    best span (``+inf`` where no span is valid)."""
    null = min(float(logits[0, 0] + logits[0, 1]) for logits, _ in windows)
    return null - best_score if np.isfinite(best_score) else float("inf")


def decode(
    fmt: Format | str,
    rows: list[dict],
    features: list[dict],
    outputs: list[np.ndarray],
    label_names: tuple[str, ...] | list[str] = (),
    no_answer: bool = False,
) -> list:
    """One prediction per row: label index, choice index, answer text (with ``no_answer``:
    ``{"text", "null_diff"}``), ranked labels, or tag-name sequence."""
    fmt = Format(fmt)
    if fmt in (Format.SINGLE, Format.PAIR, Format.MULTIPLE_CHOICE):
        preds = [None] * len(rows)
        for feature, out in zip(features, outputs, strict=True):
            preds[feature["example_index"]] = int(np.argmax(out))
        return preds
    if fmt is Format.MULTI_LABEL:  # [label, logit] ranked by logit (R-Precision reads the top R)
        preds = [None] * len(rows)
        for feature, out in zip(features, outputs, strict=True):
            order = np.argsort(-out, kind="stable")
            preds[feature["example_index"]] = [[int(k), float(out[k])] for k in order]
        return preds
    if fmt is Format.QA:
        windows: list[list] = [[] for _ in rows]
        for feature, out in zip(features, outputs, strict=True):
            windows[feature["example_index"]].append((out, feature["offsets"]))
        if not no_answer:
            return [best_span(row["context"], w) for row, w in zip(rows, windows, strict=True)]
        out = []
        for row, w in zip(rows, windows, strict=True):
            text, score = best_span(row["context"], w, return_score=True)
            out.append({"text": text, "null_diff": null_margin(w, score)})
        return out
    if fmt is Format.TAGGING:
        # a sentence's pieces each predict their own words (features._tagging)
        tags: list[list[int | None]] = [[None] * len(row["tokens"]) for row in rows]
        for feature, out in zip(features, outputs, strict=True):
            token_tags = out.argmax(-1)
            for word, p in enumerate(feature["word_positions"]):
                if p >= 0:
                    tags[feature["example_index"]][word] = int(token_tags[p])
        for row, ids in zip(rows, tags, strict=True):
            if None in ids:
                raise ValueError(f"tagging: row {row.get('id')!r} has words no piece predicted")
        return [_tag_names(ids, label_names) for ids in tags]
    raise ValueError(f"format {fmt.value} is not decoded here (see evaluation.retrieval)")


def _tag_names(ids: list[int], label_names) -> list[str]:
    return [label_names[i] if label_names else str(i) for i in ids]


def references(fmt: Format | str, rows: list[dict], label_names=()) -> list:
    fmt = Format(fmt)
    if fmt is Format.QA:
        return [list(row["answers"]["text"]) for row in rows]
    if fmt is Format.TAGGING:
        return [_tag_names(row["tags"], label_names) for row in rows]
    if fmt is Format.MULTI_LABEL:
        return [list(row["labels"]) for row in rows]
    return [row["label"] for row in rows]


def score(metric: str, predictions: list, refs: list, lang: str | None = None) -> dict[str, float]:
    spec = metric_registry.get_metric(metric)
    options = {"lang": lang} if "lang" in spec.options and lang else {}
    return metric_registry.compute(metric, predictions, refs, **options)


def evaluate_languages(
    model: nn.Module,
    tokenizer,
    rows_by_lang: dict[str, list[dict]],
    fmt: Format | str,
    metric: str,
    *,
    task: str | None = None,
    max_length: int = 128,
    stride: int = 128,
    batch_size: int = 64,
    label_names: tuple[str, ...] | list[str] = (),
    precision: str = "auto",
    cache: bool = True,
    cache_root=None,
    name: str = "eval",
) -> dict[str, LanguageResult]:
    """Evaluate ``model`` on every language's rows in one pass; metrics and predictions per lang."""
    fmt = Format(fmt)
    pooled, per_lang = [], {}
    for lang, rows in rows_by_lang.items():
        if not rows:
            raise ValueError(f"{name}: no rows for language {lang!r}")
        options = {"stride": stride, "cache": cache, "cache_root": cache_root}
        per_lang[lang] = featurize(
            rows, fmt, tokenizer, max_length, train=False, name=f"{name}.{lang}", **options
        )
        pooled.extend(per_lang[lang])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    outputs = predict_features(
        model,
        pooled,
        task=task,
        pad_id=pad_id,
        batch_size=batch_size,
        precision=precision,
        desc=name,
    )
    results, cursor = {}, 0
    no_answer = metric_registry.get_metric(metric).no_answer
    for lang, rows in rows_by_lang.items():
        feats = per_lang[lang]
        outs = outputs[cursor : cursor + len(feats)]
        cursor += len(feats)
        preds = decode(fmt, rows, feats, outs, label_names, no_answer=no_answer)
        results[lang] = _language_result(fmt, metric, lang, rows, preds, label_names)
    return results


def _language_result(fmt, metric, lang, rows, preds, label_names) -> LanguageResult:
    refs = references(fmt, rows, label_names)
    items = [
        {"id": row.get("id"), "prediction": p, "reference": r}
        for row, p, r in zip(rows, preds, refs, strict=True)
    ]
    return LanguageResult(score(metric, preds, refs, lang), items)
