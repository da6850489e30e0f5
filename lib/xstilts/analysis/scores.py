"""XTREME-style scores: primary metric per language, averages over languages, groups, and Δ vs baseline.

All scores are in points (0–100): metrics reported on a 0–1 scale are multiplied by 100.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .results import BASELINE, SEED_FREE_FORMATS

EM_KEYS = ("exact_match", "em", "exact")
GROUPS = {
    "single": "classification",
    "multi_label": "classification",
    "pair": "classification",
    "multiple_choice": "classification",
    "tagging": "structured prediction",
    "qa": "QA",
    "retrieval": "retrieval",
}
GROUP_ORDER = ("classification", "structured prediction", "QA", "retrieval")
# One row per run and language: the intermediate seed and the run are part of the key, so two
# checkpoints of one task (intermediate seeds) are never collapsed into one row.
KEY = [
    "intermediate",
    "intermediate_seed",
    "intermediate_domain",
    "target",
    "language",
    "seed",
    "run",
]
NO_SEED = -1  # stands for the baseline's missing intermediate seed while pivoting


def _points(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    scale = df.groupby(["target", "metric"])["value"].transform(
        lambda v: 100.0 if v.max() <= 1.0 else 1.0
    )
    df["value"] = df["value"] * scale
    return df


def primary_scores(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (intermediate, target, language, seed): ``score`` = the task's primary metric.

    QA scores are (EM + F1) / 2, with ``em`` and ``f1`` kept alongside.
    """
    main = _points(results[results["layer"].isna()])
    main["intermediate_seed"] = main["intermediate_seed"].fillna(NO_SEED)
    out = []
    for (target, fmt, primary), grp in main.groupby(
        ["target", "format", "primary_metric"], dropna=False
    ):
        wide = grp.pivot_table(
            index=KEY + ["intermediate_format"], columns="metric", values="value", aggfunc="first"
        ).reset_index()
        if fmt == "qa":
            em = next((k for k in EM_KEYS if k in wide), None)
            if em is None or "f1" not in wide:
                raise ValueError(
                    f"target {target!r} (qa): need EM ({'/'.join(EM_KEYS)}) and f1, "
                    f"have {sorted(grp['metric'].unique())}"
                )
            wide["em"], wide["f1"] = wide[em], wide["f1"]
            wide["score"] = (wide["em"] + wide["f1"]) / 2
            label = "(EM+F1)/2"
        else:
            if primary not in wide:
                raise ValueError(
                    f"target {target!r}: primary metric {primary!r} missing, "
                    f"have {sorted(grp['metric'].unique())}"
                )
            wide["score"] = wide[primary]
            label = primary
        wide["format"], wide["metric"] = fmt, label
        wide["group"] = GROUPS.get(fmt, "other")
        cols = KEY + ["intermediate_format", "format", "group", "metric", "score"]
        out.append(wide[cols + [c for c in ("em", "f1") if c in wide and fmt == "qa"]])
    if not out:
        return pd.DataFrame(
            columns=KEY + ["intermediate_format", "format", "group", "metric", "score"]
        )
    scores = pd.concat(out, ignore_index=True)
    seeds = scores["intermediate_seed"].astype("Int64")
    scores["intermediate_seed"] = seeds.mask(seeds == NO_SEED)
    return scores


def task_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Average over languages per run (the XTREME task score, English included as XTREME does)."""
    return (
        scores.groupby(
            ["intermediate", "intermediate_seed", "intermediate_domain", "target", "group"]
            + ["metric", "seed", "run"],
            dropna=False,
        )
        .agg(score=("score", "mean"), n_languages=("language", "nunique"))
        .reset_index()
    )


def group_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """XTREME group averages (mean over the group's tasks) and ``overall`` (mean over covered groups),
    per intermediate and seed."""
    per_task = task_scores(scores)
    groups = (
        per_task.groupby(
            ["intermediate", "intermediate_seed", "intermediate_domain", "group", "seed"],
            dropna=False,
        )
        .agg(score=("score", "mean"), n_tasks=("target", "nunique"))
        .reset_index()
    )
    overall = (
        groups.groupby(
            ["intermediate", "intermediate_seed", "intermediate_domain", "seed"], dropna=False
        )
        .agg(score=("score", "mean"), n_tasks=("n_tasks", "sum"))
        .reset_index()
    )
    overall["group"] = "overall"
    return pd.concat([groups, overall], ignore_index=True)


def summary_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd over runs (seed replicates) of each task score and group score."""
    per_task = task_scores(scores).rename(columns={"target": "column"})
    groups = group_scores(scores).rename(columns={"group": "column"})
    both = pd.concat(
        [
            per_task[["intermediate", "column", "seed", "score"]],
            groups[["intermediate", "column", "seed", "score"]],
        ]
    )
    agg = (
        both.groupby(["intermediate", "column"])
        .agg(mean=("score", "mean"), sd=("score", "std"), runs=("score", "count"))
        .reset_index()
    )
    return agg


def deltas(scores: pd.DataFrame) -> pd.DataFrame:
    """Δ = intermediate-trained − bare-pretrained score per (intermediate, target, language, seed):
    the one definition of Δ that every table and figure uses (``hierarchical`` averages these
    replicates; ``tests/test_seeds.py`` checks that the two agree).

    A trained run pairs with the baseline run of its own target seed; a target that trains nothing
    (retrieval) has one baseline run that serves every seed. A trained run without such a baseline
    is dropped, never compared with the baseline's mean over other seeds (``attrs["dropped"]``
    counts them). A crossed design is collapsed to independent pairs (``collapse_crossed``).
    """
    base = scores[scores["intermediate"] == BASELINE]
    if base.empty:
        raise ValueError(
            "no baseline runs (target runs with intermediate = null): cannot compute Δ"
        )
    by_seed = base.groupby(["target", "language", "seed"])["score"].first()
    first_seed = base.groupby("target")["seed"].min()
    trained = scores[scores["intermediate"] != BASELINE].copy()
    seed_free = trained["format"].isin(SEED_FREE_FORMATS).to_numpy()
    base_seed = np.where(seed_free, trained["target"].map(first_seed), trained["seed"])
    key = pd.MultiIndex.from_arrays([trained["target"], trained["language"], base_seed])
    trained["baseline"] = by_seed.reindex(key).to_numpy()
    found = ~trained["baseline"].isna()
    trained = _independent_pairs(trained[found])
    trained["delta"] = trained["score"] - trained["baseline"]
    out = trained.reset_index(drop=True)
    out.attrs["dropped"] = int((~found).sum())
    return out


def _independent_pairs(trained: pd.DataFrame) -> pd.DataFrame:
    """Per (intermediate, target): only the runs that ``collapse_crossed`` keeps."""
    keep = []
    for _, grp in trained.groupby(["intermediate", "target"]):
        pairs = grp.groupby(["intermediate_seed", "seed"], dropna=False)["run"].first()
        keep += list(collapse_crossed(pairs.reset_index())["run"])
    return trained[trained["run"].isin(keep)]


def collapse_crossed(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pairs that make independent replicates. Where a checkpoint (intermediate seed) serves
    several target seeds (a crossed design), the pairs share checkpoints and baselines: the
    matched pairs (s, s) alone are kept, or, where none is matched, a one-to-one pairing of the
    seeds, shifted in order. Otherwise the pairs are kept; several checkpoints under one target
    seed share its baseline and are averaged into one replicate (``hierarchical.replicates``)."""
    inter = pairs["intermediate_seed"]
    if inter.isna().all() or not inter.duplicated().any():
        return pairs
    matched = pairs[inter == pairs["seed"]]
    if len(matched):
        return matched
    # otherwise pair the i-th intermediate seed with the (i + shift)-th target seed, for the
    # first shift whose pairs all ran (each seed then serves one replicate)
    inters, targets = sorted(inter.unique()), sorted(pairs["seed"].unique())
    ran = set(zip(inter, pairs["seed"], strict=True))
    n = min(len(inters), len(targets))
    for shift in range(len(targets)):
        chosen = {(inters[j], targets[(j + shift) % len(targets)]) for j in range(n)}
        if chosen <= ran:
            return pairs[[(i, t) in chosen for i, t in zip(inter, pairs["seed"], strict=True)]]
    return pairs.drop_duplicates("intermediate_seed").drop_duplicates("seed")
