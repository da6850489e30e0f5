"""Stage 3: fine-tune on the English target task, then evaluate zero-shot on every language.

``run(config, curate_dir, encoder_dir, out_dir)``:

- the encoder comes from ``encoder_dir`` (an intermediate stage's ``encoder/``; its task heads are
  not carried over) or, when ``encoder_dir`` is None, from the pretrained ``config.model``
  (the baseline without intermediate training);
- trained on English ``train``, checkpoint selected on English ``validation`` (XTREME protocol),
  evaluated on every curated ``test.<lang>``;
- retrieval tasks are not trained: the bare encoder is swept over layers.

Writes ``metrics.json`` (shape in docs/architecture.md), ``predictions/<lang>.jsonl`` and
``curve.csv`` (retrieval: per-layer results in ``metrics.json`` only).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from ..configs import TargetConfig, coerce_config
from ..data.store import test_languages
from ..data.tuning import check_dev_outside_tests
from ..evaluation.retrieval import layer_sweep, mining_sweep
from ..evaluation.zero_shot import evaluate_languages
from ..io import write_json, write_jsonl
from ..metrics.registry import primary_key
from ..models.family import default_pooling, num_layers_of
from ..models.heads import TaskModel
from ..models.loading import load_encoder, load_tokenizer
from ..precision import resolve as resolve_precision
from ..tasks import Format, get_task
from ..tasks.protocol import mining_task, protocol_of, retrieval_layer, training_phases
from ..training.finetune import dev_metrics, fine_tune, train_task
from ..training.tracking import EVENTS
from ..training.trainer import resolve_device, write_curve
from ._common import jsonable, n_labels_of, read_rows


def _encoder_source(cfg: TargetConfig, encoder_dir: str | Path | None) -> str:
    if encoder_dir is None:
        return cfg.model
    path = Path(encoder_dir)
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"encoder_dir {path} holds no config.json: expected the "
            "intermediate stage's encoder/ directory"
        )
    return str(path)


def run(
    config: TargetConfig | dict | None,
    curate_dir: str | Path,
    encoder_dir: str | Path | None,
    out_dir: str | Path,
) -> dict:
    cfg = coerce_config(TargetConfig, config)
    out_dir = Path(out_dir)
    spec = get_task(cfg.task)
    langs = _languages(cfg, spec, curate_dir)
    source = _encoder_source(cfg, encoder_dir)
    tokenizer = load_tokenizer(source)
    encoder = load_encoder(source)
    tc = cfg.train
    primary = primary_key(spec.metric)
    started = time.perf_counter()
    base = {
        "task": spec.name,
        "format": spec.format.value,
        "primary_metric": primary,
        "intermediate": cfg.intermediate,
        "seed": cfg.seed,
        "model": cfg.model,
        "encoder": "intermediate" if encoder_dir is not None else "pretrained",
        "precision": resolve_precision(tc.precision, resolve_device(tc.device)),
    }

    if spec.format is Format.RETRIEVAL:
        encoder.to(resolve_device(tc.device))
        result = _retrieval(cfg, spec, encoder, tokenizer, curate_dir, langs, out_dir)
    else:
        rows_by_lang = {
            lang: read_rows(curate_dir, spec.name, "test", lang, cfg.max_test_samples)
            for lang in langs
        }
        result = _fine_tune_and_evaluate(
            cfg, spec, encoder, tokenizer, rows_by_lang, curate_dir, out_dir
        )
    metrics = {**base, **result, **_averages(result["per_language"], primary)}
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    metrics["config"] = asdict(cfg)
    metrics = {**{k: metrics[k] for k in METRICS_ORDER if k in metrics}, **metrics}
    write_json(out_dir / "metrics.json", metrics)
    return metrics


# metrics.json's leading keys, in the order docs/architecture.md shows them
METRICS_ORDER = ("task", "format", "primary_metric", "intermediate", "seed", "model")
METRICS_ORDER += ("per_language", "average", "layers")


def _languages(cfg: TargetConfig, spec, curate_dir: str | Path) -> list[str]:
    """The curated test languages, or those of ``cfg.languages`` that the task evaluates (a
    study's ``target.languages`` applies to every target, as ``curate.languages`` does; a
    retrieval target pairs each language with English, so English is not one of its own);
    each of those must be curated."""
    task = spec.name
    langs = test_languages(curate_dir, task)
    if cfg.languages:
        wanted = spec.evaluated_languages(cfg.languages)
        if not wanted:
            raise ValueError(
                f"task {task!r}: none of the languages {cfg.languages} is one it evaluates "
                f"({', '.join(spec.evaluated_languages())})"
            )
        missing = sorted(set(wanted) - set(langs))
        if missing:
            raise FileNotFoundError(
                f"task {task!r}: no curated test split for {missing} (curated: {langs})"
            )
        langs = [lang for lang in langs if lang in wanted]
    if not langs:
        raise FileNotFoundError(f"task {task!r}: no test.<lang>.jsonl under {curate_dir}")
    return langs


def _averages(per_language: dict[str, dict], primary: str) -> dict:
    """The mean primary metric over all languages, and over all but English where there are
    others (English is the training language, not zero-shot)."""
    values = [m[primary] for m in per_language.values()]
    others = [m[primary] for lang, m in per_language.items() if lang != "en"]
    out = {"average": {primary: sum(values) / len(values)}}
    if others:
        out["average_excluding_en"] = {primary: sum(others) / len(others)}
    return out


def _fine_tune_and_evaluate(
    cfg, spec, encoder, tokenizer, rows_by_lang, curate_dir, out_dir
) -> dict:
    """English fine-tuning, phase by phase as the protocol orders them (XCOPA: SIQA, then COPA),
    each phase's checkpoint chosen on its English dev rows; then every test language."""
    tc = cfg.train
    train_rows = read_rows(curate_dir, spec.name, "train", limit=tc.max_train_samples)
    dev_rows = read_rows(curate_dir, spec.name, "validation", limit=tc.max_eval_samples)
    check_dev_outside_tests(spec.name, dev_rows, rows_by_lang)
    model = TaskModel.for_tasks(
        encoder,
        {spec.name: (spec.format, n_labels_of(spec, train_rows))},
        pooling=cfg.pooling or default_pooling(encoder),
        seed=tc.seed,
    )
    runs = _train_phases(model, spec, tokenizer, train_rows, dev_rows, tc, out_dir)
    results = evaluate_languages(
        model,
        tokenizer,
        rows_by_lang,
        spec.format,
        spec.metric,
        task=spec.name,
        max_length=tc.max_length,
        stride=tc.doc_stride,
        batch_size=tc.eval_batch_size,
        precision=tc.precision,
        name=f"{spec.name}.test",
        label_names=spec.label_names,
    )
    for lang, res in results.items():
        write_jsonl(out_dir / "predictions" / f"{lang}.jsonl", res.predictions)
    write_curve(out_dir / "curve.csv", [row for _, _, r in runs for row in r.curve])
    return {
        "per_language": {lang: jsonable(res.metrics) for lang, res in results.items()},
        "dev": runs[-1][2].best_eval,
        "train": _train_summary(runs, len(train_rows)),
    }


def _train_phases(model, spec, tokenizer, train_rows, dev_rows, tc, out_dir) -> list[tuple]:
    """(phase, training rows, TrainResult) of each protocol phase, trained in order."""
    phases = training_phases(spec.name)
    runs = []
    for k, phase in enumerate(phases):
        phase_train = _phase_rows(train_rows, phase.train, len(phases))
        phase_dev = _phase_rows(dev_rows, phase.train, len(phases))
        dev_spec = get_task(phase.dev)
        label = f"{spec.name}.{phase.train}.train"
        task = train_task(spec.name, phase_train, spec.format, tokenizer, tc, label)

        def evaluate(m, rows=phase_dev, dev_spec=dev_spec) -> dict:
            label = f"{spec.name}.{dev_spec.name}.validation"
            metrics = dev_metrics(m, tokenizer, rows, spec.format, spec.name, dev_spec, tc, label)
            return {"score": metrics[primary_key(dev_spec.metric)], **jsonable(metrics)}

        folder, events = out_dir / "checkpoints", out_dir / EVENTS
        if len(phases) > 1:  # one folder per training phase (XCOPA: SIQA, then COPA)
            folder, events = folder / f"{k}-{phase.train}", events / f"{k}-{phase.train}"
        result = fine_tune(model, [task], tc, folder, tokenizer, evaluate, events)
        runs.append((phase, len(phase_train), result))
    return runs


def _train_summary(runs: list[tuple], n_train_rows: int) -> dict:
    last = runs[-1][2]
    return {
        "steps": sum(r.steps for _, _, r in runs),
        "best_step": last.best_step,
        "selected_step": last.selected_step,  # the weights evaluated (TrainConfig.checkpoint)
        "examples": sum(r.examples for _, _, r in runs),
        "train_examples": n_train_rows,
        "seconds": round(sum(r.seconds for _, _, r in runs), 2),
        "tokens_per_s": round(last.tokens_per_s, 1),
        "phases": [
            {
                "train": ph.train,
                "dev": ph.dev,
                "train_examples": n,
                "steps": r.steps,
                "best_step": r.best_step,
                "selected_step": r.selected_step,
                "dev_metrics": r.best_eval,
            }
            for ph, n, r in runs
        ],
    }


def _phase_rows(rows: list[dict], phase: str, n_phases: int) -> list[dict]:
    """A phase's curated rows (curate tags each with its phase's training task)."""
    mine = [r for r in rows if r.get("phase", phase) == phase]
    if not mine and n_phases > 1:
        raise ValueError(f"no curated rows for training phase {phase!r}: re-run curate")
    return mine or rows


def _mine(cfg, spec, encoder, tokenizer, curate_dir, langs, report, common) -> tuple[dict, dict]:
    """BUCC: mine each language's test set, threshold tuned on its sample (validation) set."""
    sets = {
        lang: {
            split: read_rows(curate_dir, spec.name, split, lang) for split in ("validation", "test")
        }
        for lang in langs
    }
    layers = sorted({*(cfg.layers or []), report})
    chosen = [*[x for x in layers if x != report], report]
    return mining_sweep(
        encoder, tokenizer, sets, layers=chosen, candidates=cfg.bucc_candidates, **common
    )


def _sweep_pairs(
    cfg, spec, encoder, tokenizer, curate_dir, langs, report, direction, common
) -> tuple[dict, dict]:
    """Pairs (Tatoeba, UDHR ...): accuracy@1 at every layer; the items of the reported one."""
    rows_by_lang = {
        lang: read_rows(curate_dir, spec.name, "test", lang, cfg.max_test_samples) for lang in langs
    }
    sweep, hits = layer_sweep(
        encoder,
        tokenizer,
        rows_by_lang,
        scoring=cfg.scoring,
        layers=cfg.layers,
        direction=direction,
        return_hits=True,
        **common,
    )
    if report not in sweep:
        raise ValueError(f"layer {report} is reported but not in the sweep {sorted(sweep)}")
    return sweep, hits[report]


def _retrieval(cfg, spec, encoder, tokenizer, curate_dir, langs, out_dir) -> dict:
    """The bare encoder, no training: a layer sweep (pairs) or BUCC mining; the reported layer
    is the protocol's for this model (``xstilts.tasks.protocol``), else the last."""
    tc = cfg.train
    proto = protocol_of(spec.name)
    retrieval = proto.retrieval if proto else None
    n_layers = num_layers_of(encoder)
    protocol_layer = retrieval_layer(spec.name, cfg.model)
    if protocol_layer is not None and protocol_layer > n_layers:  # e.g. a 12-layer base model
        protocol_layer = None
    report = cfg.layer % (n_layers + 1) if cfg.layer is not None else protocol_layer or n_layers
    pooling = cfg.pooling or (retrieval.pooling if retrieval else "mean")
    common = {
        "pooling": pooling,
        "max_length": tc.max_length,
        "batch_size": tc.eval_batch_size,
        "precision": tc.precision,
    }
    direction = "mining" if mining_task(spec.name) else retrieval.direction if retrieval else "both"
    inputs = (cfg, spec, encoder, tokenizer, curate_dir, langs, report)
    if direction == "mining":
        sweep, items = _mine(*inputs, common)
    else:
        sweep, items = _sweep_pairs(*inputs, direction, common)
    for lang, lang_items in items.items():  # per item, for the item-level bootstrap
        write_jsonl(out_dir / "predictions" / f"{lang}.jsonl", lang_items)
    deviations = []
    if retrieval and pooling != retrieval.pooling:
        deviations.append(f"pooling {pooling} (protocol: {retrieval.pooling})")
    if cfg.layer is not None and protocol_layer is not None and report != protocol_layer:
        deviations.append(f"layer {report} (protocol: {protocol_layer})")
    return {
        "per_language": sweep[report],
        "layer": report,
        "protocol_layer": protocol_layer,
        "layer_choice": "config"
        if cfg.layer is not None
        else (
            "protocol" if protocol_layer is not None else "last (no protocol layer for this model)"
        ),
        "pooling": pooling,
        "scoring": "margin mining" if mining_task(spec.name) else cfg.scoring,
        "bucc_candidates": cfg.bucc_candidates if mining_task(spec.name) else None,
        "direction": direction,
        "deviations": deviations,
        "layers": {str(k): v for k, v in sweep.items()},
    }
