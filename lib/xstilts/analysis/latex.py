"""Paper-ready tables: LaTeX (booktabs) beside the CSV of the same numbers.

- ``domain_gains``: Δ per domain and target, with its 95 % interval over seeds (from ``domains``);
- ``phang_table2``: the layout of Phang et al. 2020, Table 2: one row per intermediate task (the
  bare model first, with its absolute scores), one column per target; a cell is the zero-shot
  Δ in points over the target's non-English languages, the bare-model row the absolute score
  over the same languages (English in neither, so the rows add up).
"""

from __future__ import annotations

import pandas as pd

from .hierarchical import ZERO_SHOT_EXCLUDES
from .results import BASELINE

_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "_": r"\_", "#": r"\#"}


def escape(text: str) -> str:
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def booktabs(df: pd.DataFrame, caption: str, label: str) -> str:
    """A ``table`` with ``\\toprule``/``\\midrule``/``\\bottomrule`` (needs the booktabs package)."""
    cols = "l" + "r" * (len(df.columns) - 1)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        " & ".join(escape(c) for c in df.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(escape(v) for v in row) + r" \\" for row in df.astype(str).values]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{escape(caption)}}}",
        rf"\label{{{label}}}",
        r"\end{table}",
        "",
    ]
    return "\n".join(lines)


def domain_gains(domains: pd.DataFrame) -> pd.DataFrame:
    """Domain × target: ``Δ [low, high]`` in points."""
    if domains is None or domains.empty:
        return pd.DataFrame()
    cell = domains.assign(
        value=[f"{r.delta:+.1f} [{r.ci_low:+.1f}, {r.ci_high:+.1f}]" for r in domains.itertuples()]
    )
    return cell.pivot(index="domain", columns="target", values="value").reset_index()


def phang_table2(cells: pd.DataFrame, per_lang: pd.DataFrame) -> pd.DataFrame:
    """Intermediate × target, the bare model's absolute score on top (see the module docstring)."""
    if cells is None or cells.empty:
        return pd.DataFrame()
    bare = per_lang[per_lang["intermediate"] == BASELINE]
    zero_shot = ~bare["language"].isin(ZERO_SHOT_EXCLUDES)
    has_zero_shot = zero_shot.groupby(bare["target"]).transform("any")
    bare = bare[zero_shot | ~has_zero_shot]  # as the cells: an English-only target keeps English
    per_run = bare.groupby(["target", "run"])["score"].mean()  # languages, then seeds
    base = per_run.groupby("target").mean()
    delta = cells.pivot(index="intermediate", columns="target", values="delta")
    order = cells.sort_values(["intermediate_domain", "intermediate"])["intermediate"].unique()
    rows = [
        {
            "intermediate": "bare model",
            **{t: f"{base.get(t, float('nan')):.1f}" for t in delta.columns},
        }
    ]
    for inter in order:
        rows.append(
            {"intermediate": inter, **{t: f"{delta.loc[inter, t]:+.1f}" for t in delta.columns}}
        )
    return pd.DataFrame(rows)
