"""HTML reports: every stage notebook rendered offline, and index pages that answer the question.

Everything is self-contained: images are data URIs, and CDN scripts (require.js, MathJax, mermaid)
that nbconvert's lab template would load are stripped, so the pages open without a network.
"""

from __future__ import annotations

import base64
import html
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


def render_notebook(notebook: str | Path, out_html: str | Path) -> Path:
    """Render an executed notebook to self-contained HTML (outputs only, no input cells)."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = Path(notebook)
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as err:
        raise ValueError(f"{notebook}: not a readable notebook ({err})") from err
    exporter = HTMLExporter(exclude_input=True, embed_images=True, exclude_anchor_links=True)
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


def provenance_summary(study_dir: str | Path) -> dict[str, Any]:
    """Commits, dates, models, model hashes and data hashes across the study's finished runs."""
    commits, models, model_hashes, dates, data = set(), set(), set(), [], {}
    for stage in STAGES:
        for run in finished_runs(study_dir, stage):
            path = run / "provenance.json"
            if not path.exists():
                continue
            prov = read_json(path)
            for value, bucket in (
                (_find(prov, "git_commit", "commit"), commits),
                (_find(prov, "model"), models),
                (_find(prov, "model_hash", "model_sha256"), model_hashes),
            ):
                if value:
                    bucket.add(str(value))
            date = _find(prov, "finished", "finished_at", "end", "ended", "date")
            if date:
                dates.append(str(date))
            hashes = prov.get("data_hashes") or {}
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


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.pos{color:#1a5fb4}.neg{color:#b42318}.sig{font-weight:bold}
.headline li{margin:.4em 0}img{max-width:100%;height:auto;border:1px solid #eee}code{font-size:.9em}
.note{color:#666;font-size:.9em}figure{margin:1.5em 0}figcaption{font-size:.9em;color:#444}
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def _num(v: float, fmt: str = "{:+.2f}") -> str:
    return "–" if v is None or pd.isna(v) else fmt.format(v)


def headline_table(cells: pd.DataFrame, alpha: float) -> str:
    """Δ per intermediate × target (zero-shot languages) with its seed-level CI, the XTREME-style
    Δ with English beside it, seeds, languages, bootstrap p and BH q (bold where q < alpha)."""
    from .plots import intermediate_order

    order = {t: i for i, t in enumerate(intermediate_order(cells))}
    cells = cells.sort_values(
        ["intermediate", "target"], key=lambda s: s.map(order) if s.name == "intermediate" else s
    )
    head = (
        "<tr><th class=l>intermediate</th><th class=l>domain</th><th class=l>target</th>"
        "<th>Δ zero-shot (points)</th><th>95% CI</th><th>Δ all languages (XTREME)</th>"
        "<th>sd over seeds</th><th>seeds</th><th>languages</th><th class=l>CI method</th>"
        "<th>p (bootstrap)</th><th>q (BH)</th></tr>"
    )
    rows = []
    for r in cells.itertuples():
        cls = ("pos" if r.delta > 0 else "neg") + (" sig" if pd.notna(r.q) and r.q < alpha else "")
        rows.append(
            f'<tr class="{cls}"><td class=l>{html.escape(r.intermediate)}</td><td class=l>{html.escape(r.intermediate_domain)}</td>'
            f"<td class=l>{html.escape(r.target)}</td><td>{_num(r.delta)}</td>"
            f"<td>[{_num(r.ci_low)}, {_num(r.ci_high)}]</td><td>{_num(r.delta_all_languages)}</td>"
            f"<td>{_num(r.sd_seeds, '{:.2f}')}</td><td>{r.n_seeds}</td><td>{r.n_languages}</td>"
            f"<td class=l>{html.escape(str(r.method))}</td><td>{_num(r.p_boot, '{:.3g}')}</td>"
            f"<td>{_num(r.q, '{:.3g}')}</td></tr>"
        )
    return f'<table id="headline-table">{head}{"".join(rows)}</table>'


def _frame_table(df: pd.DataFrame, table_id: str) -> str:
    return df.to_html(
        index=False, float_format=lambda v: f"{v:.3g}", table_id=table_id, border=0, na_rep="–"
    )


def _stage_reports(study_dir: Path, out_dir: Path) -> list[dict[str, str]]:
    reports = []
    for stage in STAGES:
        folder = study_dir / stage
        if not folder.is_dir():
            continue
        for run in sorted(p for p in folder.iterdir() if p.is_dir()):
            nb = run / "notebook.ipynb"
            if not nb.exists():
                continue
            target = out_dir / "stages" / stage / f"{run.name}.html"
            render_notebook(nb, target)
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
    "heatmap_delta": "Δ per intermediate × target (rows grouped by domain); ★ = significant after BH.",
    "delta_per_language": "Δ per language, languages ordered by script and family.",
    "seed_spread": "Seed spread of the language-averaged score per intermediate task.",
    "delta_vs_similarity": "Δ against domain similarity: subword Jaccard of English intermediate "
    "vs English target text at equal token budgets (trend line only from 8 points on).",
    "delta_vs_fertility": "Δ per zero-shot language against tokenisation fertility (subwords per "
    "non-space character), one panel per target; descriptive (languages share the models).",
    "retrieval_layers": "Retrieval accuracy per layer, bare model vs after intermediate training (forgetting).",
}


def render_study(
    study_dir: str | Path, report_dir: str | Path, config: Any = None, analyse: bool = True
) -> Path:
    """Render every stage notebook of a study and write ``<report_dir>/<study>/index.html`` and
    ``<report_dir>/index.html``. Runs the analysis stage first unless ``analyse`` is False."""
    from ..stages import analysis as stage

    study_dir, report_dir = Path(study_dir), Path(report_dir)
    out_dir = stage.study_report_dir(study_dir, report_dir)
    summary = (
        stage.run(config, study_dir, report_dir)
        if analyse or not (out_dir / "summary.json").exists()
        else read_json(out_dir / "summary.json")
    )
    reports = _stage_reports(study_dir, out_dir)
    prov = provenance_summary(study_dir)
    tables = {k: out_dir / v for k, v in summary["tables"].items()}
    cells = pd.read_csv(tables["cells"]) if "cells" in tables else pd.DataFrame()
    esc = html.escape
    parts = [
        f"<h1>X-STILTs study <code>{esc(summary['study'])}</code></h1>",
        f"<p><b>Question.</b> {esc(QUESTION)}</p>",
        "<h2>Answer</h2><ul class=headline id=headline>"
        + "".join(f"<li>{esc(s)}</li>" for s in summary["headline"])
        + "</ul>",
        "<h2>Settings</h2><ul>"
        f"<li>model(s): {esc(', '.join(prov['models']) or 'unknown')}</li>"
        f"<li>intermediate tasks: {esc(', '.join(summary['intermediates']) or 'none')}</li>"
        f"<li>target tasks: {esc(', '.join(summary['targets']))}</li>"
        f"<li>seeds: {esc(', '.join(map(str, summary['seeds'])))}; languages: "
        f"{esc(' '.join(summary['languages']))}</li>"
        f"<li>Δ = score after intermediate training − score of the bare model with the same "
        f"target seed, in points (0–100), averaged over the target's non-English languages "
        f"(zero-shot; the XTREME-style average with English is shown beside it). Seeds are the "
        f"unit of replication: 95% CIs and two-sided p come from a hierarchical bootstrap that "
        f"resamples seed replicates, then test items within each (one item draw shared by all "
        f"languages, as parallel sets translate the same items; {hierarchical.N_BOOT} draws); "
        f"where a metric has no item scores only seeds are resampled (column 'CI method'). "
        f"Languages are summarised, not treated as independent draws. q: Benjamini–Hochberg "
        f"over all cells (α = {summary['alpha']}).</li></ul>",
    ]
    if not cells.empty:
        parts.append(
            "<h2>Δ per intermediate × target</h2>" + headline_table(cells, summary["alpha"])
        )
    for name, caption in FIGURE_CAPTIONS.items():
        if name in summary["figures"]:
            fig = summary["figures"][name]
            parts.append(
                f'<figure><img id="fig-{name}" alt="{esc(caption)}" src="{_data_uri(out_dir / fig["png"])}">'
                f'<figcaption>{esc(caption)} <a href="{esc(fig["svg"])}">SVG</a></figcaption></figure>'
            )
    for name in (
        "domains",
        "domain_contrasts",
        "format_matched_pairs",
        "correlations",
        "score_summary",
        "protocol_reference",
    ):
        if name in tables and tables[name].stat().st_size > 1:
            df = pd.read_csv(tables[name])
            parts.append(f"<h3>{esc(name.replace('_', ' '))}</h3>" + _frame_table(df, name))
    parts.append(
        "<h2>Tables (CSV)</h2><ul>"
        + "".join(f'<li><a href="{esc(p)}">{esc(k)}</a></li>' for k, p in summary["tables"].items())
        + "</ul>"
    )
    parts.append(
        "<h2>Stage reports</h2><table id=stage-reports><tr><th class=l>stage</th><th class=l>run</th>"
        "<th class=l>finished</th></tr>"
        + "".join(
            f'<tr><td class=l>{esc(r["stage"])}</td><td class=l><a href="{esc(r["href"])}">'
            f"{esc(r['run'])}</a></td><td class=l>{esc(r['finished'])}</td></tr>"
            for r in reports
        )
        + "</table>"
    )
    data_rows = "".join(
        f"<tr><td class=l>{esc(k)}</td><td class=l><code>{esc(v)}</code></td></tr>"
        for k, v in sorted(prov["data_hashes"].items())
    )
    parts.append(
        "<h2>Provenance</h2><ul id=provenance>"
        f"<li>git commit(s): <code>{esc(', '.join(prov['commits']) or 'unknown')}</code></li>"
        f"<li>runs finished: {esc(prov['first'])} – {esc(prov['last'])}</li>"
        f"<li>model hash(es): <code>{esc(', '.join(prov['model_hashes']) or 'unknown')}</code></li></ul>"
        + (
            f"<table id=data-hashes><tr><th class=l>data</th><th class=l>sha256</th></tr>{data_rows}</table>"
            if data_rows
            else ""
        )
    )
    if summary["notes"]:
        parts.append(
            "<h2>Notes</h2><ul class=note>"
            + "".join(f"<li>{esc(n)}</li>" for n in summary["notes"])
            + "</ul>"
        )
    page = _page(f"xstilts study {summary['study']}", "\n".join(parts))
    index = write_text(out_dir / "index.html", page)
    render_root_index(report_dir)
    return index


def render_root_index(report_dir: str | Path) -> Path:
    """``<report_dir>/index.html``: every study with a summary, its headline and a link."""
    report_dir = Path(report_dir)
    items = []
    for summary_path in sorted(report_dir.glob("*/summary.json")):
        s = json.loads(summary_path.read_text(encoding="utf-8"))
        name = summary_path.parent.name
        heat = summary_path.parent / s.get("figures", {}).get("heatmap_delta", {}).get("png", "-")
        img = (
            f'<img id="heatmap-{html.escape(name)}" alt="Δ heatmap" src="{_data_uri(heat)}">'
            if heat.is_file()
            else ""
        )
        items.append(
            f'<section><h2><a href="{html.escape(name)}/index.html">{html.escape(name)}</a></h2><ul>'
            + "".join(f"<li>{html.escape(x)}</li>" for x in s["headline"])
            + f"</ul>{img}</section>"
        )
    body = f"<h1>xstilts reports</h1><p>{html.escape(QUESTION)}</p>" + (
        "".join(items) or "<p>No analysed studies yet.</p>"
    )
    return write_text(report_dir / "index.html", _page("xstilts reports", body))
