"""General-domain cross-lingual retrieval target: a WikiHow guide in language X vs its English summary.

Source: BIG-bench ``gem/wikilingua_multilingual`` (``bigbench==1.0.0`` sdist; WikiLingua, Ladhak
et al. 2020, from the GEM benchmark's test split): 152 items in each of 18 languages, each an
excerpt of a WikiHow how-to guide in language X (``input``) with the English summary of the same
guide (``target``); ``comment`` is ``wiki_lingua_<language>_<code>-test-<n>``. (The BIG-bench
description says "news article"; the texts are WikiHow guides: general, instructional domain.)

As a retrieval target (XTREME's Tatoeba shape: rows ``{id, text, english}``) the query is the
X-language guide and the index is the English summaries of the same language's items, so the
task asks whether the encoder places a text and an English summary of it together across
languages. It is a cross-lingual *summary* match, not translation retrieval: a summary shares
content, not wording. An English summary that recurs within a language (the same guide twice)
is kept once so that every query has one gold item; an item whose excerpt is empty
(a few, e.g. in ja and hi) is left out. English itself (en-en) is not a target
language: retrieval targets have no English side of their own.
"""

from __future__ import annotations

import re

from . import bigbench
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

NAME = "wikilingua"
MEMBER = "gem/wikilingua_multilingual"
COMMENT = re.compile(r"wiki_lingua_(?P<name>[a-z]+)_(?P<code>[a-z]+)-test-(?P<n>\d+)")
LANGUAGES = (
    "ar", "cs", "de", "es", "fr", "hi", "id", "it", "ja",
    "ko", "nl", "pt", "ru", "th", "tr", "vi", "zh",
)  # fmt: skip


def _parse(ex: dict, i: int) -> tuple[str, str]:
    """(language code, item number) of example ``i``, its fields checked."""
    where = f"bigbench {MEMBER} examples[{i}]"
    match = COMMENT.fullmatch(str(ex.get("comment", "")))
    if not match:
        raise ValueError(
            f"{where}: field 'comment' is not 'wiki_lingua_<language>_<code>-test-<n>'"
        )
    if not isinstance(ex.get("target"), str) or not ex["target"].strip():
        raise ValueError(f"{where}: field 'target' (the English summary) missing or empty")
    return match["code"], match["n"]


def load(split: str, language: str = "ar") -> list[dict]:
    if split != "test":
        raise ValueError(f"task {NAME!r} is evaluation-only: split {split!r}; it has test")
    if language not in LANGUAGES:
        raise ValueError(f"task {NAME!r}: unknown language {language!r}; it has {LANGUAGES}")
    rows, seen = [], set()
    for i, ex in enumerate(bigbench.examples(MEMBER)):
        code, n = _parse(ex, i)
        summary = ex["target"].strip()
        if code != language or summary in seen or not ex["input"].strip():
            continue  # one gold per query; a few guides have an empty excerpt (no query)
        seen.add(summary)
        row = {"id": f"{NAME}-{code}-{int(n):03d}", "text": ex["input"].strip(), "english": summary}
        rows.append(validate_row(row, Format.RETRIEVAL, where=f"{NAME} {row['id']}"))
    return rows


bigbench.need(MEMBER)
register(
    TaskSpec(
        name=NAME,
        format=Format.RETRIEVAL,
        domain="general",
        roles=("target",),
        source=Source("embedded", bigbench.SOURCE_ID, MEMBER),
        metric="accuracy",
        languages=LANGUAGES,
        splits=("test",),
        license="CC BY-NC-SA 3.0 (WikiLingua, from WikiHow); BIG-bench task Apache-2.0",
        loader=load,
        description=(
            "WikiLingua: WikiHow guide excerpt in X vs its English summary, 152 per language, "
            "accuracy@1 (general-domain cross-lingual retrieval)"
        ),
    )
)
