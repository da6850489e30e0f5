"""Accuracy check (opt-in, ``python -m bench multiemo_reference``): our target stage vs a plain
reference loop on the MultiEmo reference setting, same data, same seeds.

Setting (issue #4): 1,500 English training reviews, 2 epochs, max length 128, frozen embeddings,
500 English dev reviews and 300 evaluation reviews per language (11 languages). Every item comes
from MultiEmo's *train* split, so none is in the test pool that studies evaluate on
(:func:`xstilts.data.tuning.check_outside_test_pool` enforces it); hyperparameters are compared
on the English dev reviews only (``bench/hparam_sweep.py``).

- **plain loop**: what a researcher writes first: ``AutoModelForSequenceClassification`` on the
  embedded model's directory (its pooler and classifier start fresh), embeddings frozen, AdamW
  lr 5e-5, linear schedule with 10 % warmup, shuffled batches of 16 with dynamic padding, the
  final weights, no dev selection;
- **ours**: :func:`xstilts.stages.target.run` with the embedded profile's target settings
  (``params/profiles/embedded.yaml``), i.e. what the default study runs (``precision: auto``,
  bf16 autocast where the CPU has bf16 units);
- **ours, fp32**: the same in fp32, the accuracy guard for bf16 (its average must fall inside
  the fp32 seeds' range). Where ``auto`` resolves to fp32 (no bf16 units) "ours" is already this
  arm: it is not run twice, and the guard row says it was not measured.

``$XSTILTS_REFERENCE_ARMS`` (comma-separated, "ours" among them) runs a subset, e.g.
``ours,ours_fp32`` for the guard alone.

Seeds alternate (plain s1, ours s1, ours fp32 s1, plain s2 ...). Reports per-language accuracy per
seed, the seed means, and the mean paired difference per language.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from xstilts.paths import cache_dir, repo_root
from xstilts.precision import resolve

from . import common
from .harness import Recorder, Row

SETTING = {"n_train": 1500, "n_dev": 500, "n_test": 300, "epochs": 2, "max_length": 128}
SEEDS = (1, 2, 3)


N_REFERENCE = {"train": 1500, "validation": 500, "test": 300}
N_QUICK = {"train": 32, "validation": 16, "test": 8}
REFERENCE_SEED = 11


def curate_reference(out: Path, quick: bool) -> Path:
    """The reference setting's curated dir: disjoint train / dev / evaluation items, all drawn
    from MultiEmo's train split (outside every study's test pool, checked)."""
    from xstilts.data.store import write_split
    from xstilts.data.subsample import ranked
    from xstilts.data.tuning import check_outside_test_pool
    from xstilts.tasks.multiemo import LANGUAGES, load_all

    if (out / "DONE").exists():
        return out
    sizes = N_QUICK if quick else N_REFERENCE
    by_lang = {lang: {r["id"]: r for r in load_all("train", lang)} for lang in LANGUAGES}
    order = [r["id"] for r in ranked(list(by_lang["en"].values()), REFERENCE_SEED)]
    cut = np.cumsum([0, *sizes.values()])
    chosen = {split: order[a:b] for split, a, b in zip(sizes, cut[:-1], cut[1:], strict=True)}
    check_outside_test_pool("multiemo", order[: cut[-1]])
    for split in ("train", "validation"):
        write_split(out, "multiemo", split, [by_lang["en"][i] for i in chosen[split]])
    for lang in LANGUAGES:
        write_split(out, "multiemo", "test", [by_lang[lang][i] for i in chosen["test"]], lang)
    (out / "DONE").write_text("")
    return out


def _read(curate_dir: Path, split: str, lang: str | None = None) -> list[dict]:
    from xstilts.data.store import read_split

    return read_split(curate_dir, "multiemo", split, lang)


def _encode(tok, rows: list[dict], max_length: int):
    """Dynamic padding to the longest text of the batch, truncated at ``max_length``."""
    texts = [r["text"] for r in rows]
    return tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


def plain_loop(curate_dir: Path, seed: int, epochs: int, max_length: int) -> dict[str, float]:
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    from xstilts.data.store import test_languages
    from xstilts.seeding import set_seed

    set_seed(seed)
    tok = common.tokenizer()
    train = _read(curate_dir, "train")
    model = AutoModelForSequenceClassification.from_pretrained(
        common.embedded_dir(), num_labels=4, use_safetensors=True
    )
    model.base_model.embeddings.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5)
    batch_size = 16
    steps = epochs * math.ceil(len(train) / batch_size)
    sched = get_linear_schedule_with_warmup(opt, math.ceil(0.1 * steps), steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(train), generator=gen).tolist()
        for k in range(0, len(order), batch_size):
            rows = [train[i] for i in order[k : k + batch_size]]
            enc = _encode(tok, rows, max_length)
            loss = model(**enc, labels=torch.tensor([r["label"] for r in rows])).loss
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
    model.eval()
    acc = {}
    with torch.inference_mode():
        for lang in test_languages(curate_dir, "multiemo"):
            rows = _read(curate_dir, "test", lang)
            hits = 0
            for k in range(0, len(rows), 64):
                chunk = rows[k : k + 64]
                enc = _encode(tok, chunk, max_length)
                pred = model(**enc).logits.argmax(-1).tolist()
                hits += sum(p == r["label"] for p, r in zip(pred, chunk, strict=True))
            acc[lang] = hits / len(rows)
    return acc


def ours(
    curate_dir: Path, seed: int, epochs: int, max_length: int, out: Path, precision: str = "auto"
) -> dict[str, float]:
    import yaml

    from xstilts.stages import target

    profile = yaml.safe_load((repo_root() / "params/profiles/embedded.yaml").read_text())
    train = {**profile["target"]["train"], "epochs": epochs, "max_length": max_length}
    train |= {"freeze_embeddings": True, "precision": precision}
    metrics = target.run({"task": "multiemo", "seed": seed, **train}, curate_dir, None, out)
    return {lang: m["accuracy"] for lang, m in metrics["per_language"].items()}


ARMS_ENV = "XSTILTS_REFERENCE_ARMS"  # e.g. "ours,ours_fp32": the precision guard alone
ARMS = ("plain", "ours", "ours_fp32")


def chosen_arms(precision: str) -> tuple[str, ...]:
    """The arms to run: all, or those ``$XSTILTS_REFERENCE_ARMS`` names. Where ``auto`` resolves
    to fp32 (no bf16 units) "ours" already is the fp32 arm, so ``ours_fp32`` is not run twice."""
    names = [a.strip() for a in os.environ.get(ARMS_ENV, ",".join(ARMS)).split(",") if a.strip()]
    unknown = sorted(set(names) - set(ARMS))
    if unknown or "ours" not in names:
        raise SystemExit(
            f"{ARMS_ENV}: expected arms among {list(ARMS)} including 'ours', got {names}"
        )
    return tuple(a for a in ARMS if a in names and not (a == "ours_fp32" and precision == "fp32"))


def run(quick: bool = False, threads: int | None = None, repeats: int | None = None) -> Recorder:
    threads = common.set_threads(threads)
    rec = Recorder("multiemo_reference", quick)
    seeds = SEEDS[: repeats or (1 if quick else len(SEEDS))]
    epochs = 1 if quick else SETTING["epochs"]
    curate_dir = curate_reference(
        cache_dir() / "bench" / ("multiemo-tuning-quick" if quick else "multiemo-tuning"),
        quick,
    )
    precision = resolve("auto", "cpu")
    arms = chosen_arms(precision)
    rec.data["settings"] = {**SETTING, "seeds": list(seeds), "threads": threads, "quick": quick}
    rec.data |= {"precision": precision, "arms": list(arms)}
    results = _run_arms(arms, seeds, curate_dir, epochs)
    langs = list(results["ours"][seeds[0]])
    mean = {
        arm: {lang: float(np.mean([r[s][lang] for s in seeds])) for lang in langs}
        for arm, r in results.items()
    }
    rec.data |= {"per_seed": results, "mean": mean}
    rec.rows.append(_guard_row(results, mean, seeds, precision))
    if "plain" in results:
        rec.rows.append(_accuracy_row(mean, seeds, langs, curate_dir, rec))
    return rec


def _run_arms(arms, seeds, curate_dir: Path, epochs: int) -> dict[str, dict[int, dict]]:
    """Each seed's per-language accuracy per arm; seeds alternate arms (s1: plain, ours, ...)."""
    results: dict[str, dict[int, dict[str, float]]] = {arm: {} for arm in arms}
    length = SETTING["max_length"]
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            if "plain" in arms:
                results["plain"][seed] = plain_loop(curate_dir, seed, epochs, length)
            results["ours"][seed] = ours(curate_dir, seed, epochs, length, Path(tmp) / f"s{seed}")
            if "ours_fp32" in arms:
                results["ours_fp32"][seed] = ours(
                    curate_dir, seed, epochs, length, Path(tmp) / f"f{seed}", precision="fp32"
                )
            done = ", ".join(f"{arm} {_avg(results[arm][seed]):.3f}" for arm in arms)
            print(f"   seed {seed}: {done}", flush=True)
    return results


def _guard_row(results, mean, seeds, precision: str) -> Row:
    """bf16's average inside the fp32 seeds' range; not measured where ``auto`` is fp32 (the
    two arms would be one computation, and any guard of it would pass)."""
    name = "MultiEmo reference setting, precision guard"
    metric = f"average accuracy, mean of {len(seeds)} seed(s) each"
    if "ours_fp32" not in results:
        why = "not measured: precision auto is fp32 here (no bf16 units), so there is no bf16 arm"
        if precision != "fp32":
            why = f"not measured: the fp32 arm was left out ({ARMS_ENV})"
        return Row(name, metric, "", why, None, "inside the fp32 seed range", None)
    fp32 = [_avg(results["ours_fp32"][s]) for s in seeds]
    low = _avg(mean["ours"])
    return Row(
        name,
        metric,
        f"fp32 {_avg(mean['ours_fp32']):.3f} (seeds {min(fp32):.3f}–{max(fp32):.3f})",
        f"{precision} {low:.3f}",
        None,
        "inside the fp32 seed range",
        min(fp32) <= low <= max(fp32),
    )


def _accuracy_row(mean, seeds, langs, curate_dir: Path, rec: Recorder) -> Row:
    diff = {lang: mean["ours"][lang] - mean["plain"][lang] for lang in langs}
    rec.data["ours_minus_plain"] = diff
    worst = min(diff, key=diff.get)
    return Row(
        "MultiEmo reference setting (accuracy)",
        f"mean of {len(seeds)} seed(s), {len(langs)} languages × "
        f"{len(_read(curate_dir, 'test', 'en'))} reviews",
        f"plain loop avg {_avg(mean['plain']):.3f}",
        f"ours avg {_avg(mean['ours']):.3f}",
        None,
        "ours ≥ plain",
        _avg(mean["ours"]) >= _avg(mean["plain"]),
        f"per language ours − plain: {', '.join(f'{k} {v:+.3f}' for k, v in diff.items())}; "
        f"worst {worst}",
    )


def _avg(acc: dict[str, float]) -> float:
    return float(np.mean(list(acc.values())))
