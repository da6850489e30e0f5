"""The protocol each target ran under, and the published number beside the measured baseline.

A reader checks here, before trusting any Δ, that the baseline reproduces: the measured bare-model
score (mean over the study's languages and seeds, in points) beside the published one for the
same model (``xstilts.tasks.protocol``: Hu et al. 2020, Table 2, XLM-R large). The two are
comparable only when the study covered every language of the target's protocol and its baseline
was trained as xtreme's scripts train it (``xstilts.tasks.xtreme_recipes``, the ``xtreme``
profile); the table says which, and how a run departs from the recipe.
"""

from __future__ import annotations

import pandas as pd

from ..languages import BENCHMARK_LANGUAGES
from ..metrics.registry import primary_key
from ..tasks.protocol import PROTOCOLS, published, retrieval_layer
from ..tasks.xtreme_recipes import MODEL as XTREME_MODEL
from ..tasks.xtreme_recipes import RECIPES, deviations
from .results import BASELINE

SOURCE = "Hu et al. 2020 (XTREME), Table 2"


def _training(task: str) -> str:
    phases = PROTOCOLS[task].phases
    if not phases:
        return "none (bare encoder)"
    return " then ".join(f"{p.train} (dev: {p.dev})" for p in phases)


def _retrieval(task: str, model: str) -> str:
    ret = PROTOCOLS[task].retrieval
    if ret is None:
        return ""
    layer = retrieval_layer(task, model)
    where = f"hidden_states[{layer}]" if layer is not None else "last layer (no XTREME setting)"
    return f"{ret.pooling} pooling, {where}, {ret.direction}"


def _recipe(target: str, runs, train_configs: dict[str, dict] | None) -> tuple[str, bool]:
    """(what the table says of the baseline's training, whether it follows xtreme's recipe)."""
    recipe = RECIPES.get(target)
    if recipe is None:
        return "no training", True
    if train_configs is None:
        return "not checked", False
    found = sorted({d for run in runs for d in deviations(target, train_configs.get(run, {}))})
    if not found:
        return f"xtreme {recipe.script}", True
    return "differs from xtreme " + recipe.script + ": " + "; ".join(found), False


def protocol_reference(
    results: pd.DataFrame, train_configs: dict[str, dict] | None = None
) -> pd.DataFrame:
    """One row per protocol target of the study (empty when there is none). ``train_configs``:
    run -> the ``TrainConfig`` its metrics.json records (None: the recipe is not checked, and
    nothing is called comparable)."""
    main = results[(results["intermediate"] == BASELINE) & results["layer"].isna()]
    rows = []
    for target, grp in main.groupby("target"):
        if target not in PROTOCOLS:
            continue
        proto, model = PROTOCOLS[target], str(grp["model"].iloc[0])
        values = grp[grp["metric"] == primary_key(proto.metric)]
        langs = sorted(values["language"].unique())
        ref = published(target, model)
        recipe, follows = _recipe(target, grp["run"].unique(), train_configs)
        rows.append(
            {
                "target": target,
                "benchmark": proto.benchmark,
                "metric": proto.metric,
                "training": _training(target),
                "recipe": recipe,
                "retrieval": _retrieval(target, model),
                "languages": f"{len(langs)} of {len(proto.languages)}",
                **_benchmark_averages(str(target), values),
                "published": ref,
                "published_source": SOURCE if ref is not None else "",
                "comparable": ref is not None
                and set(BENCHMARK_LANGUAGES.get(str(target), {}).get("XTREME", ())) <= set(langs)
                and follows
                and model == XTREME_MODEL,
            }
        )
    return pd.DataFrame(rows)


def _benchmark_averages(target: str, values: pd.DataFrame) -> dict:
    """The bare model's mean (over each seed's languages, then seeds; points) over the XTREME
    and the XTREME-R language set of ``target``, with how many of each set the study covered.
    ``baseline_measured`` is the XTREME one: what Hu et al.'s Table 2 reports."""
    out = {}
    for bench, column in (("XTREME", "xtreme"), ("XTREME-R", "xtremer")):
        wanted = BENCHMARK_LANGUAGES.get(target, {}).get(bench)
        if wanted is None:
            out |= {f"{column}_languages": "not in " + bench, f"baseline_{column}": None}
            continue
        part = values[values["language"].isin(wanted)]
        per_seed = part.groupby("seed")["value"].mean() * 100.0
        out |= {
            f"{column}_languages": f"{part['language'].nunique()} of {len(wanted)}",
            f"baseline_{column}": round(float(per_seed.mean()), 2) if len(per_seed) else None,
        }
    out["baseline_measured"] = out["baseline_xtreme"]
    return out


def protocol_layers(results: pd.DataFrame) -> dict[str, int]:
    """Target -> the protocol's retrieval layer for the study's model (targets that have one)."""
    marks = {}
    for target, grp in results[results["layer"].notna()].groupby("target"):
        layer = retrieval_layer(str(target), str(grp["model"].iloc[0]))
        if layer is not None:
            marks[str(target)] = layer
    return marks
