"""Benchmark 2: zero-shot evaluation throughput, one length-sorted pass vs a per-language loop.

Ours = :func:`xstilts.evaluation.zero_shot.evaluate_languages`: the features of all 11 MultiEmo
languages pooled, sorted by length and padded per batch. Baseline = what an evaluation script
usually does: for each language, batches in file order, ``padding="max_length"`` (128). Both
tokenise inside the timed region (ours without its feature cache) and use the same model (the
embedded encoder with a seeded, untrained 4-way head: throughput and agreement do not depend on
the head being trained) and batch size. Argmax predictions must be identical, or the run fails.

A second row does the same for English VitaminC dev pairs (the intermediate phase's dev
evaluation): much shorter inputs, so padding to 128 costs more there.
"""

from __future__ import annotations

from functools import partial

import torch

from . import common
from .harness import Recorder, Row, alternate, keeping, ratio

BATCH_SIZE = 64


@torch.inference_mode()
def baseline_predict(
    model,
    tokenizer,
    rows_by_lang: dict[str, list[dict]],
    fmt: str,
    *,
    task: str,
    max_length: int = common.MAX_LENGTH,
    batch_size: int = BATCH_SIZE,
) -> dict[str, list[int]]:
    """Per language, in file order, every batch padded to ``max_length``; argmax per row."""
    model.eval()
    preds: dict[str, list[int]] = {}
    for lang, rows in rows_by_lang.items():
        out: list[int] = []
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            enc = common.encode_max_length(tokenizer, chunk, fmt, max_length, return_tensors="pt")
            batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
            out.extend(model(batch, task).logits.argmax(-1).tolist())
        preds[lang] = out
    return preds


def ours_predict(
    model,
    tokenizer,
    rows_by_lang: dict[str, list[dict]],
    fmt: str,
    *,
    task: str,
    max_length: int = common.MAX_LENGTH,
    batch_size: int = BATCH_SIZE,
) -> dict[str, list[int]]:
    """:func:`evaluate_languages` (feature cache off, so tokenisation is timed as well)."""
    from xstilts.evaluation.zero_shot import evaluate_languages

    results = evaluate_languages(
        model,
        tokenizer,
        rows_by_lang,
        fmt,
        "accuracy",
        task=task,
        max_length=max_length,
        batch_size=batch_size,
        cache=False,
    )
    return {lang: [p["prediction"] for p in res.predictions] for lang, res in results.items()}


def mismatches(a: dict[str, list[int]], b: dict[str, list[int]]) -> int:
    if a.keys() != b.keys():
        raise ValueError(f"languages differ: {sorted(a)} vs {sorted(b)}")
    return sum(x != y for lang in a for x, y in zip(a[lang], b[lang], strict=True))


def _model(n_labels: int, task: str):
    from xstilts.models.heads import TaskModel

    torch.manual_seed(0)
    return TaskModel.for_tasks(common.encoder(), {task: ("single", n_labels)}).eval()


def _compare(
    rec: Recorder, key: str, model, rows_by_lang, fmt: str, task: str, repeats: int
) -> tuple[dict, float]:
    tok = common.tokenizer()
    preds: dict[str, dict] = {}
    args = (model, tok, rows_by_lang, fmt)
    warm = {lang: rows[:2] for lang, rows in list(rows_by_lang.items())[:1]}
    baseline_predict(model, tok, warm, fmt, task=task)  # first-call allocations, untimed
    runs = alternate(
        {
            "per_language_max_length": keeping(
                preds, "baseline", partial(baseline_predict, *args, task=task)
            ),
            "ours_length_sorted": keeping(preds, "ours", partial(ours_predict, *args, task=task)),
        },
        repeats,
    )
    summaries = rec.runs(key, runs)
    bad = mismatches(preds["baseline"], preds["ours"])
    n = sum(map(len, rows_by_lang.values()))
    rec.data[key]["examples"] = n
    rec.data[key]["prediction_mismatches"] = bad
    if bad:
        raise AssertionError(f"{key}: {bad} of {n} argmax predictions differ between the arms")
    return summaries, ratio(runs["per_language_max_length"], runs["ours_length_sorted"])


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    from xstilts.tasks.multiemo import LABELS, LANGUAGES

    threads = common.set_threads(threads)
    per_lang = 4 if quick else 32
    dev_rows = 8 if quick else 192
    repeats = repeats or (1 if quick else 2)
    rec = Recorder("zero_shot", quick)
    rec.data["settings"] = {
        "multiemo_per_language": per_lang,
        "languages": list(LANGUAGES),
        "vitaminc_dev_rows": dev_rows,
        "batch_size": BATCH_SIZE,
        "max_length": common.MAX_LENGTH,
        "threads": threads,
        "repeats": repeats,
    }
    rows_by_lang = {lang: common.rows("multiemo", "test", lang, per_lang) for lang in LANGUAGES}
    model = _model(len(LABELS), "multiemo")
    s, r = _compare(rec, "multiemo", model, rows_by_lang, "single", "multiemo", repeats)
    n = rec.data["multiemo"]["examples"]
    rec.rows.append(
        Row(
            "zero-shot eval (MultiEmo, 11 languages)",
            f"examples/s, {n} reviews, identical argmax",
            f"{n / s['per_language_max_length']['median_s']:.1f} ex/s",
            f"{n / s['ours_length_sorted']['median_s']:.1f} ex/s",
            r,
            "≥ 2×",
            r >= 2,
            "79 % of reviews reach 128 tokens",
        )
    )
    dev = {"en": common.rows("vitaminc", "validation", "en", dev_rows)}
    model = _model(3, "vitaminc")
    s, r = _compare(rec, "vitaminc_dev", model, dev, "pair", "vitaminc", repeats)
    n = rec.data["vitaminc_dev"]["examples"]
    rec.rows.append(
        Row(
            "dev eval (VitaminC pairs, English)",
            f"examples/s, {n} pairs, identical argmax",
            f"{n / s['per_language_max_length']['median_s']:.1f} ex/s",
            f"{n / s['ours_length_sorted']['median_s']:.1f} ex/s",
            r,
            "",
            None,
            "mean 68 tokens",
        )
    )
    return rec
