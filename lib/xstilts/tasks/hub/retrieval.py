"""Sentence retrieval targets: BUCC 2018 and Tatoeba (google/xtreme).

Rows are ``{id, text}`` for one side: ``side="source"`` (default) gives the sentences in
``language``, ``side="english"`` the English sides of the same gold pairs; a pair shares its id.
google/xtreme keeps only the gold pairs (no BUCC distractors), BUCC ``validation`` = the BUCC
sample set and ``test`` = the BUCC training set; Tatoeba has one split (validation = our test),
whose sentences keep a trailing newline (stripped here). XTREME-R's extra Tatoeba languages
(az lt pl uk ro) are not on the hub: pass ``data_files=`` (LASER ``tatoeba.<l3>-eng.{<l3>,eng}``).
"""

from __future__ import annotations

from ...languages import TASK_LANGUAGES, TATOEBA_CONFIG_NAMES
from ..registry import Source
from ..schema import Format
from . import raw
from .loading import HubDatasetUnavailable, hub_fetch, register_hub_task


def _side_mapper(task: str):
    def map_pair_side(rec: dict, language: str, where: str, side: str = "source") -> dict:
        if side not in ("source", "english"):
            raise ValueError(f"task {task}: side must be 'source' or 'english', got {side!r}")
        text = rec["source_sentence"] if side == "source" else rec["target_sentence"]
        return {"id": f"{task}-{language}-{rec['_index']}", "text": text.strip()}

    return map_pair_side


def read_tatoeba_files(data_files, split: str, language: str):
    l3 = TATOEBA_CONFIG_NAMES.get(language, language)
    src = raw.find_files(data_files, [f"tatoeba.{l3}-eng.{l3}"], "Tatoeba source")
    eng = raw.find_files(data_files, [f"tatoeba.{l3}-eng.eng"], "Tatoeba English")
    with open(src[0], encoding="utf-8") as fs, open(eng[0], encoding="utf-8") as fe:
        src_lines, eng_lines = fs.readlines(), fe.readlines()
    if len(src_lines) != len(eng_lines):
        raise raw.RawFormatError(
            f"{src[0]} and {eng[0]} differ in length ({len(src_lines)} vs {len(eng_lines)})"
        )
    for s, e in zip(src_lines, eng_lines, strict=True):
        yield {"source_sentence": s, "target_sentence": e, "source_lang": l3, "target_lang": "eng"}


_tatoeba_hub = hub_fetch(
    "google/xtreme", lambda lang: f"tatoeba.{TATOEBA_CONFIG_NAMES[lang]}", task="tatoeba"
)


def _fetch_tatoeba(split: str, language: str):
    if language not in TATOEBA_CONFIG_NAMES:
        raise HubDatasetUnavailable(
            f"tatoeba: language {language!r} (XTREME-R) is not in google/xtreme; pass data_files= "
            f"pointing at LASER's tatoeba.<l3>-eng.<l3> / .eng files"
        )
    return _tatoeba_hub(split, language)


def _register(
    name: str, *, source: Source, languages, splits, fetch, read_raw, split_map, description
):
    return register_hub_task(
        name=name,
        format=Format.RETRIEVAL,
        domain="general",
        roles=("target",),
        source=source,
        metric="f1" if name == "bucc" else "accuracy",
        languages=languages,
        splits=splits,
        license="BUCC: research use" if name == "bucc" else "CC BY 2.0 FR (Tatoeba)",
        description=description,
        loader_fetch=fetch,
        mapper=_side_mapper(name),
        read_raw=read_raw,
        split_map=split_map,
        mapper_options=("side",),
    )


_register(
    "bucc",
    source=Source("hub", "google/xtreme", "bucc18.<lang>"),
    languages=TASK_LANGUAGES["bucc"],
    splits=("validation", "test"),
    split_map={},
    fetch=hub_fetch("google/xtreme", lambda lang: f"bucc18.{lang}", task="bucc"),
    read_raw=None,
    description="BUCC 2018 bitext mining, gold pairs only (test = BUCC training set)",
)
_register(
    "tatoeba",
    source=Source("hub", "google/xtreme", "tatoeba.<lang3>"),
    languages=TASK_LANGUAGES["tatoeba_xtremer"],
    splits=("test",),
    split_map={"test": "validation"},
    fetch=_fetch_tatoeba,
    read_raw=read_tatoeba_files,
    description="Tatoeba sentence retrieval against English (XTREME + XTREME-R languages)",
)
