"""GNOME Help (general-domain target): the topic of a how-to paragraph, in 7 languages; and the
same paragraphs as a parallel retrieval target.

Source: Debian ``gnome-user-docs 43.0-2`` (``.deb`` read with ``assets.deb``, never installed):
``usr/share/help/<locale>/gnome-help/<page id>.page`` is Mallard XML, the English original under
``C`` and each translation with the same structure. Licence: CC BY-SA 3.0.

Rows: the ``<p>`` paragraphs of a page, in document order, of at least ``MIN_WORDS`` words. A
translated page is aligned paragraph by paragraph to the English one; a page whose paragraph count
differs is left out of that language. An untranslated paragraph (equal to the English text) is not
a translation and drops the item. Only paragraphs translated into every language of ``LANGUAGES``
are served, so test items are parallel. Labels: the page id's prefix (``net-``, ``power-``, ...)
grouped into the 10 topics of ``PREFIX_TOPIC`` (pages of other prefixes are left out). They come
from how the manual is organised, not from annotators. Splits: by page id, so the paragraphs of
one page never sit on two sides (``embedded.hash_split``, 60/10/30: ``FRACTIONS``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import lru_cache

from ..assets.deb import deb_files
from ..assets.fetch import ensure_package
from ..assets.table import ASSETS
from .embedded import check_language, check_split, hash_split
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

NAME = "gnome_help"
HELP_DIR = "usr/share/help/"
MALLARD = "{http://projectmallard.org/1.0/}"
LOCALES = {"de": "de", "es": "es", "fr": "fr", "pl": "pl", "pt": "pt_BR", "ru": "ru"}
LANGUAGES = ("en", *LOCALES)
MIN_WORDS = 6
# 60/10/30 by page: a page holds ~5 paragraphs of one topic, so a 10 % test split would hold only
# ~25 pages and a topic or two would have no test page at all
FRACTIONS = (0.6, 0.1, 0.3)
TOPICS = (
    "networking",
    "power",
    "colour and display",
    "files and disks",
    "desktop",
    "printing",
    "accessibility",
    "accounts and privacy",
    "input devices",
    "sound and media",
)
PREFIX_TOPIC = {
    "net": 0, "sharing": 0, "bluetooth": 0,
    "power": 1,
    "color": 2, "display": 2, "look": 2, "screen": 2,
    "files": 3, "nautilus": 3, "backup": 3, "disk": 3,
    "shell": 4, "session": 4, "clock": 4, "prefs": 4, "tips": 4, "status": 4,
    "printing": 5,
    "a11y": 6,
    "user": 7, "accounts": 7, "privacy": 7, "contacts": 7,
    "keyboard": 8, "mouse": 8, "wacom": 8, "touchscreen": 8,
    "sound": 9, "music": 9, "video": 9, "media": 9,
}  # fmt: skip
LICENSE = ASSETS["gnome_help"].licence


class GnomeHelpDataError(ValueError):
    """A GNOME Help page is not Mallard XML."""


def paragraphs(xml: bytes, where: str) -> list[str]:
    """The text of every ``<p>`` of a Mallard page, whitespace collapsed, in document order."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 (a hash-verified package file)
    except ET.ParseError as err:
        raise GnomeHelpDataError(f"{where}: not XML ({err})") from err
    return [re.sub(r"\s+", " ", "".join(p.itertext())).strip() for p in root.iter(MALLARD + "p")]


def topic_of(page: str) -> int | None:
    return PREFIX_TOPIC.get(re.split(r"[-.]", page)[0])


@lru_cache(maxsize=1)
def items() -> tuple[dict, ...]:
    """Every paragraph translated into all languages: ``{id, page, label, texts: {lang: text}}``."""
    archive = ensure_package("gnome_help")
    locales = {"C", *LOCALES.values()}
    files = deb_files(
        archive,
        lambda p: p.startswith(HELP_DIR) and "/gnome-help/" in p and p.split("/")[3] in locales,
    )
    pages = sorted(
        p.rsplit("/", 1)[1][: -len(".page")] for p in files if "/C/" in p and p.endswith(".page")
    )
    if not pages:
        raise GnomeHelpDataError(f"{archive.name}: no {HELP_DIR}C/gnome-help/*.page")
    out = []
    for page in pages:
        if topic_of(page) is None:
            continue
        out += _page_items(files, page, f"{archive.name}:{HELP_DIR}")
    return tuple(out)


def _page_items(files: dict[str, bytes], page: str, where: str) -> list[dict]:
    def read(locale: str) -> list[str] | None:
        path = f"{HELP_DIR}{locale}/gnome-help/{page}.page"
        return paragraphs(files[path], where + path) if path in files else None

    english = read("C")
    translated = {lang: read(loc) for lang, loc in LOCALES.items()}
    out = []
    for i, text in enumerate(english):
        if len(text.split()) < MIN_WORDS:
            continue
        texts = {"en": text}
        for lang, paras in translated.items():
            if paras is not None and len(paras) == len(english) and paras[i] and paras[i] != text:
                texts[lang] = paras[i]
        if len(texts) == len(LANGUAGES):
            out.append(
                {"id": f"{page}-p{i:03d}", "page": page, "label": topic_of(page), "texts": texts}
            )
    return out


def load(split: str, language: str = "en") -> list[dict]:
    check_split(NAME, split)
    check_language(NAME, language, LANGUAGES)
    rows = [
        {"id": it["id"], "text": it["texts"][language], "label": it["label"], "page": it["page"]}
        for it in items()
        if hash_split(it["page"], NAME, FRACTIONS) == split
    ]
    return [
        validate_row(r, Format.SINGLE, where=f"{NAME} {r['id']}", n_labels=len(TOPICS))
        for r in rows
    ]


def load_parallel(split: str, language: str = "en") -> list[dict]:
    """The test split's paragraphs as retrieval rows (English is the other side of each pair)."""
    if split != "test":
        raise ValueError(
            f"task 'gnome_help_parallel' is evaluation-only: split {split!r}; it has test"
        )
    return [
        validate_row(
            {"id": r["id"], "text": r["text"]},
            Format.RETRIEVAL,
            where=f"gnome_help_parallel {r['id']}",
        )
        for r in load("test", language)
    ]


_SOURCE = Source("embedded", ASSETS["gnome_help"].spec, HELP_DIR + "<locale>/gnome-help/*.page")
register(
    TaskSpec(
        name=NAME,
        format=Format.SINGLE,
        domain="general",
        roles=("target",),
        source=_SOURCE,
        metric="accuracy",
        languages=LANGUAGES,
        label_names=TOPICS,
        license=LICENSE,
        loader=load,
        description="GNOME Help paragraph -> topic (10 labels), 7 parallel languages; split by page 60/10/30",
    )
)
register(
    TaskSpec(
        name="gnome_help_parallel",
        format=Format.RETRIEVAL,
        domain="general",
        roles=("target",),
        source=_SOURCE,
        metric="accuracy",
        languages=LANGUAGES,
        splits=("test",),
        license=LICENSE,
        loader=load_parallel,
        description="The same GNOME Help paragraph in English and another language; gnome_help test pages only",
    )
)
