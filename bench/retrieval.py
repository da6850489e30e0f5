"""Benchmark 3: retrieval layer sweep, all layers in one pass vs one pass per layer.

Ours = :func:`xstilts.evaluation.retrieval.layer_sweep`: every text of every language embedded
once with ``output_hidden_states=True`` (13 pooled layers per text, length-sorted batches), then
cosine accuracy@1 both ways per language and layer. Baseline = the usual loop over layers: for
layer ``l``, run the encoder truncated to its first ``l`` layers (already the cheaper variant: a
full pass per layer would cost 13 passes instead of 6.5) per language in file order with
``padding=True``, mean-pool, then score. Time = embedding + search. Both arms must give the same
accuracies. Data: UDHR (English vs a sample of the declarations the task keeps) and
MultiEmo-parallel (English vs 10 languages); full-set times are extrapolated from the measured
seconds per token and marked so.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from torch import nn

from xstilts.precision import resolve

from . import common
from .harness import Recorder, Row, alternate, keeping, ratio

BATCH_SIZE = 64


@torch.inference_mode()
def _embed_first_layers(
    encoder, tokenizer, texts: list[str], n_layers: int, batch_size: int = BATCH_SIZE
) -> np.ndarray:
    from xstilts.models.heads import pool

    layers = encoder.encoder.layer
    encoder.encoder.layer = nn.ModuleList(list(layers)[:n_layers])
    try:
        out = []
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=common.MAX_LENGTH,
                return_tensors="pt",
            )
            hidden = encoder(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            ).last_hidden_state
            out.append(pool(hidden, enc["attention_mask"], "mean").numpy())
        return np.concatenate(out)
    finally:
        encoder.encoder.layer = layers


def baseline_sweep(encoder, tokenizer, rows_by_lang: dict[str, list[dict]]) -> dict:
    from xstilts.evaluation.retrieval import accuracy_both_ways, aligned

    encoder.eval()
    sweep: dict[int, dict] = {}
    for layer in range(encoder.config.num_hidden_layers + 1):
        emb = {
            lang: _embed_first_layers(encoder, tokenizer, [r["text"] for r in rows], layer)
            for lang, rows in rows_by_lang.items()
        }
        sweep[layer] = {}
        for lang, rows in rows_by_lang.items():
            if lang == "en":
                continue
            src_idx, en_idx, _ = aligned(rows, rows_by_lang["en"])
            sweep[layer][lang] = accuracy_both_ways(emb[lang][src_idx], emb["en"][en_idx])
    return sweep


def ours_sweep(
    encoder, tokenizer, rows_by_lang: dict[str, list[dict]], precision: str = "fp32"
) -> dict:
    from xstilts.evaluation.retrieval import layer_sweep

    return layer_sweep(
        encoder,
        tokenizer,
        rows_by_lang,
        pooling="mean",
        scoring="cosine",
        max_length=common.MAX_LENGTH,
        batch_size=BATCH_SIZE,
        precision=precision,
    )


def layer_differences(a: dict, b: dict) -> dict[int, float]:
    """Per layer: mean over languages of the accuracy difference b − a, in points."""
    return {
        int(layer): 100
        * float(np.mean([b[layer][k]["accuracy"] - a[layer][k]["accuracy"] for k in a[layer]]))
        for layer in a
    }


def max_accuracy_difference(a: dict, b: dict) -> float:
    return max(
        abs(a[layer][lang]["accuracy"] - b[layer][lang]["accuracy"])
        for layer in a
        for lang in a[layer]
    )


def _tokens(tokenizer, rows_by_lang) -> int:
    texts = [r["text"] for rows in rows_by_lang.values() for r in rows]
    return sum(
        len(x) for x in tokenizer(texts, truncation=True, max_length=common.MAX_LENGTH)["input_ids"]
    )


def _udhr_languages() -> list[str]:
    from xstilts.tasks.udhr import LANGUAGES, MIN_ARTICLES, declarations

    decls = declarations()
    return [k for k in LANGUAGES if len(decls[k].articles) >= MIN_ARTICLES]


def _dataset(name: str, quick: bool) -> tuple[dict, dict]:
    """(sampled rows by language, full-set size {languages, texts, tokens})."""
    tok = common.tokenizer()
    if name == "udhr":
        langs = _udhr_languages()
        take = 3 if quick else 5
        step = max(1, (len(langs) - 1) // (take - 1))
        sample = ["en", *[k for k in langs[1:]][::step][: take - 1]]
        rows = {k: common.rows("udhr", "test", k) for k in sample}
        per_text = _tokens(tok, rows) / sum(map(len, rows.values()))
        n_texts = 30 * len(langs)  # MIN_ARTICLES..30 articles each; 30 as the upper bound
        full = {
            "languages": len(langs),
            "texts_upper_bound": n_texts,
            "tokens_estimate": int(per_text * n_texts),
        }
        return rows, full
    from xstilts.tasks.gnome_help import LANGUAGES

    per_lang = 4 if quick else 12
    full_rows = {k: common.rows("gnome_help_parallel", "test", k) for k in LANGUAGES}
    n = min(1000, len(full_rows["en"]))
    rows = {k: v[:per_lang] for k, v in full_rows.items()}
    per_text = _tokens(tok, rows) / sum(map(len, rows.values()))
    full = {
        "languages": len(LANGUAGES),
        "texts": n * len(LANGUAGES),
        "tokens_estimate": int(per_text * n * len(LANGUAGES)),
    }
    return rows, full


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads)
    repeats = repeats or (1 if quick else 2)
    rec = Recorder("retrieval", quick)
    rec.data["settings"] = {
        "batch_size": BATCH_SIZE,
        "max_length": common.MAX_LENGTH,
        "threads": threads,
        "repeats": repeats,
        "pooling": "mean",
        "scoring": "cosine",
    }
    tok = common.tokenizer()
    encoder = common.encoder().eval()
    for name, label in (("udhr", "UDHR"), ("gnome_help_parallel", "GNOME-Help-parallel")):
        rows, full = _dataset(name, quick)
        results: dict[str, dict] = {}
        args = (encoder, tok, rows)
        runs = alternate(
            {
                "one_pass_per_layer": keeping(results, "baseline", partial(baseline_sweep, *args)),
                "ours_all_layers_one_pass": keeping(results, "ours", partial(ours_sweep, *args)),
                "ours_bf16": keeping(results, "bf16", partial(ours_sweep, *args, precision="auto")),
            },
            repeats,
        )
        s = rec.runs(name, runs)
        diff = max_accuracy_difference(results["baseline"], results["ours"])
        n_texts = sum(map(len, rows.values()))
        tokens = _tokens(tok, rows)
        ours_s = s["ours_all_layers_one_pass"]["median_s"]
        base_s = s["one_pass_per_layer"]["median_s"]
        est = {
            "ours_s": ours_s / tokens * full["tokens_estimate"],
            "baseline_s": base_s / tokens * full["tokens_estimate"],
        }
        rec.data[name].update(
            {
                "languages": sorted(rows),
                "texts": n_texts,
                "tokens": tokens,
                "max_accuracy_difference": diff,
                "full_set": full,
                "full_set_estimate": est,
            }
        )
        if diff > 1.5 / min(map(len, rows.values())):  # more than a tie flipping one item
            raise AssertionError(f"{name}: accuracies differ by {diff} between the arms")
        per_layer = layer_differences(results["ours"], results["bf16"])
        rec.data[name]["bf16_minus_fp32_points_per_layer"] = per_layer
        rec.data[name]["precision"] = resolve("auto", "cpu")
        r = ratio(runs["one_pass_per_layer"], runs["ours_all_layers_one_pass"])
        rec.rows.append(
            Row(
                f"retrieval layer sweep ({label})",
                f"embed + search, 13 layers, {len(rows)} langs × {n_texts // len(rows)} texts",
                common.fmt_s(base_s),
                common.fmt_s(ours_s),
                r,
                "",
                None,
                f"full set ({full['languages']} langs) extrapolated: ours ≈ {est['ours_s'] / 60:.0f} "
                f"min, baseline ≈ {est['baseline_s'] / 60:.0f} min",
            )
        )
        worst = max(per_layer, key=lambda k: abs(per_layer[k]))
        rec.rows.append(
            Row(
                f"retrieval layer sweep, bf16 ({label})",
                "ours fp32 vs ours bf16 autocast (CPU AMX), all 13 layers",
                common.fmt_s(ours_s),
                common.fmt_s(s["ours_bf16"]["median_s"]),
                ratio(runs["ours_all_layers_one_pass"], runs["ours_bf16"]),
                "",
                None,
                "accuracy bf16 − fp32 per layer (points, mean over languages): "
                + ", ".join(f"{k}: {v:+.1f}" for k, v in sorted(per_layer.items()))
                + f"; largest at layer {worst}",
            )
        )
    return rec
