"""Figures (seaborn / matplotlib, Agg). Every figure names its seeds, languages and tests."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .results import BASELINE  # noqa: E402

ALPHA = 0.05
DOMAIN_ORDER = ("general", "legal", "biomedical", "hospitality", "commerce", "other", "unknown")


def save(fig, name: str, figure_dir: str | Path) -> dict[str, Path]:
    """Write ``<name>.png`` (150 dpi) and ``<name>.svg``; close the figure."""
    figure_dir = Path(figure_dir)
    figure_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for ext in ("png", "svg"):
        path = figure_dir / f"{name}.{ext}"
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format=ext, dpi=150, bbox_inches="tight", metadata=_metadata(ext))
        tmp.replace(path)
        out[ext] = path
    plt.close(fig)
    return out


def show(fig) -> None:
    """Display ``fig`` in a notebook as PNG and close it. The module draws with Agg (headless,
    the same pixels everywhere), under which IPython has no figure formatter of its own."""
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    display(Image(buffer.getvalue()))


def _metadata(ext: str) -> dict:
    # deterministic files: no creation dates
    return {"Date": None} if ext == "svg" else {"Software": None}


def intermediate_order(frame: pd.DataFrame) -> list[str]:
    """Intermediate tasks grouped by domain (study domains first), then by name."""
    doms = frame.groupby("intermediate")["intermediate_domain"].first()
    rank = {d: i for i, d in enumerate(DOMAIN_ORDER)}
    return sorted(doms.index, key=lambda t: (rank.get(doms[t], len(rank)), doms[t], t))


def heatmap(cells: pd.DataFrame, n_seeds: int, n_languages: str):
    """Δ intermediate × target; diverging colours centred on 0; ★ where significant in the
    confirmatory family (its corrected q < 0.05; exploratory cells have no q)."""
    rows = intermediate_order(cells)
    cols = sorted(cells["target"].unique())
    delta = cells.pivot(index="intermediate", columns="target", values="delta").reindex(
        index=rows, columns=cols
    )
    q = cells.pivot(index="intermediate", columns="target", values="q").reindex(
        index=rows, columns=cols
    )
    labels = delta.map(lambda v: "" if pd.isna(v) else f"{v:+.2f}") + q.map(
        lambda v: "★" if pd.notna(v) and v < ALPHA else ""
    )
    lim = float(np.nanmax(np.abs(delta.to_numpy()))) if delta.notna().any().any() else 1.0
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 3.5, 0.55 * len(rows) + 2))
    sns.heatmap(
        delta,
        ax=ax,
        cmap="RdBu",
        center=0,
        vmin=-lim,
        vmax=lim,
        annot=labels,
        fmt="",
        linewidths=0.5,
        cbar_kws={"label": "Δ vs bare model (points)"},
    )
    doms = cells.groupby("intermediate")["intermediate_domain"].first()
    ax.set_yticklabels([f"{t}  [{doms[t]}]" for t in rows], rotation=0)
    for i in range(1, len(rows)):
        if doms[rows[i]] != doms[rows[i - 1]]:
            ax.axhline(i, color="black", linewidth=1.5)
    ax.set_xlabel("target task")
    ax.set_ylabel("intermediate task [domain]")
    ax.set_title(
        f"Δ = intermediate-trained − bare, zero-shot languages (English excluded), mean over seeds\n"
        f"seeds={n_seeds}, languages/target={n_languages}, tests={len(cells)}; "
        f"★ confirmatory family q < {ALPHA} (t over seed replicates)",
        fontsize=9,
    )
    return fig


def language_bars(frame: pd.DataFrame, languages: pd.DataFrame, value: str = "delta"):
    """Per-language ``value`` (Δ, or the score of a study without intermediates; mean over seeds)
    per target; languages ordered by script then family. Error bars: ±1 SD over seeds where
    there are several (descriptive: a percentile bootstrap over a few seeds under-covers)."""
    meta = languages.set_index("iso")
    targets = sorted(frame["target"].unique())
    hue_order = intermediate_order(frame)
    label = "Δ (points)" if value == "delta" else "score (points)"
    width = max(10.0, 0.34 * frame.groupby("target")["language"].nunique().max())  # labels fit
    fig, axes = plt.subplots(len(targets), 1, figsize=(width, 2.8 * len(targets)), squeeze=False)
    for ax, target in zip(axes[:, 0], targets, strict=True):
        part = frame[frame["target"] == target]
        langs = sorted(
            part["language"].unique(),
            key=lambda c: (str(meta["script"].get(c, "")), str(meta["family"].get(c, "")), c),
        )
        names = [f"{c}\n{meta['script'].get(c, '?')}" for c in langs]
        seeds = part["seed"].nunique()
        errorbar, what = ("sd", "±1 SD over seeds") if seeds > 1 else (None, "one seed: none")
        sns.barplot(
            part,
            x="language",
            y=value,
            hue="intermediate",
            order=langs,
            hue_order=hue_order,
            errorbar=errorbar,
            ax=ax,
            palette="tab10",
            err_kws={"linewidth": 1},
        )
        ax.set_xticks(range(len(langs)), names, fontsize=8)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylabel(label)
        ax.set_xlabel("")
        ax.set_title(
            f"{target}: {label.split(' ')[0]} per language (seeds={seeds}, languages={len(langs)};"
            f" error bars: {what})",
            fontsize=9,
        )
        ax.legend(fontsize=7, ncol=min(4, len(hue_order)), loc="best")
    fig.tight_layout()
    return fig


def seed_spread(task_scores: pd.DataFrame):
    """Language-averaged score per seed for every intermediate task; dashed line: baseline mean."""
    targets = sorted(task_scores["target"].unique())
    order = [BASELINE] + [t for t in intermediate_order(task_scores) if t != BASELINE]
    order = [t for t in order if t in set(task_scores["intermediate"])]
    fig, axes = plt.subplots(1, len(targets), figsize=(3.6 * len(targets), 3.8), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        frame = task_scores[task_scores["target"] == target]
        sns.stripplot(
            frame, x="intermediate", y="score", order=order, ax=ax, color="0.4", size=5, jitter=0.15
        )
        sns.pointplot(
            frame,
            x="intermediate",
            y="score",
            order=order,
            ax=ax,
            color="C3",
            errorbar=None,
            markers="_",
            markersize=14,
            linestyle="none",
        )
        base = frame.loc[frame["intermediate"] == BASELINE, "score"].mean()
        if pd.notna(base):
            ax.axhline(base, color="C0", linestyle="--", linewidth=1, label="baseline mean")
        ax.tick_params(axis="x", rotation=60, labelsize=8)
        ax.set_xlabel("")
        ax.set_ylabel(f"{frame['metric'].iloc[0]} (points)")
        ax.set_title(
            f"{target} (seeds={frame['seed'].nunique()}, "
            f"languages={int(frame['n_languages'].max())})",
            fontsize=9,
        )
    fig.suptitle(
        "Seed spread: language-averaged score per seed (dots), mean (red), baseline (dashed)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def similarity_scatter(
    frame: pd.DataFrame, x: str, correlations: pd.DataFrame, n_seeds, xlabel: str
):
    """Δ against domain similarity, one panel per target (their metrics and texts differ, so
    they are never pooled); each title gives that target's Spearman ρ, without a p-value or a
    trend line (a handful of intermediates that share the target's models)."""
    targets = sorted(frame["target"].unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(4.6 * len(targets), 4.0), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        part = frame[frame["target"] == target]
        hue = "intermediate_domain" if "intermediate_domain" in part else None
        sns.scatterplot(part, x=x, y="delta", hue=hue, ax=ax, s=50)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(f"Δ (points, mean over {n_seeds} seed(s))")
        rho = correlations.loc[correlations["target"] == target, "rho"]
        shown = f"ρ = {rho.iloc[0]:+.2f}" if len(rho) and np.isfinite(rho.iloc[0]) else "no ρ"
        ax.set_title(f"{target}: Spearman {shown} (n = {len(part)} intermediates)", fontsize=8)
        if ax.get_legend() is not None:
            ax.legend(fontsize=7, loc="best")
    fig.suptitle("Δ against domain similarity, per target (descriptive)", fontsize=10)
    fig.tight_layout()
    return fig


def fertility_scatter(frame: pd.DataFrame, correlations: pd.DataFrame, xlabel: str):
    """Δ per zero-shot language against fertility, one panel per target (their metrics differ),
    one colour per intermediate task; no trend line. Titles give ρ per intermediate task."""
    targets = sorted(frame["target"].unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(4.8 * len(targets), 4.0), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        part = frame[frame["target"] == target]
        sns.scatterplot(part, x="fertility", y="delta", hue="intermediate", ax=ax, s=40)
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel("Δ (points, mean over seeds)")
        rhos = correlations[correlations["target"] == target]
        ax.set_title(
            f"{target}: "
            + "; ".join(f"{r.intermediate} ρ = {r.rho:+.2f}" for r in rhos.itertuples())
            + f" (n = {part['language'].nunique()} languages)",
            fontsize=8,
        )
        ax.legend(fontsize=7, loc="best")
    fig.suptitle("Δ per language against tokenisation fertility (descriptive)", fontsize=10)
    fig.tight_layout()
    return fig


def retrieval_layers(forget: pd.DataFrame, protocol: dict[str, int] | None = None):
    """Retrieval accuracy per layer (mean over languages): bare model vs after intermediate
    training; a dotted line marks the protocol's layer where the target has one for this model."""
    targets = sorted(forget["target"].unique())
    fig, axes = plt.subplots(1, len(targets), figsize=(4.8 * len(targets), 3.8), squeeze=False)
    for ax, target in zip(axes[0], targets, strict=True):
        frame = forget[forget["target"] == target]
        before = frame.groupby("layer")["before"].mean()
        ax.plot(
            before.index,
            before.values,
            color="black",
            linestyle="--",
            marker="o",
            label="bare model",
        )
        after = frame.groupby(["intermediate", "layer"])["after"].mean().reset_index()
        sns.lineplot(
            after,
            x="layer",
            y="after",
            hue="intermediate",
            marker="o",
            ax=ax,
            hue_order=intermediate_order(frame),
        )
        if target in (protocol or {}):
            ax.axvline(protocol[target], color="grey", linestyle=":", linewidth=1)
            ax.annotate(
                "protocol layer",
                (protocol[target], 0.02),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                color="grey",
                rotation=90,
                ha="right",
            )
        ax.set_ylabel("accuracy (points)")
        ax.set_title(
            f"{target} (languages={frame['language'].nunique()}, "
            f"seeds={int(frame['n_seeds'].max())})",
            fontsize=9,
        )
        ax.legend(fontsize=7)
    fig.suptitle("Retrieval accuracy per layer before/after intermediate training", fontsize=10)
    fig.tight_layout()
    return fig


# Stage figures (the stage notebooks display these; the HTML report shows the notebooks)


def domain_profile(profile: pd.DataFrame):
    """JSD of English subword distributions, intermediate × target, from the curate stage's
    ``profile.csv`` (``measure == "domain"``: English vs English at equal token budgets); None
    when the profile has no such rows (no intermediate or no target curated)."""
    domain = profile[profile["measure"] == "domain"]
    if domain.empty:
        return None
    table = domain.pivot_table(index="intermediate_task", columns="target", values="jsd")
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * table.shape[1] + 3), 0.6 * table.shape[0] + 2))
    sns.heatmap(table, annot=table.shape[1] <= 15, fmt=".2f", cmap="viridis_r", ax=ax)
    ax.set_title("Domain profile: JSD of English subword distributions (lower = closer)")
    fig.tight_layout()
    return fig


def training_curve(curve: pd.DataFrame, title: str):
    """Training loss per step (one line per task: a mixture's tasks, masked LM) and the English
    dev score where it was evaluated, from a training stage's ``curve.csv``."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for task, part in curve.groupby("task"):
        ax.plot(part["step"], part["loss"], label=f"{task} loss", alpha=0.8)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    dev = curve.dropna(subset=["dev"])
    if len(dev):
        ax_dev = ax.twinx()
        ax_dev.plot(dev["step"], dev["dev"], "o-", color="black", label="English dev")
        ax_dev.set_ylabel("English dev score")
        ax_dev.legend(loc="upper right")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


def zero_shot_bars(metrics: dict):
    """A target run's primary metric per language (``metrics.json``), its average dashed."""
    primary = metrics["primary_metric"]
    scores = pd.Series({lang: m[primary] for lang, m in metrics["per_language"].items()})
    scores = scores.astype(float).sort_values(ascending=False)
    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(scores) + 2), 3.5))
    ax.bar([str(code) for code in scores.index], scores.values, color="#4C72B0")
    ax.axhline(metrics["average"][primary], color="black", lw=1, ls="--", label="average")
    ax.set_ylabel(primary)
    ax.set_title(f"{metrics['task']}: zero-shot {primary} ({len(scores)} languages)")
    ax.legend()
    ax.tick_params(axis="x", labelrotation=90 if len(scores) > 15 else 0)
    fig.tight_layout()
    return fig


def layer_sweep(metrics: dict):
    """A retrieval run's primary metric per layer, averaged over its languages, the reported
    layer dotted; None for a trained target (no ``layers`` in ``metrics.json``)."""
    if not metrics.get("layers"):
        return None
    primary = metrics["primary_metric"]
    table = pd.DataFrame(
        {
            int(layer): {lang: vals[primary] for lang, vals in by_lang.items()}
            for layer, by_lang in metrics["layers"].items()
        }
    )
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(table.columns, table.mean(axis=0), marker="o")
    ax.axvline(metrics["layer"], color="grey", linestyle=":")
    ax.set_xlabel(f"layer (dotted: reported, {metrics['layer_choice']})")
    ax.set_ylabel(f"mean {primary} over {table.shape[0]} languages")
    ax.set_title(f"{metrics['task']}: retrieval accuracy per layer")
    fig.tight_layout()
    return fig
