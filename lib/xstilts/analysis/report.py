"""HTML reports: every stage notebook rendered offline, and index pages that answer the question.

Everything is self-contained: images are data URIs, and CDN scripts (require.js, MathJax, mermaid)
that nbconvert's lab template would load are stripped, so the pages open without a network.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..io import read_json, write_text
from . import hierarchical
from .results import STAGES, finished_runs

QUESTION = (
    "Does English intermediate-task training (X-STILTs) improve zero-shot cross-lingual transfer of a "
    "multilingual encoder, and does the intermediate task's domain (legal, biomedical, general) matter?"
)
_REMOTE = r"(?:https?:)?//"
_SCRIPT_BLOCK = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
_LOADS = [  # (what, pattern) for resources a browser would fetch
    ("script src", re.compile(rf"<script\b[^>]*\bsrc\s*=\s*[\"']?({_REMOTE}[^\"'\s>]+)", re.I)),
    ("link href", re.compile(rf"<link\b[^>]*\bhref\s*=\s*[\"']?({_REMOTE}[^\"'\s>]+)", re.I)),
    (
        "img/iframe/source src",
        re.compile(
            rf"<(?:img|iframe|source|embed|video|audio)\b[^>]*\bsrc\s*=\s*[\"']?({_REMOTE}[^\"'\s>]+)",
            re.I,
        ),
    ),
    ("css url()", re.compile(rf"url\(\s*[\"']?({_REMOTE}[^\"')\s]+)", re.I)),
    ("css @import", re.compile(rf"@import\s+[\"']({_REMOTE}[^\"']+)", re.I)),
    ("js import", re.compile(rf"\bimport\b[^;]*?[\"']({_REMOTE}[^\"']+)[\"']", re.I)),
]


def external_resources(page: str) -> list[str]:
    """URLs that ``page`` would fetch from elsewhere (scripts, styles, images, fonts, imports)."""
    found = []
    for what, pattern in _LOADS:
        if what == "js import":  # only inside script bodies
            bodies = [m.group(2) for m in _SCRIPT_BLOCK.finditer(page)]
            found += [f"{what}: {u}" for b in bodies for u in pattern.findall(b)]
        else:
            found += [f"{what}: {u}" for u in pattern.findall(page)]
    return found


def strip_external(page: str) -> str:
    """Drop scripts that load from the network (src= or a URL in their body) and remote stylesheets."""

    def keep(match: re.Match) -> str:
        attrs, body = match.group(1), match.group(2)
        remote = re.search(rf"\bsrc\s*=\s*[\"']?{_REMOTE}", attrs, re.I) or re.search(
            r"https?://", body
        )
        mathjax_cfg = "mathjax" in attrs.lower()
        return "" if remote or mathjax_cfg else match.group(0)

    page = _SCRIPT_BLOCK.sub(keep, page)
    return re.sub(rf"<link\b[^>]*\bhref\s*=\s*[\"']?{_REMOTE}[^>]*>", "", page, flags=re.I)


def notebook_exporter():
    """nbconvert's HTML exporter as the reports use it: outputs only, images embedded. Making one
    loads its templates (0.4 s here), so a study's stage pages share one (0.03 s a page)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(exclude_input=True, embed_images=True, exclude_anchor_links=True)


def render_notebook(notebook: str | Path, out_html: str | Path, exporter=None) -> Path:
    """Render an executed notebook to self-contained HTML (outputs only, no input cells)."""
    import nbformat

    notebook = Path(notebook)
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as err:
        raise ValueError(f"{notebook}: not a readable notebook ({err})") from err
    exporter = exporter or notebook_exporter()
    page, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": notebook.parent.name}}
    )
    page = strip_external(page)
    left = external_resources(page)
    if left:
        raise RuntimeError(f"{notebook}: rendered HTML still loads external resources: {left[:5]}")
    return write_text(out_html, page)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _find(obj: Any, *keys: str) -> Any:
    """First value under any of ``keys`` anywhere in a nested dict (provenance schemas vary)."""
    if isinstance(obj, dict):
        for k in keys:
            if k in obj and not isinstance(obj[k], dict | list):
                return obj[k]
        for v in obj.values():
            hit = _find(v, *keys)
            if hit is not None:
                return hit
    return None


def _weights(name: str | None, info: Any) -> set[str]:
    """``name file: sha256`` for each weights file a provenance entry hashed."""
    hashes = info.get("weights_sha256") if isinstance(info, dict) else None
    if not name or not isinstance(hashes, dict):
        return set()
    return {f"{name} {file}: {sha}" for file, sha in hashes.items()}


def provenance_summary(study_dir: str | Path) -> dict[str, Any]:
    """Commits, dates, models, model hashes and data hashes across the study's finished runs."""
    commits, models, model_hashes, dates, data = set(), set(), set(), [], {}
    for stage in STAGES:
        for run in finished_runs(study_dir, stage):
            path = run / "provenance.json"
            if not path.exists():
                continue
            prov = read_json(path)
            model = prov.get("model") if isinstance(prov.get("model"), dict) else {}
            for value, bucket in (
                (_find(prov, "git_commit", "commit"), commits),
                (model.get("id") or _find(prov, "model"), models),
            ):
                if value:
                    bucket.add(str(value))
            model_hashes |= _weights(model.get("id"), model)
            encoder = prov.get("encoder") if isinstance(prov.get("encoder"), dict) else {}
            if encoder.get("path"):  # one entry per intermediate checkpoint, however many use it
                model_hashes |= _weights(f"encoder {Path(encoder['path']).parent.name}", encoder)
            date = _find(prov, "finished", "finished_at", "end", "ended", "date")
            if date:
                dates.append(str(date))
            recorded = prov.get("data") if isinstance(prov.get("data"), dict) else {}
            hashes = recorded.get("splits") or prov.get("data_hashes") or {}
            if isinstance(hashes, dict):
                data.update({str(k): str(v) for k, v in hashes.items()})
    return {
        "commits": sorted(commits),
        "models": sorted(models),
        "model_hashes": sorted(model_hashes),
        "first": min(dates) if dates else "",
        "last": max(dates) if dates else "",
        "data_hashes": data,
    }


def study_report_dir(study_dir: str | Path, report_dir: str | Path) -> Path:
    """``<report_dir>/<study>``: where the analysis writes and the study page lives."""
    return Path(report_dir) / Path(study_dir).name


def _template(name: str):
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["j2"]),
        keep_trailing_newline=True,
    )
    return env.get_template(name)


def _num(v: float, fmt: str = "{:+.2f}") -> str:
    return "–" if v is None or pd.isna(v) else fmt.format(v)


def headline_rows(cells: pd.DataFrame, alpha: float) -> list[dict[str, Any]]:
    """Δ per intermediate × target (zero-shot languages) with its seed-level CI, the XTREME-style
    Δ with English beside it, seeds, languages, the t p over seeds, the minimal detectable Δ, the
    bootstrap beside them, and the confirmatory family's q (bold only where that q < alpha),
    formatted for the study page, intermediates in the figures' order."""
    from .plots import intermediate_order

    order = {t: i for i, t in enumerate(intermediate_order(cells))}
    cells = cells.sort_values(
        ["intermediate", "target"], key=lambda s: s.map(order) if s.name == "intermediate" else s
    )
    return [
        {
            "css": ("pos" if r.delta > 0 else "neg")
            + (" sig" if pd.notna(r.q) and r.q < alpha else ""),
            "intermediate": r.intermediate,
            "domain": r.intermediate_domain,
            "target": r.target,
            "delta": _num(r.delta),
            "ci_low": _num(r.ci_low),
            "ci_high": _num(r.ci_high),
            "delta_all": _num(r.delta_all_languages),
            "sd": _num(r.sd_seeds, "{:.2f}"),
            "n_seeds": r.n_seeds,
            "n_languages": r.n_languages,
            "method": str(r.method),
            "p": _num(r.p, "{:.3g}"),
            "q": _num(r.q, "{:.3g}"),
            "mde": _num(getattr(r, "mde", None), "{:.2f}"),
            "boot": f"[{_num(getattr(r, 'boot_low', None))}, {_num(getattr(r, 'boot_high', None))}]",
            "family": str(getattr(r, "family", "")),
        }
        for r in cells.itertuples()
    ]


def domain_glance(
    domains: pd.DataFrame, cells: pd.DataFrame | None = None, alpha: float = 0.05
) -> dict[str, Any]:
    """The answer at a glance: domain × target, each cell Δ with its 95 % interval and p, and
    ``methods``: the inference behind them (``p_method``), named in the caption. Bold only where the confirmatory family says significant: the domain's own row, or,
    for a domain of one task, that task's cell. Targets are columns and never pooled."""
    from .family import significant

    sig_cells = set()
    if cells is not None and not cells.empty and "q" in cells:
        sig = cells[significant(cells, alpha)]
        sig_cells = set(zip(sig["intermediate"], sig["target"], strict=True))
    domains = domains.assign(glance_sig=significant(domains, alpha))
    domains = domains[domains["target"] != "all"]
    targets = sorted(domains["target"].unique())
    rows = []
    for domain, grp in domains.groupby("domain", sort=True):
        by_target = {r.target: r for r in grp.itertuples()}
        cells = []
        for t in targets:
            r = by_target.get(t)
            if r is None:
                cells.append({"value": "–", "detail": "", "css": ""})
                continue
            sure = r.glance_sig or (r.n_tasks == 1 and (str(r.tasks), t) in sig_cells)
            cells.append(
                {
                    "value": _num(r.delta),
                    "detail": f"[{_num(r.ci_low)}, {_num(r.ci_high)}]; p {_num(r.p, '{:.2g}')}",
                    "css": ("pos" if r.delta > 0 else "neg") + (" sig" if sure else ""),
                }
            )
        tasks = ", ".join(
            sorted({str(t) for r in grp.itertuples() for t in str(r.tasks).split(", ")})
        )
        rows.append({"domain": domain, "tasks": tasks, "cells": cells})
    methods = "; ".join(sorted(domains["p_method"].dropna().astype(str).unique()))
    return {"targets": targets, "rows": rows, "methods": methods or "none"}


def _frame_table(df: pd.DataFrame, table_id: str) -> str:
    return df.to_html(
        index=False, float_format=lambda v: f"{v:.3g}", table_id=table_id, border=0, na_rep="–"
    )


def _stage_reports(study_dir: Path, out_dir: Path) -> list[dict[str, str]]:
    reports, exporter = [], notebook_exporter()
    for stage in STAGES:
        folder = study_dir / stage
        if not folder.is_dir():
            continue
        for run in sorted(p for p in folder.iterdir() if p.is_dir()):
            nb = run / "notebook.ipynb"
            if not nb.exists():
                continue
            target = out_dir / "stages" / stage / f"{run.name}.html"
            render_notebook(nb, target, exporter)
            reports.append(
                {
                    "stage": stage,
                    "run": run.name,
                    "href": str(target.relative_to(out_dir)),
                    "finished": "yes" if (run / "DONE").exists() else "no (no DONE)",
                }
            )
    return reports


FIGURE_CAPTIONS = {
    "heatmap_delta": "Δ zero-shot per intermediate × target (English excluded; rows grouped by "
    "domain); ★ = significant in the confirmatory family.",
    "delta_per_language": "Δ per language, languages ordered by script and family.",
    "scores_per_language": "The bare model's score per language (mean over seeds), languages "
    "ordered by script and family.",
    "seed_spread": "Seed spread of the score averaged over every language (English included, as "
    "XTREME averages) per intermediate task.",
    "delta_vs_similarity": "Δ against domain similarity, one panel per target: subword Jaccard "
    "of English intermediate vs English target text at one token budget for every pair; "
    "descriptive (ρ without p).",
    "delta_vs_fertility": "Δ per zero-shot language against tokenisation fertility (subwords per "
    "non-space character, which differs by script as much as by language), one panel per "
    "target; descriptive (languages share the models).",
    "retrieval_layers": "Retrieval accuracy per layer, bare model vs after intermediate training (forgetting).",
}
FRAME_TABLES = (  # shown on the page (every table is linked as CSV)
    "domains",
    "domain_contrasts",
    "format_matched_pairs",
    "correlations",
    "score_summary",
    "protocol_reference",
)


def _figures(summary: dict, out_dir: Path) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "caption": caption,
            "src": _data_uri(out_dir / summary["figures"][name]["png"]),
            "svg": summary["figures"][name]["svg"],
        }
        for name, caption in FIGURE_CAPTIONS.items()
        if name in summary["figures"]
    ]


def _frames(tables: dict[str, Path]) -> list[dict[str, Any]]:
    """The tables shown on the page, each titled with where English stands in its averages."""
    from markupsafe import Markup

    out = []
    for name in FRAME_TABLES:
        if name not in tables or tables[name].stat().st_size <= 1:
            continue
        df = pd.read_csv(tables[name])
        english = df.pop("english").iloc[0] if "english" in df and len(df) else None
        out.append(
            {
                "title": name.replace("_", " ") + (f" (English {english})" if english else ""),
                "html": Markup(_frame_table(df, name)),  # noqa: S704 - pandas escapes cells
            }
        )
    return out


def _bare_table(path: Path | None) -> dict[str, Any] | None:
    """A study without intermediates answers with the bare model's score per language."""
    if path is None:
        return None
    bare = pd.read_csv(path)
    bare["text"] = [
        f"{r.score:.1f}" + (f" ± {r.sd_seeds:.1f}" if pd.notna(r.sd_seeds) else "")
        for r in bare.itertuples()
    ]
    wide = bare.pivot(index="language", columns="target", values="text")
    order = sorted(wide.index, key=lambda lang: (lang != "en", lang))  # English, then the rest
    rows = [{"language": lang, "scores": wide.loc[lang].fillna("–").tolist()} for lang in order]
    return {"targets": list(wide.columns), "rows": rows, "english": "en" in wide.index}


def render_study(study_dir: str | Path, report_dir: str | Path) -> Path:
    """Render every stage notebook of an analysed study and write ``<report_dir>/<study>/index.html``
    and ``<report_dir>/index.html`` from the analysis stage's ``summary.json``."""
    study_dir, report_dir = Path(study_dir), Path(report_dir)
    out_dir = study_report_dir(study_dir, report_dir)
    if not (out_dir / "summary.json").exists():
        raise FileNotFoundError(
            f"{out_dir / 'summary.json'}: no analysis summary; run the analysis stage first "
            "(`xstilts run` does; `xstilts report` re-runs it)"
        )
    summary = read_json(out_dir / "summary.json")
    tables = {k: out_dir / v for k, v in summary["tables"].items()}
    cells = pd.read_csv(tables["cells"]) if "cells" in tables else pd.DataFrame()
    domains = pd.read_csv(tables["domains"]) if "domains" in tables else pd.DataFrame()
    page = _template("study.html.j2").render(
        title=f"xstilts study {summary['study']}",
        s=summary,
        question=QUESTION,
        n_boot=hierarchical.N_BOOT,
        cells=headline_rows(cells, summary["alpha"]) if not cells.empty else [],
        glance=domain_glance(domains, cells, summary["alpha"]) if not domains.empty else None,
        figures=_figures(summary, out_dir),
        frames=_frames(tables),
        bare=_bare_table(tables.get("bare_per_language")),
        reports=_stage_reports(study_dir, out_dir),
        prov=provenance_summary(study_dir),
    )
    methods = _template("methods.html.j2").render(
        title=f"methods of {summary['study']}", s=summary, n_boot=hierarchical.N_BOOT
    )
    write_text(out_dir / "methods.html", methods)
    index = write_text(out_dir / "index.html", page)
    render_root_index(report_dir)
    return index


def render_root_index(report_dir: str | Path) -> Path:
    """``<report_dir>/index.html``: every study with a summary, its headline and a link."""
    report_dir = Path(report_dir)
    studies = []
    for summary_path in sorted(report_dir.glob("*/summary.json")):
        s = json.loads(summary_path.read_text(encoding="utf-8"))
        heat = summary_path.parent / s.get("figures", {}).get("heatmap_delta", {}).get("png", "-")
        studies.append(
            {
                "name": summary_path.parent.name,
                "headline": s["headline"],
                "heatmap": _data_uri(heat) if heat.is_file() else None,
            }
        )
    page = _template("index.html.j2").render(
        title="xstilts reports", question=QUESTION, studies=studies
    )
    return write_text(report_dir / "index.html", page)
