"""Tagging targets: UD POS (``udpos``) and PAN-X NER (``panx``), XTREME + XTREME-R languages.

* ``udpos``: google/xtreme ``udpos.<Language>`` (UD v2.5, all treebanks of a language
  concatenated, 17 tags in alphabetical order). XTREME-R's extra languages (lt pl uk ro) are not
  there; they come from ``universal-dependencies/universal_dependencies`` (UD v2.7, script-only:
  Parquet export), whose 18-tag ``upos`` order differs and includes ``_``: ids are remapped by
  name and ``_`` tokens dropped. Raw files: CoNLL-U.
* ``panx``: google/xtreme ``PAN-X.<lang>``; XTREME-R's extra languages from
  ``unimelb-nlp/wikiann`` (same Rahimi splits, same tag ids). Raw files: ``xx:token<TAB>TAG``.
"""

from __future__ import annotations

from ...languages import TASK_LANGUAGES, UDPOS_CONFIG_NAMES
from ..protocol import PROTOCOLS
from ..registry import Source, TaskSpec, register
from ..schema import Format, SchemaError
from . import raw
from .loading import hub_fetch, load_hub_split, register_hub_task

# XTREME-R languages missing from google/xtreme udpos -> UD v2.7 treebanks
UD27_TREEBANKS = {
    "lt": ("lt_alksnis", "lt_hse"),
    "pl": ("pl_lfg", "pl_pdb", "pl_pud"),
    "uk": ("uk_iu",),
    "ro": ("ro_nonstandard", "ro_rrt", "ro_simonero"),
}


def _check_tags(task: str, tags, n: int, where: str, field: str) -> list[int]:
    tags = [int(t) for t in tags]
    bad = [t for t in tags if not 0 <= t < n]
    if bad:
        raise SchemaError(
            f"task {task} {where}: field {field!r} has tag id(s) {bad} outside 0..{n - 1}"
        )
    return tags


def map_udpos(rec: dict, language: str, where: str) -> dict | None:
    if "upos" in rec:  # universal_dependencies schema (18 tags, other order)
        tokens, tags = [], []
        for token, tag in zip(rec["tokens"], rec["upos"], strict=True):
            name = raw.UD_UPOS[tag] if isinstance(tag, int) else tag
            if name == "_":
                continue
            if name not in raw.XTREME_UPOS:
                raise SchemaError(f"task udpos {where}: field 'upos' value {name!r} not a UPOS tag")
            tokens.append(token)
            tags.append(raw.XTREME_UPOS.index(name))
        rid = rec.get("idx") or rec["_index"]
    else:
        tokens = list(rec["tokens"])
        tags = _check_tags("udpos", rec["pos_tags"], len(raw.XTREME_UPOS), where, "pos_tags")
        rid = rec["_index"]
    if not tokens:
        return None
    return {"id": f"udpos-{rec['_split']}-{language}-{rid}", "tokens": tokens, "tags": tags}


def _fetch_udpos(split: str, language: str):
    if language in UD27_TREEBANKS:
        for treebank in UD27_TREEBANKS[language]:
            if treebank.endswith("_pud") and split != "test":  # PUD treebanks are test-only
                continue
            yield from load_hub_split(
                "universal-dependencies/universal_dependencies",
                treebank,
                split,
                parquet_export=True,
                task="udpos",
            )
        return
    yield from load_hub_split(
        "google/xtreme", f"udpos.{UDPOS_CONFIG_NAMES[language]}", split, task="udpos"
    )


def read_udpos_files(data_files, split: str, language: str):
    return raw.read_conllu(raw.udpos_files(data_files, split, language))


register_hub_task(
    name="udpos",
    format=Format.TAGGING,
    domain="general",
    roles=("target",),
    source=Source(
        "hub",
        "google/xtreme",
        "udpos.<Language>",
        note="XTREME-R lt/pl/uk/ro: universal-dependencies/universal_dependencies v2.7",
    ),
    metric=PROTOCOLS["udpos"].metric,
    languages=TASK_LANGUAGES["udpos_xtremer"],
    label_names=raw.XTREME_UPOS,
    license="per treebank (mostly CC BY-SA 4.0)",
    description="UD part-of-speech tagging (XTREME v2.5 + XTREME-R languages)",
    loader_fetch=_fetch_udpos,
    mapper=map_udpos,
    read_raw=read_udpos_files,
)


def map_panx(rec: dict, language: str, where: str) -> dict:
    tags = _check_tags("panx", rec["ner_tags"], len(raw.PANX_TAGS), where, "ner_tags")
    return {
        "id": f"panx-{rec['_split']}-{language}-{rec['_index']}",
        "tokens": list(rec["tokens"]),
        "tags": tags,
    }


_PANX_XTREME = set(TASK_LANGUAGES["panx"])
_panx_xtreme = hub_fetch("google/xtreme", lambda lang: f"PAN-X.{lang}", task="panx")
_panx_wikiann = hub_fetch("unimelb-nlp/wikiann", lambda lang: lang, task="panx")


def _fetch_panx(split: str, language: str):
    return (_panx_xtreme if language in _PANX_XTREME else _panx_wikiann)(split, language)


def read_panx_files(data_files, split: str, language: str):
    stem = {"train": "train", "validation": "dev", "test": "test"}[split]
    return raw.read_panx(raw.find_files(data_files, [f"{language}/{stem}", stem], f"PAN-X {split}"))


register_hub_task(
    name="panx",
    format=Format.TAGGING,
    domain="general",
    roles=("target",),
    source=Source(
        "hub", "google/xtreme", "PAN-X.<lang>", note="XTREME-R extra languages: unimelb-nlp/wikiann"
    ),
    metric=PROTOCOLS["panx"].metric,
    languages=TASK_LANGUAGES["panx_xtremer"],
    label_names=raw.PANX_TAGS,
    license="WikiANN: unclear (research use)",
    description="WikiANN/PAN-X named entities (XTREME)",
    loader_fetch=_fetch_panx,
    mapper=map_panx,
    read_raw=read_panx_files,
)

# CCG supertagging (Phang et al. 2020) needs CCGbank, which is LDC-licensed: listed, never loaded.
register(
    TaskSpec(
        name="ccg",
        format=Format.TAGGING,
        domain="general",
        roles=("intermediate",),
        source=Source("unavailable", "CCGbank (LDC2005T13)", None, note="LDC-licensed"),
        metric="accuracy",
        license="LDC User Agreement (not redistributable)",
        description="CCG supertagging; unavailable: CCGbank is LDC-licensed",
    )
)
