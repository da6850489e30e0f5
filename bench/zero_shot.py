"""Benchmark 2: zero-shot evaluation throughput, one length-sorted pass vs a per-language loop.

Ours = :func:`xstilts.evaluation.zero_shot.evaluate_languages` as the target stage runs it: the
features of all 11 MultiEmo languages pooled, sorted by length, padded per batch, bf16 autocast
where the CPU has bf16 units (``precision: auto``). Baseline = what an evaluation script usually
does: for each language, batches in file order, ``padding="max_length"`` (128), fp32. A third arm
is ours in fp32, which shows what sorting alone gives. Both tokenise inside the timed region
(ours without its feature cache) and use the same model and batch size: the embedded encoder
with a mean-pooling head fitted on 512 English training reviews (fp32 features, the encoder
untouched), so agreement is measured on a classifier with real decision margins. Agreement:
share of identical argmax predictions (goal >= 99.5 %) and accuracy against the gold labels
(within 0.3 points).

A second row does the same for English VitaminC dev pairs (the intermediate phase's dev
evaluation): much shorter inputs, so padding to 128 costs more there.
"""

from __future__ import annotations

from functools import partial

import torch

from xstilts.precision import resolve

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
    precision: str = "auto",
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
        precision=precision,
    )
    return {lang: [p["prediction"] for p in res.predictions] for lang, res in results.items()}


def mismatches(a: dict[str, list[int]], b: dict[str, list[int]]) -> int:
    if a.keys() != b.keys():
        raise ValueError(f"languages differ: {sorted(a)} vs {sorted(b)}")
    return sum(x != y for lang in a for x, y in zip(a[lang], b[lang], strict=True))


def accuracy(preds: dict[str, list[int]], rows_by_lang: dict[str, list[dict]]) -> float:
    """Accuracy in points over every language's rows (gold ``label``)."""
    hits = [
        p == r["label"]
        for k, rows in rows_by_lang.items()
        for p, r in zip(preds[k], rows, strict=True)
    ]
    return 100.0 * sum(hits) / len(hits)


def _fit_head(model, task: str, rows: list[dict], fmt: str, steps: int = 200) -> None:
    """Fit the head's output layer on fp32 pooled features of ``rows`` (full-batch AdamW); the
    encoder is not touched."""
    from xstilts.models.heads import pool

    tok = common.tokenizer()
    head = model.heads[task]
    enc = common.encode_max_length(tok, rows, fmt, common.MAX_LENGTH, return_tensors="pt")
    with torch.no_grad():  # features once, fp32; only the output layer learns
        hidden = model.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        feats = pool(hidden.last_hidden_state, enc["attention_mask"], head.pooling)
    labels = torch.tensor([r["label"] for r in rows])
    opt = torch.optim.AdamW(head.out.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(head.out(feats), labels)
        loss.backward()
        opt.step()
        opt.zero_grad()


def _model(n_labels: int, task: str, fmt: str, train_rows: list[dict]):
    from xstilts.models.heads import TaskModel

    torch.manual_seed(0)
    model = TaskModel.for_tasks(common.encoder(), {task: (fmt, n_labels)}, pooling="mean").eval()
    _fit_head(model, task, train_rows, fmt)
    return model


def _compare(
    rec: Recorder, key: str, model, rows_by_lang, fmt: str, task: str, repeats: int
) -> tuple[dict, dict[str, float]]:
    tok = common.tokenizer()
    preds: dict[str, dict] = {}
    args = (model, tok, rows_by_lang, fmt)
    warm = {lang: rows[:2] for lang, rows in list(rows_by_lang.items())[:1]}
    baseline_predict(model, tok, warm, fmt, task=task)  # first-call allocations, untimed
    ours_predict(model, tok, warm, fmt, task=task)
    runs = alternate(
        {
            "per_language_max_length": keeping(
                preds, "baseline", partial(baseline_predict, *args, task=task)
            ),
            "ours_fp32": keeping(
                preds, "ours_fp32", partial(ours_predict, *args, task=task, precision="fp32")
            ),
            "ours": keeping(preds, "ours", partial(ours_predict, *args, task=task)),
        },
        repeats,
    )
    summaries = rec.runs(key, runs)
    n = sum(map(len, rows_by_lang.values()))
    exact = mismatches(preds["baseline"], preds["ours_fp32"])
    bad = mismatches(preds["baseline"], preds["ours"])
    acc = {arm: accuracy(p, rows_by_lang) for arm, p in preds.items()}
    rec.data[key] |= {
        "examples": n,
        "precision": resolve("auto", "cpu"),
        "fp32_sorted_mismatches": exact,
        "prediction_mismatches": bad,
        "agreement": 1 - bad / n,
        "accuracy_points": acc,
    }
    if exact:
        raise AssertionError(f"{key}: sorting alone changed {exact} of {n} fp32 predictions")
    ratios = {
        arm: ratio(runs["per_language_max_length"], runs[arm]) for arm in ("ours_fp32", "ours")
    }
    return summaries, ratios


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    from xstilts.tasks.icd10 import LABELS, LANGUAGES

    threads = common.set_threads(threads)
    per_lang = 4 if quick else 64
    dev_rows = 8 if quick else 192
    repeats = repeats or (1 if quick else 2)
    rec = Recorder("zero_shot", quick)
    rec.data["settings"] = {
        "icd10_per_language": per_lang,
        "languages": list(LANGUAGES),
        "hpo_dev_rows": dev_rows,
        "batch_size": BATCH_SIZE,
        "max_length": common.MAX_LENGTH,
        "threads": threads,
        "repeats": repeats,
    }
    rows_by_lang = {lang: common.rows("icd10", "test", lang, per_lang) for lang in LANGUAGES}
    fit = common.rows("icd10", "train", "en", 16 if quick else 512)
    model = _model(len(LABELS), "icd10", "single", fit)
    s, r = _compare(rec, "icd10", model, rows_by_lang, "single", "icd10", repeats)
    _rows(rec, "icd10", "zero-shot eval (ICD-10, 8 languages)", "titles", s, r, True)
    dev = {"en": common.rows("hpo_organ_systems", "validation", "en", dev_rows)}
    fit = common.rows("hpo_organ_systems", "train", "en", 16 if quick else 512)
    model = _model(14, "hpo_organ_systems", "single", fit)
    s, r = _compare(rec, "hpo_dev", model, dev, "single", "hpo_organ_systems", repeats)
    _rows(rec, "hpo_dev", "dev eval (HPO phenotypes, English)", "terms", s, r, False)
    return rec


def _rows(rec: Recorder, key: str, title: str, unit: str, s: dict, r: dict, goal: bool) -> None:
    d = rec.data[key]
    n, acc = d["examples"], d["accuracy_points"]
    base = f"{n / s['per_language_max_length']['median_s']:.1f} ex/s"
    rec.rows.append(
        Row(
            title,
            f"examples/s, {n} {unit}, fp32 sorted vs padded (identical argmax)",
            base,
            f"{n / s['ours_fp32']['median_s']:.1f} ex/s",
            r["ours_fp32"],
            "",
            None,
            "sorting alone",
        )
    )
    gap = abs(acc["ours"] - acc["baseline"])
    ok = r["ours"] >= 2.5 and d["agreement"] >= 0.995 and gap <= 0.3
    rec.rows.append(
        Row(
            title,
            f"examples/s, {n} {unit}, ours ({d['precision']}) vs padded fp32",
            base,
            f"{n / s['ours']['median_s']:.1f} ex/s",
            r["ours"],
            "≥ 2.5×, ≥ 99.5 % agreement, accuracy ± 0.3" if goal else "",
            ok if goal else None,
            f"agreement {d['agreement']:.2%}; accuracy {acc['baseline']:.2f} (fp32) vs "
            f"{acc['ours']:.2f} ({d['precision']})",
        )
    )
