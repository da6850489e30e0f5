"""English fact-checking and NLI intermediate tasks from BIG-bench.

None has a predefined split; each is split by ``embedded.hash_split`` of a group key (see there):
VitaminC by claim (its contrastive pairs share the claim), FEVER / covid19 / politifact by their
``id``, presuppositions_as_nli by ``comment.example_id`` (negated / non-negated variants together).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import bigbench
from .embedded import check_language, check_split, hash_split, target_label
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

LICENSE = "Apache-2.0 (BIG-bench task)"
CLAIM_WRAPPER = re.compile(
    r"^On (?P<date>.+?), the following claim was made: (?P<claim>.*)\n"
    r"Q: Was this claim true or false\?\s*$",
    re.S,
)
PRESUPPOSITION = re.compile(
    r"^Sentence 1: (?P<a>.*)\nSentence 2: (?P<b>.*?)\s*\n\nThe answer is: ?$", re.S
)


def _parse_vitaminc(ex: dict, where: str) -> tuple[dict, str]:
    # "Title: evidence\nClaim: claim"; the page title stays in text_a (titles may contain ": ").
    evidence, sep, claim = ex["input"].rpartition("\nClaim: ")
    if not sep or not evidence.strip() or not claim.strip():
        raise ValueError(f"{where}: field 'input' is not 'Title: evidence\\nClaim: claim'")
    return {"text_a": evidence.strip(), "text_b": claim.strip()}, claim.strip()


def _parse_claim(ex: dict, where: str) -> tuple[dict, str]:
    match = CLAIM_WRAPPER.match(ex["input"])
    if not match:
        raise ValueError(
            f"{where}: field 'input' lacks the 'On <date>, the following claim was made: "
            "... Q: Was this claim true or false?' wrapper"
        )
    return {"text": match["claim"].strip(), "date": match["date"]}, str(ex.get("id", ex["input"]))


def _parse_presupposition(ex: dict, where: str) -> tuple[dict, str]:
    match = PRESUPPOSITION.match(ex["input"])
    if not match:
        raise ValueError(f"{where}: field 'input' is not 'Sentence 1: ...\\nSentence 2: ...'")
    group = str((ex.get("comment") or {}).get("example_id", match["a"]))
    return {"text_a": match["a"].strip(), "text_b": match["b"].strip()}, group


def _loader(
    name: str,
    member: str,
    fmt: Format,
    labels: tuple[str, ...],
    parse: Callable[[dict, str], tuple[dict, str]],
):
    def load(split: str, language: str = "en") -> list[dict]:
        check_split(name, split)
        check_language(name, language, ("en",))
        rows = []
        for i, ex in enumerate(bigbench.examples(member)):
            where = f"bigbench {member} examples[{i}]"
            fields, group = parse(ex, where)
            if hash_split(group, name) != split:
                continue
            row = {
                "id": f"{name}-{i:05d}",
                **fields,
                "label": target_label(ex, labels, where=where),
            }
            rows.append(validate_row(row, fmt, where=where, n_labels=len(labels)))
        return rows

    return load


TASKS = (
    # name, member, format, domain, labels, parser, description
    (
        "vitaminc",
        "vitaminc_fact_verification",
        Format.PAIR,
        "general",
        ("True", "False", "Neither"),
        _parse_vitaminc,
        "VitaminC contrastive fact verification: Wikipedia evidence (text_a) vs claim (text_b)",
    ),
    (
        "fever",
        "fact_checker/fever",
        Format.SINGLE,
        "general",
        ("true", "false"),
        _parse_claim,
        "FEVER claims, true/false without evidence",
    ),
    (
        "covid19_scientific",
        "fact_checker/covid19_scientific",
        Format.SINGLE,
        "biomedical",
        ("true", "false"),
        _parse_claim,
        "COVID-19 scientific claims, true/false",
    ),
    (
        "politifact",
        "fact_checker/politifact",
        Format.SINGLE,
        "other",
        ("true", "false"),
        _parse_claim,
        "PolitiFact political claims, true/false",
    ),
    (
        "presuppositions_as_nli",
        "presuppositions_as_nli",
        Format.PAIR,
        "general",
        ("entailment", "neutral", "contradiction"),
        _parse_presupposition,
        "Presuppositions as NLI (3 labels)",
    ),
)

bigbench.need(*(member for _, member, *_ in TASKS))
for _name, _member, _fmt, _domain, _labels, _parse, _desc in TASKS:
    register(
        TaskSpec(
            name=_name,
            format=_fmt,
            domain=_domain,
            roles=("intermediate",),
            source=Source("embedded", bigbench.SOURCE_ID, _member),
            metric="accuracy",
            label_names=_labels,
            license=LICENSE,
            loader=_loader(_name, _member, _fmt, _labels, _parse),
            description=_desc + "; hash splits 80/10/10",
        )
    )
