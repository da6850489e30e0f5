"""Legal intermediate task: the category of a software licence, from one of its clauses.

Source: the licence texts of ScanCode (``scancode-toolkit-mini==32.5.0`` wheel, read with
``zipfile``, never installed; its data is CC BY 4.0 per ``licensedcode/data/scancode-data.ABOUT``).
Each ``licensedcode/data/licenses/<key>.LICENSE`` is YAML front matter (``key``, ``category``, ...)
and the full text of a licence, EULA or terms of service. This is contract language, not case law.

Rows: one paragraph (blank-line separated, whitespace collapsed) of at least ``MIN_CHARS``
characters, labelled with its licence's category, the rare categories merged (``CATEGORY_LABEL``).
A paragraph that recurs (in the same or another licence, compared case- and whitespace-blind) is
kept once, with the first licence in key order, so that no clause appears on two sides of the
split. Deprecated licences (duplicates of a current key) and the handful of "Unstated License"
entries are left out. Splits are by licence ``key`` (``embedded.hash_split``), so no licence has
clauses on two sides.
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache

import yaml

from ..assets.fetch import ensure_package
from ..assets.table import ASSETS
from .embedded import check_language, check_split, hash_split
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

NAME = "licence_clauses"
MEMBER_DIR = "licensedcode/data/licenses/"
MIN_CHARS = 150
LABELS = ("permissive", "copyleft", "proprietary", "restricted")
# ScanCode category -> label. Public Domain joins Permissive; the weak copyleft ("Copyleft
# Limited") joins Copyleft; Commercial and Proprietary Free are both proprietary terms; the rest
# grant use with conditions that are neither (source-available, free-restricted, CLA, patent).
CATEGORY_LABEL = {
    "Permissive": "permissive",
    "Public Domain": "permissive",
    "Copyleft": "copyleft",
    "Copyleft Limited": "copyleft",
    "Proprietary Free": "proprietary",
    "Commercial": "proprietary",
    "Source-available": "restricted",
    "Free Restricted": "restricted",
    "CLA": "restricted",
    "Patent License": "restricted",
}
SKIPPED_CATEGORIES = ("Unstated License",)


class LicenceDataError(ValueError):
    """A ScanCode licence file is not YAML front matter plus text, or has an unknown category."""


def _front_matter(text: str, where: str) -> tuple[dict, str]:
    parts = text.split("---", 2) if text.startswith("---") else []
    if len(parts) != 3:
        raise LicenceDataError(f"{where}: expected '---' YAML front matter, then the licence text")
    meta = yaml.safe_load(parts[1])
    if not isinstance(meta, dict) or not meta.get("key") or not meta.get("category"):
        raise LicenceDataError(f"{where}: front matter lacks 'key' or 'category'")
    return meta, parts[2]


def paragraphs(body: str) -> list[str]:
    """The paragraphs of a licence text of at least ``MIN_CHARS`` characters, whitespace collapsed."""
    out = (re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", body))
    return [p for p in out if len(p) >= MIN_CHARS]


@lru_cache(maxsize=1)
def clauses() -> tuple[dict, ...]:
    """Every kept clause: ``{key, category, text}``, licences in key order."""
    archive = ensure_package("scancode")
    out, seen = [], set()
    with zipfile.ZipFile(archive) as zf:
        members = sorted(
            n for n in zf.namelist() if n.startswith(MEMBER_DIR) and n.endswith(".LICENSE")
        )
        if not members:
            raise LicenceDataError(f"{archive}: no {MEMBER_DIR}*.LICENSE members")
        for member in members:
            where = f"{archive.name}:{member}"
            meta, body = _front_matter(zf.read(member).decode("utf-8"), where)
            category = meta["category"]
            if meta.get("is_deprecated") or category in SKIPPED_CATEGORIES:
                continue
            if category not in CATEGORY_LABEL:
                raise LicenceDataError(
                    f"{where}: field 'category' is {category!r}, expected one of "
                    f"{sorted(CATEGORY_LABEL) + list(SKIPPED_CATEGORIES)}"
                )
            for text in paragraphs(body):
                fold = text.casefold()
                if fold in seen:
                    continue
                seen.add(fold)
                out.append({"key": meta["key"], "category": category, "text": text})
    return tuple(out)


def load(split: str, language: str = "en") -> list[dict]:
    check_split(NAME, split)
    check_language(NAME, language, ("en",))
    rows = []
    for i, clause in enumerate(clauses()):
        if hash_split(clause["key"], NAME) != split:
            continue
        row = {
            "id": f"{NAME}-{i:05d}",
            "text": clause["text"],
            "label": LABELS.index(CATEGORY_LABEL[clause["category"]]),
            "licence": clause["key"],
        }
        rows.append(
            validate_row(row, Format.SINGLE, where=f"{NAME} {row['id']}", n_labels=len(LABELS))
        )
    return rows


register(
    TaskSpec(
        name=NAME,
        format=Format.SINGLE,
        domain="legal",
        roles=("intermediate",),
        source=Source("embedded", ASSETS["scancode"].spec, MEMBER_DIR),
        metric="accuracy",
        label_names=LABELS,
        license="CC BY 4.0 (ScanCode datasets, nexB Inc. and others)",
        loader=load,
        description=(
            "Software licence / EULA / terms-of-service clauses (contract language, not case law) "
            "labelled with their licence's category; split by licence key 80/10/10"
        ),
    )
)


# --- licence_rules: the kind of a ScanCode detection rule -----------------------------------------
# ``licensedcode/data/rules/*.RULE``: YAML front matter (``license_expression``, one flag
# ``is_license_<kind>: yes``) and a snippet as found in software: a notice, a reference to a
# licence, a licence text, or a tag. ``{{...}}`` marks required phrases and is dropped. Many rules
# are templated near-duplicates: a snippet that recurs (case- and whitespace-blind) is kept once,
# and the split is by licence expression, so no licence has rules on two sides.
RULES_NAME = "licence_rules"
RULES_DIR = "licensedcode/data/rules/"
RULE_KINDS = ("notice", "reference", "text", "tag")
MIN_RULE_WORDS = 4


def _rule(text: str, where: str) -> dict | None:
    parts = text.split("---", 2) if text.startswith("---") else []
    if len(parts) != 3:
        raise LicenceDataError(f"{where}: expected '---' YAML front matter, then the rule text")
    # two flat keys are read (a full YAML parse of 36k rules took 12 s)
    meta = dict(re.findall(r"^(license_expression|is_license_\w+):[ \t]*(.*?)\s*$", parts[1], re.M))
    kinds = [k for k in RULE_KINDS if meta.get(f"is_license_{k}") in ("yes", "true")]
    body = re.sub(r"\s+", " ", parts[2].replace("{{", "").replace("}}", "")).strip()
    if len(kinds) != 1 or not meta.get("license_expression") or len(body.split()) < MIN_RULE_WORDS:
        return None
    return {"key": str(meta["license_expression"]), "kind": kinds[0], "text": body}


@lru_cache(maxsize=1)
def rules() -> tuple[dict, ...]:
    archive = ensure_package("scancode")
    out, seen = [], set()
    with zipfile.ZipFile(archive) as zf:
        members = sorted(
            n for n in zf.namelist() if n.startswith(RULES_DIR) and n.endswith(".RULE")
        )
        if not members:
            raise LicenceDataError(f"{archive}: no {RULES_DIR}*.RULE members")
        for member in members:
            rule = _rule(zf.read(member).decode("utf-8"), f"{archive.name}:{member}")
            if rule is None or rule["text"].casefold() in seen:
                continue
            seen.add(rule["text"].casefold())
            out.append({**rule, "member": member.rsplit("/", 1)[1][: -len(".RULE")]})
    return tuple(out)


def load_rules(split: str, language: str = "en") -> list[dict]:
    check_split(RULES_NAME, split)
    check_language(RULES_NAME, language, ("en",))
    rows = [
        {
            "id": f"{RULES_NAME}-{r['member']}",
            "text": r["text"],
            "label": RULE_KINDS.index(r["kind"]),
            "licence": r["key"],
        }
        for r in rules()
        if hash_split(r["key"], RULES_NAME) == split
    ]
    return [
        validate_row(r, Format.SINGLE, where=f"{RULES_NAME} {r['id']}", n_labels=len(RULE_KINDS))
        for r in rows
    ]


register(
    TaskSpec(
        name=RULES_NAME,
        format=Format.SINGLE,
        domain="legal",
        roles=("intermediate",),
        source=Source("embedded", ASSETS["scancode"].spec, RULES_DIR),
        metric="accuracy",
        label_names=RULE_KINDS,
        license="CC BY 4.0 (ScanCode datasets, nexB Inc. and others)",
        loader=load_rules,
        description="ScanCode licence-detection rule -> kind (notice / reference / text / tag); "
        "deduplicated, split by licence expression 80/10/10",
    )
)
