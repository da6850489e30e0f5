"""Explanatory variables: language metadata, domain similarity, tokenisation fertility, forgetting."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import read_jsonl
from .results import BASELINE, finished_runs

log = logging.getLogger(__name__)

# Scripts written without spaces between words: whitespace "words" are phrases or sentences there.
UNSPACED_SCRIPTS = {"Hani", "Hans", "Hant", "Jpan", "Thai", "Khmr", "Laoo", "Mymr", "Tibt"}
RETRIEVAL_TASKS = ("udhr", "gnome_help_parallel", "multiemo_parallel", "tatoeba", "bucc")


def language_table(codes) -> pd.DataFrame:
    """ISO code, name, script, family (and a note where ``xstilts.languages`` lacks the code)."""
    rows = []
    try:
        from .. import languages as langmod
    except ImportError as err:  # the table is written by another module; degrade, don't fail
        langmod, missing = None, f"xstilts.languages unavailable ({err})"
    for code in sorted(set(codes)):
        row = {"iso": code, "name": code, "script": "unknown", "family": "unknown", "note": ""}
        if langmod is None:
            row["note"] = missing
        else:
            try:
                lang = langmod.get_language(code)
                row.update(name=lang.name, script=lang.script, family=lang.family)
            except Exception as err:
                row["note"] = f"not in xstilts.languages: {err}"
        rows.append(row)
    return pd.DataFrame(rows, columns=["iso", "name", "script", "family", "note"])


_PROFILE_ALIASES = {
    "intermediate": ("intermediate", "intermediate_task", "source"),
    "target": ("target", "target_task", "target_set"),
    "jaccard": ("jaccard", "vocab_jaccard", "subword_jaccard"),
    "jsd": ("jsd", "subword_jsd", "js_divergence"),
}


def domain_similarity(study_dir: str | Path) -> pd.DataFrame:
    """The curate stage's domain profile (``profile.csv``) as (intermediate, target, jaccard, jsd).

    Only the ``domain`` measure (English vs English at equal token budgets) is used; the
    ``cross_language`` rows measure script and language, not domain. A profile without the
    ``measure`` column (older curate runs compared English with every test language) is not a
    domain measure and is skipped with a note. Returns an empty frame with ``attrs['note']`` when
    no finished curate run has a usable profile.
    """
    cols = list(_PROFILE_ALIASES)
    frames, notes = [], []
    for run in finished_runs(study_dir, "curate"):
        path = run / "profile.csv"
        if not path.exists():
            continue
        raw = pd.read_csv(path)
        if "measure" not in raw.columns:
            notes.append(
                f"{path}: no 'measure' column (a per-language profile of an older curate "
                "run; it measures script, not domain): re-run curate"
            )
            continue
        raw = raw[raw["measure"] == "domain"]
        rename = {}
        for want, aliases in _PROFILE_ALIASES.items():
            hit = next((a for a in aliases if a in raw.columns), None)
            if hit is None:
                notes.append(f"{path}: no column for {want!r} (tried {', '.join(aliases)})")
                break
            rename[hit] = want
        else:
            frame = raw.rename(columns=rename)
            frames.append(frame.groupby(cols[:2], as_index=False, sort=False)[cols[2:]].mean())
    out = (
        pd.concat(frames).drop_duplicates(["intermediate", "target"], keep="last")
        if frames
        else pd.DataFrame(columns=cols)
    )
    out.attrs["note"] = (
        "; ".join(notes) if notes else ("" if frames else "no curate profile.csv found")
    )
    return out.reset_index(drop=True)


def row_texts(row: dict) -> list[str]:
    """The natural-language strings of a curated row, whatever its format."""
    texts = [
        row[k]
        for k in ("text", "text_a", "text_b", "context", "question")
        if isinstance(row.get(k), str)
    ]
    if isinstance(row.get("tokens"), list):
        texts.append(" ".join(map(str, row["tokens"])))
    if isinstance(row.get("choices"), list):
        texts.extend(str(c) for c in row["choices"])
    return texts


def fertility(texts_by_language: dict[str, list[str]], tokenizer) -> pd.DataFrame:
    """Fertility per language with ``tokenizer`` (a HF tokenizer or a callable str -> pieces).

    ``fertility`` is subwords per non-space character, defined for every script but driven by
    it (a Han character carries more than a Latin letter), so compare it within a script;
    ``fertility_words`` is subwords per whitespace word, only for spaced scripts (ja, zh, th ...
    have no spaces, so a whitespace "word" is a phrase and the ratio would read 35-42)."""
    scripts = language_table(texts_by_language).set_index("iso")["script"]
    tokenize = getattr(tokenizer, "tokenize", tokenizer)
    rows = []
    for lang, texts in sorted(texts_by_language.items()):
        words = sum(len(t.split()) for t in texts)
        chars = sum(len("".join(t.split())) for t in texts)
        pieces = sum(len(tokenize(t)) for t in texts)
        script = scripts.get(lang, "unknown")
        spaced = script not in UNSPACED_SCRIPTS
        rows.append(
            {
                "language": lang,
                "texts": len(texts),
                "words": words,
                "characters": chars,
                "subwords": pieces,
                "fertility": pieces / chars if chars else np.nan,
                "fertility_words": pieces / words if words and spaced else np.nan,
                "script": script,
                "spaced": spaced,
            }
        )
    return pd.DataFrame(rows)


def curated_test_texts(study_dir: str | Path, max_rows: int = 200) -> dict[str, list[str]]:
    """Texts of the curated target test sets per language (first ``max_rows`` rows per file)."""
    out: dict[str, list[str]] = {}
    for run in finished_runs(study_dir, "curate"):
        for path in sorted((run / "tasks").glob("*/test.*.jsonl")):
            lang = path.name.split(".")[1]
            for row in read_jsonl(path)[:max_rows]:
                out.setdefault(lang, []).extend(row_texts(row))
    return out


def study_fertility(study_dir: str | Path, model: str, max_rows: int = 200) -> pd.DataFrame:
    """Fertility of the study's tokenizer (``model``) on its curated test texts."""
    texts = curated_test_texts(study_dir, max_rows)
    if not texts:
        out = pd.DataFrame(columns=["language", "fertility"])
        out.attrs["note"] = "no curated test texts found"
        return out
    from ..models.loading import load_tokenizer

    return fertility(texts, load_tokenizer(model))


FORGETTING_COLUMNS = [
    "intermediate",
    "intermediate_domain",
    "target",
    "layer",
    "language",
    "before",
    "after",
    "change",
    "n_seeds",
]


def forgetting(results: pd.DataFrame) -> pd.DataFrame:
    """Retrieval accuracy per layer, before (baseline) and after intermediate training, in points.

    One row per (intermediate, target, layer, language): ``before``, ``after`` (means over seeds)
    and ``change`` = after − before (negative = forgetting).
    """
    lay = results[results["layer"].notna() & (results["metric"] == "accuracy")].copy()
    if lay.empty:
        return pd.DataFrame(columns=FORGETTING_COLUMNS)
    lay["value"] = lay["value"] * (100.0 if lay["value"].max() <= 1.0 else 1.0)
    keys = ["target", "layer", "language"]
    before = lay[lay["intermediate"] == BASELINE].groupby(keys)["value"].mean().rename("before")
    after = (
        lay[lay["intermediate"] != BASELINE]
        .groupby(["intermediate", "intermediate_domain"] + keys)
        .agg(after=("value", "mean"), n_seeds=("seed", "nunique"))
        .reset_index()
    )
    out = after.merge(before.reset_index(), on=keys, how="inner")
    out["change"] = out["after"] - out["before"]
    out["layer"] = out["layer"].astype(int)
    return out[FORGETTING_COLUMNS]
