"""Analysis stage: results table, XTREME scores, statistics, figures and tables for one study."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..analysis import explain, family, hierarchical, latex, plots, scores, stats
from ..analysis.reference import protocol_layers, protocol_reference
from ..analysis.report import study_report_dir
from ..analysis.results import BASELINE, build_results, unfinished_grid_runs
from ..configs import AnalysisConfig
from ..io import atomic_path, write_json

log = logging.getLogger(__name__)


EN_IN = "included: XTREME-style average over every language"
EN_OUT = "excluded: mean over the zero-shot (non-English) languages"
EN_ROWS = "per language: see the language column"
# Whether each table's averages include English (the training language), written into its
# ``english`` column so that no table leaves a reader to guess; ``cells`` carries both Δs.
ENGLISH = {
    "scores_per_language": EN_ROWS,
    "task_scores": EN_IN,
    "group_scores": EN_IN,
    "score_summary": EN_IN,
    "protocol_reference": EN_IN,
    "cells": "excluded from delta (zero-shot); included in delta_all_languages",
    "domains": EN_OUT,
    "domain_contrasts": EN_OUT,
    "format_matched_pairs": EN_OUT,
    "domain_match": EN_OUT,
    "deltas": EN_ROWS,
    "per_language": EN_ROWS,
    "similarity": EN_OUT,
    "correlations": EN_OUT,
    "fertility": EN_ROWS,
    "forgetting": EN_ROWS,
    "paper_domain_gains": EN_OUT,
    "paper_table2": EN_OUT + " (the bare-model row as well)",
    "bare_per_language": EN_ROWS,
}
NOT_SCORES = ("languages",)  # the language list itself: no averages


def _write_table(df: pd.DataFrame, table_dir: Path, name: str) -> Path:
    if name not in NOT_SCORES and not df.empty:
        df = df.assign(english=ENGLISH[name])  # KeyError: a new table must say where English is
    path = table_dir / f"{name}.csv"
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return path


def _train_configs(study_dir: Path, results) -> dict[str, dict]:
    """Run -> the training settings its metrics.json records (for the recipe check)."""
    from ..io import read_json

    out = {}
    for run in results.loc[results["intermediate"] == BASELINE, "run"].unique():
        path = study_dir / run / "metrics.json"
        config = read_json(path).get("config", {}) if path.exists() else {}
        out[run] = config.get("train") or {}
    return out


def _score_part(study_dir, results, per_lang, per_task, langs) -> _Part:
    """The score tables (per language, task, group; the protocol reference) and the seed spread
    (left out where no cell has two seeds: one dot per column shows no spread)."""
    part = _Part(
        tables={
            "scores_per_language": per_lang,
            "task_scores": per_task,
            "group_scores": scores.group_scores(per_lang),
            "score_summary": scores.summary_table(per_lang),
            "protocol_reference": protocol_reference(results, _train_configs(study_dir, results)),
            "languages": langs,
        },
        notes=results.attrs.get("notes", [])
        + [f"{r.iso}: {r.note}" for r in langs.itertuples() if r.note],
    )
    if per_task.groupby(["intermediate", "target"])["seed"].nunique().max() > 1:
        part.figures["seed_spread"] = plots.seed_spread(per_task)
    if not (per_lang["intermediate"] != BASELINE).any():  # the bare model is the answer
        part.tables["bare_per_language"] = bare_per_language(per_lang)
        part.figures["scores_per_language"] = plots.language_bars(per_lang, langs, "score")
    return part


def bare_per_language(per_lang: pd.DataFrame) -> pd.DataFrame:
    """A study without intermediates: the bare model's score per target and language, mean and
    SD over seeds."""
    keys = ["target", "metric", "language"]
    return (
        per_lang.groupby(keys)["score"]
        .agg(score="mean", sd_seeds="std", n_seeds="count")
        .reset_index()
    )


def run(
    config: AnalysisConfig | dict | None, study_dir: str | Path, report_dir: str | Path
) -> dict[str, Any]:
    """Analyse ``study_dir``; write figures/tables under ``report_dir/<study>/``; return a summary."""
    cfg = config if isinstance(config, AnalysisConfig) else AnalysisConfig.from_dict(config)
    study_dir = Path(study_dir)
    out_dir = study_report_dir(study_dir, report_dir)
    fig_dir, table_dir = out_dir / "figures", out_dir / "tables"
    results = build_results(study_dir)
    if results.empty:
        raise ValueError(
            f"{study_dir}: no finished target runs (target/<run>/DONE with metrics.json)"
        )
    per_lang = scores.primary_scores(results)
    per_task = scores.task_scores(per_lang)
    langs = explain.language_table(results["language"].unique())
    parts = [_score_part(study_dir, results, per_lang, per_task, langs)]
    cells, delta_parts = _deltas(cfg, study_dir, results, per_lang, langs)
    parts += delta_parts
    tables = {k: v for p in parts for k, v in p.tables.items()}
    correlations = [p.correlations for p in parts if p.correlations is not None]
    if correlations:
        tables["correlations"] = pd.concat(correlations, ignore_index=True)
    parts.append(_forgetting(results))
    tables |= parts[-1].tables
    tables |= _paper_tables(tables.get("domains"), cells, per_lang, table_dir)
    figures = {k: plots.save(fig, k, fig_dir) for p in parts for k, fig in p.figures.items()}
    table_paths = {name: _write_table(df, table_dir, name) for name, df in tables.items()}
    unfinished = unfinished_grid_runs(study_dir)
    summary = {
        "study": study_dir.name,
        "n_target_runs": int(results["run"].nunique()),
        "intermediates": sorted(set(results["intermediate"]) - {BASELINE}),
        "targets": sorted(results["target"].unique()),
        "seeds": sorted(int(s) for s in results["seed"].dropna().unique()),
        "languages": sorted(results["language"].unique()),
        "alpha": cfg.alpha,
        "confirmatory": list(cfg.confirmatory),
        "correction": cfg.correction,
        "unfinished_runs": unfinished,
        "headline": _interim_line(unfinished)
        + (
            bare_sentences(tables["bare_per_language"])
            if "bare_per_language" in tables
            else headline(
                cells,
                tables.get("domains"),
                tables.get("domain_contrasts"),
                cfg.alpha,
                tables.get("domain_match"),
                cfg,
            )
        ),
        "notes": [n for p in parts for n in p.notes],
        "figures": {
            k: {e: str(p.relative_to(out_dir)) for e, p in v.items()} for k, v in figures.items()
        },
        "tables": {k: str(p.relative_to(out_dir)) for k, p in table_paths.items()},
    }
    write_json(out_dir / "summary.json", summary)
    return summary


def _deltas(cfg, study_dir: Path, results, per_lang, langs) -> tuple[pd.DataFrame, list]:
    """The cells (Δ per intermediate × target with intervals over seeds) and what is built on
    them: domain tables and contrasts, per-language Δs, the heatmap, similarity and fertility."""
    has_baseline = (per_lang["intermediate"] == BASELINE).any()
    has_trained = (per_lang["intermediate"] != BASELINE).any()
    if not has_baseline or not has_trained:
        found = "baseline" if has_baseline else "intermediate-trained"
        note = (
            f"Δ needs both baseline and intermediate-trained target runs; only {found} runs found"
        )
        return pd.DataFrame(), [_Part(notes=[note])]
    d = scores.deltas(per_lang)
    notes = []
    if d.attrs["dropped"]:
        notes.append(
            f"{d.attrs['dropped']} trained score(s) have no baseline run of the same target seed "
            "and are left out of every Δ"
        )
    cells, boots = hierarchical.cell_table(study_dir, per_lang)
    confounds = _design_confounds(study_dir)
    cells["design_confound"] = [(r.intermediate, r.target) in confounds for r in cells.itertuples()]
    notes += [f"Design confound: {note}" for note in sorted(set(confounds.values()))]
    domains, contrasts = hierarchical.domain_tables(cells, boots)
    n_seeds = _range(cells["n_seeds"])
    n_langs = _range(cells["n_languages"])
    compared = {
        "cells": cells,
        "domains": domains,
        "domain_contrasts": contrasts,
        "format_matched_pairs": hierarchical.format_matched(cells, boots),
        "domain_match": hierarchical.domain_match(cells, boots, _target_domains(cells)),
    }
    family.mark(compared, cfg.confirmatory, cfg.correction)
    main = _Part(
        tables={"deltas": d, "per_language": hierarchical.per_language(d), **compared},
        figures={
            "heatmap_delta": plots.heatmap(cells, n_seeds, n_langs),
            "delta_per_language": plots.language_bars(d, langs),
        },
        notes=notes,
    )
    similarity = _similarity(study_dir, cells, n_seeds)
    fertility = _fertility(cfg, study_dir, results, d, n_seeds)
    return cells, [main, similarity, fertility]


def _design_confounds(study_dir: Path) -> dict[tuple[str, str], str]:
    """(intermediate task, target) -> why it is a design confound, from the curate manifest
    (``data/confounds.py``: the intermediate is the target's own English training source)."""
    from ..analysis.results import finished_runs
    from ..io import read_json

    out = {}
    for run in finished_runs(study_dir, "curate"):
        path = run / "manifest.json"
        for c in read_json(path).get("confounds", []) if path.exists() else []:
            out[(c["intermediate"], c["target"])] = c["note"]
    return out


def _forgetting(results) -> _Part:
    """Retrieval accuracy per layer before and after intermediate training (where any ran)."""
    forget = explain.forgetting(results)
    if forget.empty:
        return _Part()
    marks = protocol_layers(results)
    return _Part(
        tables={"forgetting": forget},
        figures={"retrieval_layers": plots.retrieval_layers(forget, marks)},
    )


def _range(values: pd.Series) -> str:
    lo, hi = int(values.min()), int(values.max())
    return str(lo) if lo == hi else f"{lo}–{hi}"


@dataclass
class _Part:
    """Tables, figures, a correlations frame and notes that one explanatory analysis adds."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    correlations: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


DESCRIPTIVE = "exploratory, descriptive: no p-value (the points share models and items)"


def _similarity(study_dir, cells, n_seeds) -> _Part:
    """Spearman ρ of Δ against domain similarity, per target (intermediates as points): targets
    differ in metric and text, so they are never pooled, and with a handful of intermediates that
    share the target's models and items a p-value would overstate what is known."""
    sim = explain.domain_similarity(study_dir)
    if sim.empty:
        return _Part(notes=[f"domain similarity: {sim.attrs.get('note', 'unavailable')}"])
    merged = cells.merge(sim, on=["intermediate", "target"], how="inner")
    rows = []
    for target, grp in merged.groupby("target"):
        for measure in ("jaccard", "jsd"):
            rho, _, n = stats.spearman(grp[measure], grp["delta"])
            x = f"domain similarity ({measure}, English, one token budget), intermediates → {target}"
            rows.append({"x": x, "target": target, "rho": rho, "n": n, "kind": DESCRIPTIVE})
    corr = pd.DataFrame(rows)
    part = _Part({"similarity": merged}, correlations=corr)
    if len(merged) >= 3:
        part.figures["delta_vs_similarity"] = plots.similarity_scatter(
            merged,
            "jaccard",
            corr[corr["x"].str.contains("jaccard")],
            n_seeds,
            "subword Jaccard, English intermediate vs English target text (one token budget)",
        )
    return part


def _fertility(cfg, study_dir, results, d, n_seeds) -> _Part:
    if not cfg.fertility:
        return _Part()
    model = cfg.model or results["model"].mode().iloc[0]
    try:
        fert = explain.study_fertility(study_dir, model, cfg.fertility_max_rows)
    except Exception as err:  # tokenizer unavailable offline etc.: explain, don't fail the stage
        return _Part(notes=[f"fertility skipped: cannot tokenise with {model!r} ({err})"])
    if fert.empty:
        return _Part(notes=[f"fertility: {fert.attrs.get('note', 'no texts')}"])
    zero_shot = d[d["language"] != "en"]
    keys = ["target", "intermediate", "language"]
    per = zero_shot.groupby(keys)["delta"].mean().rename("delta").reset_index()
    merged = per.merge(fert[["language", "fertility"]], on="language", how="inner")
    rows = []  # per target and intermediate: their metrics and effects differ, never pooled
    for (target, inter), grp in merged.groupby(["target", "intermediate"]):
        rho, _, n = stats.spearman(grp["fertility"], grp["delta"])
        x = f"fertility (subwords per character), {inter} → {target}, languages as points"
        rows.append(
            {
                "x": x,
                "target": target,
                "intermediate": inter,
                "rho": rho,
                "n": n,
                "kind": DESCRIPTIVE,
            }
        )
    corr = pd.DataFrame(rows)
    part = _Part({"fertility": fert}, correlations=corr)
    if not corr.empty and (corr["n"] >= 3).any():
        part.figures["delta_vs_fertility"] = plots.fertility_scatter(
            merged, corr, f"fertility of {model} (subwords per non-space character)"
        )
    return part


def bare_sentences(bare: pd.DataFrame) -> list[str]:
    """The answer of a study without intermediate runs: per target, the bare model's zero-shot
    average, English beside it, and its best and worst languages."""
    out = ["No intermediate runs: this study measures the bare model (no Δ to compute)."]
    for target, frame in bare.groupby("target"):
        zero = frame[~frame["language"].isin(hierarchical.ZERO_SHOT_EXCLUDES)]
        zero = zero if not zero.empty else frame
        english = frame.loc[frame["language"] == "en", "score"]
        best, worst = zero.loc[zero["score"].idxmax()], zero.loc[zero["score"].idxmin()]
        seeds = _range(frame["n_seeds"])
        out.append(
            f"{target} ({frame['metric'].iloc[0]}): {zero['score'].mean():.2f} points averaged "
            f"over {len(zero)} non-English language(s)"
            + (f" (English {english.iloc[0]:.2f})" if len(english) else "")
            + f", from {best['language']} {best['score']:.2f} down to {worst['language']} "
            f"{worst['score']:.2f}; {seeds} seed(s)."
        )
    return out


def _interim_line(unfinished: list[str]) -> list[str]:
    if not unfinished:
        return []
    shown = ", ".join(unfinished[:4]) + (
        f" and {len(unfinished) - 4} more" if len(unfinished) > 4 else ""
    )
    return [
        f"Interim report: {len(unfinished)} run(s) of the study have not finished ({shown}). "
        "Every number below comes from the finished runs alone and will change when they finish."
    ]


def _fmt_ci(row) -> str:
    if not np.isfinite(row["ci_low"]):
        return "no CI"
    return f"95% CI {row['ci_low']:+.2f} to {row['ci_high']:+.2f}"


def _fmt_p(row) -> str:
    if not np.isfinite(row["p"]):
        return "no test"
    label = "" if row.get("family") != family.EXPLORATORY else "exploratory, "
    if row["p_method"] not in ("t over seeds", hierarchical.CROSSED):
        return f"{label}{row['p_method']} p = {row['p']:.3g}"
    what = (
        "t over the seed replicates" if row["p_method"] == "t over seeds" else hierarchical.CROSSED
    )
    out = f"{label}{what} p = {row['p']:.3g}"
    if np.isfinite(row.get("p_boot", np.nan)):  # the bootstrap beside it (hierarchical.summarise)
        floor = row["p_boot"] <= 1 / hierarchical.N_BOOT
        out += f"; bootstrap p {'≤' if floor else '='} {row['p_boot']:.2g}"
    return out


def _sure(row) -> str:
    if stats.excludes_zero(row["ci_low"], row["ci_high"]):
        return "the CI excludes 0"
    mde = row.get("mde", np.nan)
    detectable = f"; not detected: MDE {mde:.2f} points at 80 % power" if np.isfinite(mde) else ""
    return "the CI includes 0" + detectable


def headline(
    cells: pd.DataFrame,
    domains: pd.DataFrame | None,
    contrasts: pd.DataFrame | None,
    alpha: float = 0.05,
    match: pd.DataFrame | None = None,
    cfg: AnalysisConfig | None = None,
) -> list[str]:
    """Plain sentences, written from the numbers: which domain helped which target, how much, how
    sure. Per target only: targets have different metrics, so they are never averaged together."""
    if cells is None or cells.empty:
        return [
            "No Δ could be computed: the study needs baseline and intermediate-trained target runs."
        ]
    seeds, methods = _range(cells["n_seeds"]), sorted(set(cells["method"]))
    out = [
        f"Δ is the zero-shot gain over the bare model in points, averaged over the non-English "
        f"languages of each target (English, the training language, is excluded; the XTREME-style "
        f"average with English is in the table). Intervals and p-values come from {seeds} seed "
        f"replicate(s) per cell: {'; '.join(methods)}."
    ]
    if domains is not None and not domains.empty:
        out += _domain_sentences(cells, domains)
    cfg = cfg or AnalysisConfig(alpha=alpha)
    out.append(_significance_sentence(cells, match, alpha, cfg))
    out += _contrast_sentences(contrasts, match)
    return out


def _domain_sentences(cells: pd.DataFrame, domains: pd.DataFrame) -> list[str]:
    """One sentence per (domain, target): what the domain's intermediates did, how sure."""
    out = []
    n_langs = cells.groupby("target")["n_languages"].max()
    for r in domains.sort_values(["target", "delta"], ascending=[True, False]).to_dict("records"):
        verb = "raised" if r["delta"] >= 0.005 else "lowered" if r["delta"] <= -0.005 else None
        change = (
            f"{verb} zero-shot transfer on {r['target']} by {abs(r['delta']):.2f} points"
            if verb
            else f"left zero-shot transfer on {r['target']} unchanged (Δ {r['delta']:+.2f})"
        )
        alone = "; one task stands for the domain, so this is that task's effect"
        alone = alone if r["n_tasks"] < 2 else ""
        out.append(
            f"{r['domain'].capitalize()} intermediate training ({r['n_tasks']} task(s): "
            f"{r['tasks']}) {change} over {n_langs[r['target']]} language(s) "
            f"({_fmt_ci(r)}; {_sure(r)}{alone})."
        )
    return out


def _significance_sentence(cells, match, alpha: float, cfg: AnalysisConfig) -> str:
    """What the confirmatory family (declared in the study, corrected together) found."""
    named = {"cells": cells, "domain_match": match}
    rows = [
        (name, r)
        for name, df in named.items()
        if df is not None and not df.empty and "q" in df
        for r in df[family.significant(df, alpha)].itertuples()
    ]
    size = sum(
        int(df["p"].notna().sum())
        for name, df in named.items()
        if name in cfg.confirmatory and df is not None and not df.empty
    )
    how = "Holm" if cfg.correction == "holm" else "Benjamini–Hochberg"
    family_text = (
        f"the confirmatory family ({', '.join(cfg.confirmatory)}: {size} tests, {how}, q < {alpha})"
    )
    if not rows:
        return f"Nothing in {family_text} is significant." + _untested(cells)
    parts = [
        (f"{r.intermediate} → {r.target}" if name == "cells" else f"domain match on {r.target}")
        + f" ({r.delta:+.2f}, q = {r.q:.3g})"
        for name, r in rows
    ]
    return f"{len(rows)} of {family_text} significant: " + "; ".join(parts) + "." + _untested(cells)


def _untested(cells: pd.DataFrame) -> str:
    """Cells without a test (one replicate and no item scores) are named, not counted."""
    none = cells[cells["p"].isna()]
    if none.empty:
        return ""
    names = ", ".join(f"{r.intermediate} → {r.target}" for r in none.itertuples())
    return f" Not tested (one seed replicate, no item scores): {names}."


def _contrast_sentences(contrasts: pd.DataFrame | None, match: pd.DataFrame | None) -> list[str]:
    """Domain and task contrasts, and the matched-domain comparison, each with its interval."""
    out = []
    for r in (contrasts if contrasts is not None else pd.DataFrame()).to_dict("records"):
        caveat = (
            ""
            if r["kind"] == "domain contrast"
            else f" One task per side ({r['tasks_a']} vs {r['tasks_b']}): this contrasts tasks, "
            "not domains."
        )
        out.append(
            f"{r['kind'].capitalize()} {r['contrast']} on {r['target']}: "
            f"{r['delta']:+.2f} points ({_fmt_ci(r)}, {_fmt_p(r)}).{caveat}"
        )
    for r in (match if match is not None else pd.DataFrame()).to_dict("records"):
        out.append(
            f"Matching domains on {r['target']} ({r['target_domain']}): intermediates of its own "
            f"domain ({r['matched']}) minus the others ({r['others']}): {r['delta']:+.2f} points "
            f"({_fmt_ci(r)}, {_fmt_p(r)})."
        )
    return out


def _target_domains(cells: pd.DataFrame) -> dict[str, str]:
    from ..tasks import get_task

    return {str(t): get_task(str(t)).domain for t in cells["target"].unique()}


def _paper_tables(domains, cells, per_lang, table_dir: Path) -> dict[str, pd.DataFrame]:
    """The paper's main tables, also as LaTeX (booktabs): ``<name>.tex`` beside ``<name>.csv``."""
    out = {}
    for name, df, caption in (
        (
            "paper_domain_gains",
            latex.domain_gains(domains),
            "Zero-shot gain (points, non-English languages) per intermediate domain and target, "
            "95 % interval over seeds (and test items, crossed, where items are scored).",
        ),
        (
            "paper_table2",
            latex.phang_table2(cells, per_lang),
            "Bare-model score and zero-shot gain per intermediate task over the non-English "
            "languages (layout of Phang et al. 2020, Table 2; English excluded in every row).",
        ),
    ):
        if df.empty:
            continue
        with atomic_path(table_dir / f"{name}.tex") as tmp:
            tmp.write_text(latex.booktabs(df, caption, f"tab:{name}"), encoding="utf-8")
        out[name] = df
    return out
