"""Dry-run compute estimate: training tokens x tokens per second.

Tokens per run = examples x epochs x max_length (an upper bound: padding to the longest in a
batch is usually shorter). Examples come from the curated manifest when curate is done, else from
the subsampling caps, else from the English training sizes of the hub splits
(``KNOWN_TRAIN_ROWS``, from ``../shared/reference/hub-datasets.md`` and the datasets' papers),
capped by the curate sizes; matched intermediate sizes (``match_sizes`` tokens/steps) take the
smallest task's size for every task. Tokens per second: measured from completed runs of the same stage when
there are some (the same estimator over their wall time), else the profile's ``estimate`` figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .grid import Grid, StageRun, trains_nothing
from .status import DONE, RunStatus
from .study_schema import Study


@dataclass
class Estimate:
    run: StageRun
    tokens: float | None
    seconds: float | None
    source: str  # "measured" | "profile" | "unknown"


def _manifest_rows(curate_dir: Path, task: str, split: str = "train") -> int | None:
    try:
        manifest = json.loads((curate_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found: list[int] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if "rows" in node and isinstance(node["rows"], int) and task in path and split in path:
                found.append(node["rows"])
            for k, v in node.items():
                walk(v, (*path, *str(k).replace("/", " ").split()))

    walk(manifest, ())
    return found[0] if found else None


# English training rows of the hub splits (train split; ANLI+ = SNLI + MNLI + ANLI r1-r3;
# PubMedQA = the 500 of the standard split; ContractNLI-A rounded as the hub viewer shows it;
# SIQA 33,410 and COPA 400 from their papers; PAN-X and UD-POS: the English configs of google/xtreme)
KNOWN_TRAIN_ROWS = {
    "mnli": 392702,
    "qqp": 363846,
    "sst2": 67349,
    "anli_plus": 550152 + 392702 + 162865,
    "squad": 87599,
    "squad_v2": 130319,
    "hellaswag": 39905,
    "cosmosqa": 25262,
    "commonsenseqa": 9741,
    "case_hold": 45000,
    "ledgar": 60000,
    "unfair_tos": 5532,
    "contract_nli": 6820,
    "cuad": 22450,
    "pubmedqa": 500,
    "pubmedqa_artificial": 211269,
    "medmcqa": 182822,
    "scitail": 23097,
    "mednli": 11232,
    "siqa": 33410,
    "copa": 400,
    "pawsx": 49175,
    "panx": 20000,
    "udpos": 21253,
    "multi_eurlex": 55000,
    "tydiqa": 3696,  # English TyDiQA-GoldP train (Clark et al. 2020); google/xtreme mixes 9 languages
}


def _curate_size(study: Study, name: str) -> int | None:
    return getattr(study.curate, name)


def _known_examples(study: Study, run: StageRun, task: str) -> int | None:
    """Examples before curation: the known split size capped by the curate size for the stage."""
    if run.stage == "target":
        from ..tasks.protocol import training_phases

        sizes = [KNOWN_TRAIN_ROWS.get(p.train) for p in training_phases(task)]
        cap = _curate_size(study, "n_target_train")
        return None if None in sizes else sum(min(x, cap or x) for x in sizes)
    cap = _curate_size(study, "n_intermediate")
    rows = KNOWN_TRAIN_ROWS.get(task)
    if rows is None:
        return None
    if _curate_size(study, "match_sizes") in ("tokens", "steps"):  # the smallest sets the budget
        known = [
            KNOWN_TRAIN_ROWS.get(t) for ts in study.intermediate_sources().values() for t in ts
        ]
        rows = min(x for x in known if x) if any(known) else rows
    return min(rows, cap or rows)


def run_tokens(run: StageRun, study: Study, curate_dir: Path) -> float | None:
    if run.stage not in ("intermediate", "target"):
        return None
    cfg = run.config
    if run.stage == "target" and trains_nothing(cfg["task"]):
        return 0.0  # the bare encoder: no training
    tasks = cfg.get("tasks") or [cfg["task"]]
    examples = 0
    for task in tasks:
        n = (
            _manifest_rows(curate_dir, task)
            or cfg.get("max_train_samples")
            or study.curate.max_train_examples
            or _known_examples(study, run, task)
        )
        if n is None:
            return None
        examples += n
    length = cfg.get("max_length") or 128
    if cfg.get("max_steps"):
        return float(
            cfg["max_steps"] * cfg.get("batch_size", 16) * cfg.get("grad_accum", 1) * length
        )
    return float(examples * float(cfg.get("epochs", 1)) * length)


def estimate(
    grid: Grid, study: Study, statuses: list[RunStatus], study_dir: Path
) -> list[Estimate]:
    curate_dir = study_dir / grid.of("curate")[0].stage / grid.of("curate")[0].dirname
    measured: dict[str, tuple[float, float]] = {}
    for st in statuses:
        tokens = run_tokens(st.run, study, curate_dir)
        if st.state == DONE and tokens and st.duration_s:
            tok, sec = measured.get(st.run.stage, (0.0, 0.0))
            measured[st.run.stage] = (tok + tokens, sec + st.duration_s)
    out = []
    for st in statuses:
        if st.state == DONE:
            continue
        tokens = run_tokens(st.run, study, curate_dir)
        if st.run.stage in measured:
            rate, source = measured[st.run.stage][0] / measured[st.run.stage][1], "measured"
        elif st.run.stage in study.estimate.tokens_per_second:
            rate, source = study.estimate.tokens_per_second[st.run.stage], "profile"
        else:
            rate, source = None, "unknown"
        if tokens == 0.0:  # no training (retrieval): evaluation only, not modelled
            out.append(Estimate(st.run, 0.0, 0.0, "no training"))
            continue
        seconds = tokens / rate if tokens and rate else None
        out.append(Estimate(st.run, tokens, seconds, source if seconds else "unknown"))
    return out


def format_estimate(estimates: list[Estimate], study: Study) -> str:
    total_s = sum(e.seconds or 0 for e in estimates)
    gpu_h = sum((e.seconds or 0) / 3600 * (e.run.resources.get("gpus") or 0) for e in estimates)
    tokens = sum(e.tokens or 0 for e in estimates)
    unknown = sum(
        e.seconds is None and e.run.stage in ("intermediate", "target") for e in estimates
    )
    sources = sorted({e.source for e in estimates if e.seconds and e.source != "no training"})
    lines = [
        f"estimate: {len(estimates)} runs to do, {tokens / 1e6:.1f} M training tokens, "
        f"~{total_s / 3600:.2f} h sequential ({', '.join(sources) or 'no'} throughput; training "
        "only, every example counted at max_length, zero-shot evaluation not included)"
    ]
    if gpu_h:
        lines.append(f"          ~{gpu_h:.1f} GPU-hours on {study.estimate.device}")
    if unknown:
        lines.append(
            f"          {unknown} training runs without an estimate (no sizes or throughput)"
        )
    return "\n".join(lines)
