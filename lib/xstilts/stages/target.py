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
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..data.store import test_languages
from ..evaluation.retrieval import layer_sweep
from ..evaluation.zero_shot import evaluate_languages
from ..io import write_json, write_jsonl
from ..metrics.registry import primary_key
from ..models.heads import TaskModel, default_pooling
from ..models.loading import EMBEDDED, load_encoder, load_tokenizer
from ..precision import resolve as resolve_precision
from ..tasks import Format, get_task
from ..training.features import featurize
from ..training.trainer import TrainConfig, TrainTask, resolve_device, train, write_curve
from ._common import coerce_config, jsonable, n_labels_of, read_rows


@dataclass
class TargetConfig:
    model: str = EMBEDDED
    task: str = "multiemo"
    seed: int = 1
    intermediate: str | None = None  # label of the intermediate run (None = baseline)
    languages: list[str] | None = None  # None: every curated test language
    max_test_samples: int | None = None  # per language
    pooling: str | None = None  # None: first token (mean for T5); retrieval default: mean
    layers: list[int] | None = None  # retrieval sweep (None: all, 0 = embeddings)
    layer: int | None = None  # retrieval layer reported in per_language (None: last)
    scoring: str = "cosine"  # retrieval: cosine | margin
    train: TrainConfig = field(default_factory=TrainConfig)


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
    langs = test_languages(curate_dir, spec.name)
    if cfg.languages:
        missing = sorted(set(cfg.languages) - set(langs))
        if missing:
            raise FileNotFoundError(
                f"task {spec.name!r}: no curated test split for {missing} (curated: {langs})"
            )
        langs = [lang for lang in langs if lang in cfg.languages]
    if not langs:
        raise FileNotFoundError(f"task {spec.name!r}: no test.<lang>.jsonl under {curate_dir}")
    source = _encoder_source(cfg, encoder_dir)
    tokenizer = load_tokenizer(source)
    encoder = load_encoder(source)
    tc = cfg.train
    rows_by_lang = {
        lang: read_rows(curate_dir, spec.name, "test", lang, cfg.max_test_samples) for lang in langs
    }
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
        sweep, hits = layer_sweep(
            encoder,
            tokenizer,
            rows_by_lang,
            pooling=cfg.pooling or "mean",
            scoring=cfg.scoring,
            max_length=tc.max_length,
            batch_size=tc.eval_batch_size,
            layers=cfg.layers,
            precision=tc.precision,
            return_hits=True,
        )
        n_layers = (
            encoder.config.num_hidden_layers
            if hasattr(encoder.config, "num_hidden_layers")
            else encoder.config.num_layers
        )
        report = n_layers if cfg.layer is None else cfg.layer % (n_layers + 1)
        if report not in sweep:
            raise ValueError(f"layer {report} is reported but not in the sweep {sorted(sweep)}")
        per_language = sweep[report]
        for lang, items in hits[report].items():  # per item, for the item-level bootstrap
            write_jsonl(out_dir / "predictions" / f"{lang}.jsonl", items)
        metrics = {
            **base,
            "per_language": per_language,
            "layer": report,
            "pooling": cfg.pooling or "mean",
            "scoring": cfg.scoring,
            "layers": {str(k): v for k, v in sweep.items()},
        }
    else:
        train_rows = read_rows(curate_dir, spec.name, "train", limit=tc.max_train_samples)
        dev_rows = read_rows(curate_dir, spec.name, "validation", limit=tc.max_eval_samples)
        feats = featurize(
            train_rows,
            spec.format,
            tokenizer,
            tc.max_length,
            train=True,
            stride=tc.doc_stride,
            name=f"{spec.name}.train",
        )
        model = TaskModel.for_tasks(
            encoder,
            {spec.name: (spec.format, n_labels_of(spec, train_rows))},
            pooling=cfg.pooling or default_pooling(encoder),
            seed=tc.seed,
        )
        eval_kwargs = {
            "task": spec.name,
            "max_length": tc.max_length,
            "stride": tc.doc_stride,
            "batch_size": tc.eval_batch_size,
            "label_names": spec.label_names,
            "precision": tc.precision,
        }

        def evaluate(m) -> dict:
            res = evaluate_languages(
                m,
                tokenizer,
                {"en": dev_rows},
                spec.format,
                spec.metric,
                name=f"{spec.name}.validation",
                **eval_kwargs,
            )
            return {"score": res["en"].metrics[primary], **jsonable(res["en"].metrics)}

        result = train(
            model,
            [TrainTask(spec.name, feats)],
            tc,
            out_dir / "checkpoints",
            pad_id=tokenizer.pad_token_id or 0,
            evaluate=evaluate,
        )
        results = evaluate_languages(
            model,
            tokenizer,
            rows_by_lang,
            spec.format,
            spec.metric,
            name=f"{spec.name}.test",
            **eval_kwargs,
        )
        for lang, res in results.items():
            write_jsonl(out_dir / "predictions" / f"{lang}.jsonl", res.predictions)
        write_curve(out_dir / "curve.csv", result.curve)
        per_language = {lang: jsonable(res.metrics) for lang, res in results.items()}
        metrics = {
            **base,
            "per_language": per_language,
            "dev": result.best_eval,
            "train": {
                "steps": result.steps,
                "best_step": result.best_step,
                "examples": result.examples,
                "train_examples": len(train_rows),
                "seconds": round(result.seconds, 2),
                "tokens_per_s": round(result.tokens_per_s, 1),
            },
        }
    values = [m[primary] for m in per_language.values()]
    others = [m[primary] for lang, m in per_language.items() if lang != "en"]
    metrics["average"] = {primary: sum(values) / len(values)}
    if others:
        metrics["average_excluding_en"] = {primary: sum(others) / len(others)}
    metrics["seconds"] = round(time.perf_counter() - started, 2)
    metrics["config"] = asdict(cfg)
    # key order as in docs/architecture.md
    order = [
        "task",
        "format",
        "primary_metric",
        "intermediate",
        "seed",
        "model",
        "per_language",
        "average",
        "layers",
    ]
    metrics = {**{k: metrics[k] for k in order if k in metrics}, **metrics}
    write_json(out_dir / "metrics.json", metrics)
    return metrics
