"""Analysis stage: results table, XTREME scores, statistics, figures and tables for one study."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import explain, plots, scores, stats
from ..analysis.results import BASELINE, build_results
from ..io import atomic_path, write_json
from ._common import config_from_dict

log = logging.getLogger(__name__)


@dataclass
class AnalysisConfig:
    alpha: float = 0.05  # FDR level for the ★ and the headline
    fertility: bool = True  # tokenise curated test texts with the study's tokenizer
    fertility_max_rows: int = 200  # rows per language file used for fertility
    model: str | None = None  # tokenizer for fertility; default: the model of the target runs

    @classmethod
    def from_dict(cls, raw: dict | None) -> AnalysisConfig:
        return config_from_dict(cls, raw, "analysis config")


def study_report_dir(study_dir: str | Path, report_dir: str | Path) -> Path:
    return Path(report_dir) / Path(study_dir).name


def _write_table(df: pd.DataFrame, table_dir: Path, name: str) -> Path:
    path = table_dir / f"{name}.csv"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return path


def run(
    config: AnalysisConfig | dict | None, study_dir: str | Path, report_dir: str | Path
) -> dict[str, Any]:
    """Analyse ``study_dir``; write figures/tables under ``report_dir/<study>/``; return a summary."""
    cfg = config if isinstance(config, AnalysisConfig) else AnalysisConfig.from_dict(config)
    study_dir = Path(study_dir)
    out_dir = study_report_dir(study_dir, report_dir)
    fig_dir, table_dir = out_dir / "figures", out_dir / "tables"
    notes: list[str] = []

    results = build_results(study_dir)
    notes += results.attrs.get("notes", [])
    if results.empty:
        raise ValueError(
            f"{study_dir}: no finished target runs (target/<run>/DONE with metrics.json)"
        )
    per_lang = scores.primary_scores(results)
    per_task = scores.task_scores(per_lang)
    tables: dict[str, pd.DataFrame] = {
        "scores_per_language": per_lang,
        "task_scores": per_task,
        "group_scores": scores.group_scores(per_lang),
        "score_summary": scores.summary_table(per_lang),
    }
    langs = explain.language_table(results["language"].unique())
    notes += [f"{r.iso}: {r.note}" for r in langs.itertuples() if r.note]
    tables["languages"] = langs
    figures: dict[str, dict[str, Path]] = {}
    figures["seed_spread"] = plots.save(plots.seed_spread(per_task), "seed_spread", fig_dir)

    cells = pd.DataFrame()
    has_baseline = (per_lang["intermediate"] == BASELINE).any()
    has_trained = (per_lang["intermediate"] != BASELINE).any()
    if not has_baseline or not has_trained:
        notes.append(
            "Δ needs both baseline and intermediate-trained target runs; only "
            + ("baseline" if has_baseline else "intermediate-trained")
            + " runs found"
        )
    else:
        d = scores.deltas(per_lang)
        if not d["paired"].all():
            notes.append(
                f"{int((~d['paired']).sum())} Δ values use the baseline's seed mean (no matching seed)"
            )
        cells = stats.cell_tests(d)
        domains, contrasts = stats.domain_contrasts(d)
        tables |= {
            "deltas": d,
            "cells": cells,
            "domains": domains,
            "domain_contrasts": contrasts,
            "format_matched_pairs": stats.format_matched_pairs(d),
        }
        n_seeds = int(d["seed"].nunique())
        n_langs = _range(cells["n_languages"])
        figures["heatmap_delta"] = plots.save(
            plots.heatmap(cells, n_seeds, n_langs), "heatmap_delta", fig_dir
        )
        figures["delta_per_language"] = plots.save(
            plots.language_bars(d, langs), "delta_per_language", fig_dir
        )
        _similarity(study_dir, cells, n_seeds, tables, figures, notes, fig_dir)
        _fertility(cfg, study_dir, results, d, n_seeds, tables, figures, notes, fig_dir)

    forget = explain.forgetting(results)
    if not forget.empty:
        tables["forgetting"] = forget
        figures["retrieval_layers"] = plots.save(
            plots.retrieval_layers(forget), "retrieval_layers", fig_dir
        )

    table_paths = {name: _write_table(df, table_dir, name) for name, df in tables.items()}
    summary = {
        "study": study_dir.name,
        "n_target_runs": int(results["run"].nunique()),
        "intermediates": sorted(set(results["intermediate"]) - {BASELINE}),
        "targets": sorted(results["target"].unique()),
        "seeds": sorted(int(s) for s in results["seed"].dropna().unique()),
        "languages": sorted(results["language"].unique()),
        "alpha": cfg.alpha,
        "headline": headline(
            cells, tables.get("domains"), tables.get("domain_contrasts"), cfg.alpha
        ),
        "notes": notes,
        "figures": {
            k: {e: str(p.relative_to(out_dir)) for e, p in v.items()} for k, v in figures.items()
        },
        "tables": {k: str(p.relative_to(out_dir)) for k, p in table_paths.items()},
    }
    write_json(out_dir / "summary.json", summary)
    return summary


def _range(values: pd.Series) -> str:
    lo, hi = int(values.min()), int(values.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


def _similarity(study_dir, cells, n_seeds, tables, figures, notes, fig_dir) -> None:
    sim = explain.domain_similarity(study_dir)
    if sim.empty:
        notes.append(f"domain similarity: {sim.attrs.get('note', 'unavailable')}")
        return
    merged = cells.merge(sim, on=["intermediate", "target"], how="inner")
    rows = []
    for measure in ("jaccard", "jsd"):
        rho, p, n = stats.spearman(merged[measure], merged["delta"])
        rows.append({"x": f"domain similarity ({measure})", "rho": rho, "p": p, "n": n})
    tables["similarity"] = merged
    tables["correlations"] = pd.DataFrame(rows)
    if len(merged) >= 3:
        rho, p = rows[0]["rho"], rows[0]["p"]
        fig = plots.similarity_scatter(
            merged,
            "jaccard",
            rho,
            p,
            n_seeds,
            "subword Jaccard (intermediate train vs target test)",
        )
        figures["delta_vs_similarity"] = plots.save(fig, "delta_vs_similarity", fig_dir)


def _fertility(cfg, study_dir, results, d, n_seeds, tables, figures, notes, fig_dir) -> None:
    if not cfg.fertility:
        return
    model = cfg.model or results["model"].mode().iloc[0]
    try:
        fert = explain.study_fertility(study_dir, model, cfg.fertility_max_rows)
    except Exception as err:  # tokenizer unavailable offline etc.: explain, don't fail the stage
        notes.append(f"fertility skipped: cannot tokenise with {model!r} ({err})")
        return
    if fert.empty:
        notes.append(f"fertility: {fert.attrs.get('note', 'no texts')}")
        return
    tables["fertility"] = fert
    per = d.groupby(["target", "language"])["delta"].mean().rename("delta").reset_index()
    merged = per.merge(fert[["language", "fertility"]], on="language", how="inner")
    rho, p, n = stats.spearman(merged["fertility"], merged["delta"])
    corr = tables.get("correlations", pd.DataFrame(columns=["x", "rho", "p", "n"]))
    tables["correlations"] = pd.concat(
        [corr, pd.DataFrame([{"x": "fertility (subwords/word)", "rho": rho, "p": p, "n": n}])],
        ignore_index=True,
    )
    if n >= 3 and np.isfinite(rho):
        fig = plots.similarity_scatter(
            merged, "fertility", rho, p, n_seeds, f"fertility of {model} (subwords per word)"
        )
        figures["delta_vs_fertility"] = plots.save(fig, "delta_vs_fertility", fig_dir)


def _fmt_ci(row) -> str:
    if not np.isfinite(row["ci_low"]):
        return "no CI"
    return f"95% CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}, {row['ci_method']}"


def headline(
    cells: pd.DataFrame,
    domains: pd.DataFrame | None,
    contrasts: pd.DataFrame | None,
    alpha: float = 0.05,
) -> list[str]:
    """Plain sentences, written from the numbers: which domain helped which target, how much, how sure."""
    if cells is None or cells.empty:
        return [
            "No Δ could be computed: the study needs baseline and intermediate-trained target runs."
        ]
    out = []
    if domains is not None and not domains.empty:
        # per target: targets measure different things (accuracy, retrieval), so their average
        # would mix units; "all" is used only when the study has a single target
        per_target = domains[domains["target"] != "all"]
        per_target = per_target if not per_target.empty else domains
        per_target = per_target.sort_values(["target", "delta"], ascending=[True, False])
        for r in per_target.to_dict("records"):
            verb = "raised" if r["delta"] > 0 else "lowered"
            sure = (
                "the CI excludes 0"
                if np.isfinite(r["ci_low"]) and (r["ci_low"] > 0 or r["ci_high"] < 0)
                else "the CI includes 0"
            )
            out.append(
                f"{r['domain'].capitalize()} intermediate training ({r['n_tasks']} task(s)) {verb} "
                f"zero-shot transfer on {r['target']} by {abs(r['delta']):.2f} points on average "
                f"over {r['n_units']} languages ({_fmt_ci(r)}; {sure})."
            )
    sig = cells[cells["q"] < alpha]
    n_lang = int(cells["n_languages"].min())
    if sig.empty:
        floor = 2 / 2**n_lang
        out.append(
            f"No intermediate × target cell is significant after Benjamini–Hochberg correction "
            f"over {len(cells)} tests (q < {alpha}); with {n_lang} languages per test the "
            f"smallest attainable exact permutation p is {floor:.3g}."
        )
    else:
        parts = [
            f"{r.intermediate} → {r.target} ({r.delta:+.2f}, q = {r.q:.3g})"
            for r in sig.sort_values("delta", ascending=False).itertuples()
        ]
        out.append(
            f"{len(sig)} of {len(cells)} intermediate × target cells are significant after "
            f"Benjamini–Hochberg (q < {alpha}): " + "; ".join(parts) + "."
        )
    best, worst = cells.loc[cells["delta"].idxmax()], cells.loc[cells["delta"].idxmin()]
    out.append(
        f"Largest gain: {best['intermediate']} ({best['intermediate_domain']}) → {best['target']} "
        f"{best['delta']:+.2f} points ({_fmt_ci(best)}, q = {best['q']:.3g}); largest loss: "
        f"{worst['intermediate']} ({worst['intermediate_domain']}) → {worst['target']} "
        f"{worst['delta']:+.2f} points ({_fmt_ci(worst)}, q = {worst['q']:.3g})."
    )
    if contrasts is not None and not contrasts.empty:
        scoped = contrasts[contrasts["target"] != "all"]
        for r in (scoped if not scoped.empty else contrasts).to_dict("records"):
            if {"general"} & {r["a"], r["b"]} or {r["a"], r["b"]} == {"legal", "biomedical"}:
                out.append(
                    f"Contrast {r['contrast']} on {r['target']}: {r['difference']:+.2f} points "
                    f"({_fmt_ci(r)}, "
                    f"permutation p = {r['p_perm']:.3g}, n = {r['n_units']})."
                )
    return out
