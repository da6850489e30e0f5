"""Sentence retrieval targets: Tatoeba (pairs) and BUCC 2018 (bitext mining), as XTREME runs them.

**Tatoeba** rows are pairs ``{id, text, english}``: the sentence in ``language`` and its English
translation. English is a different file for every pair (LASER ``tatoeba.<l3>-eng.{<l3>,eng}``),
so it is never a language of its own. google/xtreme's ``tatoeba.<l3>`` configs have one split
(validation = our test) whose sentences keep a trailing newline (stripped here). XTREME-R's
extra languages (az lt pl uk ro) are not on the hub: pass ``data_files=`` (LASER's layout).

**BUCC** is mining: rows are sentences ``{id, text, side, gold}`` of both sides (``side`` "x" or
"en"), distractors included; ``gold`` is the partner's id on x-side gold sentences, else None.
The official files (``<l>-en.{sample,training}.{<l>,en,gold}``, or XTREME's renamed
``<l>-en.{dev,test}.*``) are read through ``data_files``: validation = the sample set, test =
the training set (XTREME ``download_data.sh``; the official test gold is not public).
google/xtreme's ``bucc18.<l>`` configs keep only the gold pairs, on which mining F1 means
nothing, so the hub route is refused with a message saying what to pass instead.
"""

from __future__ import annotations

from ...languages import LANGUAGES, TASK_LANGUAGES, TATOEBA_CONFIG_NAMES
from ..protocol import PROTOCOLS
from ..registry import Source
from ..schema import Format, SchemaError
from . import raw
from .loading import HubDatasetUnavailable, hub_fetch, register_hub_task


def map_tatoeba(rec: dict, language: str, where: str) -> dict:
    return {
        "id": f"tatoeba-{language}-{rec['_index']}",
        "text": rec["source_sentence"].strip(),
        "english": rec["target_sentence"].strip(),
    }


def read_tatoeba_files(data_files, split: str, language: str):
    l3 = TATOEBA_CONFIG_NAMES.get(language) or LANGUAGES[language].iso3  # LASER: ISO 639-3
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


# --- BUCC ----------------------------------------------------------------------------------------

BUCC_STEMS = {"validation": ("sample", "dev"), "test": ("training", "test")}


def _bucc_file(data_files, language: str, split: str, suffix: str):
    patterns = [f"{language}-en.{stem}.{suffix}" for stem in BUCC_STEMS[split]]
    return raw.find_files(data_files, patterns, f"BUCC {split} .{suffix}")[0]


def _id_lines(path):
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise raw.RawFormatError(f"{path}:{lineno}: expected '<id>TAB<text>', got {line!r}")
            yield parts


def read_bucc_files(data_files, split: str, language: str):
    """Every sentence of both sides, with its gold partner (x side) from ``.gold``."""
    gold = dict(_id_lines(_bucc_file(data_files, language, split, "gold")))
    for side, suffix in (("x", language), ("en", "en")):
        for sid, text in _id_lines(_bucc_file(data_files, language, split, suffix)):
            yield {"sentence_id": sid, "sentence": text, "side": side, "gold": gold.get(sid)}


def map_bucc(rec: dict, language: str, where: str) -> dict:
    if "sentence_id" not in rec:
        raise SchemaError(
            f"task bucc {where}: a gold-pair record ({sorted(rec)[:4]}...); BUCC mining F1 needs "
            "the official BUCC 2018 files with their distractors (see _fetch_bucc)"
        )
    return {
        "id": rec["sentence_id"],
        "text": rec["sentence"],
        "side": rec["side"],
        "gold": rec["gold"],
    }


def _fetch_bucc(split: str, language: str):
    raise HubDatasetUnavailable(
        f"bucc ({language}, {split}): google/xtreme's bucc18.{language} config holds only the "
        "gold pairs, without the distractor sentences that mining F1 is measured against. Download "
        f"the official files (comparable.limsi.fr/bucc2018: bucc2018-{language}-en.sample-gold and "
        f".training-gold archives) and set curate.task_options.bucc.data_files to their folder."
    )


register_hub_task(
    name="bucc",
    format=Format.RETRIEVAL,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "bucc18.<lang>", note="mining: official files"),
    metric=PROTOCOLS["bucc"].metric,
    languages=TASK_LANGUAGES["bucc"],
    splits=("validation", "test"),
    license="BUCC: research use",
    description="BUCC 2018 bitext mining (test = BUCC training set, dev = sample set)",
    loader_fetch=_fetch_bucc,
    mapper=map_bucc,
    read_raw=read_bucc_files,
)
register_hub_task(
    name="tatoeba",
    format=Format.RETRIEVAL,
    domain="general",
    roles=("target",),
    source=Source("hub", "google/xtreme", "tatoeba.<lang3>"),
    metric=PROTOCOLS["tatoeba"].metric,
    # XTREME-R's 5 beyond XTREME's 36 need LASER's files (languages.NEEDS_FILES)
    languages=TASK_LANGUAGES["tatoeba_xtremer"],
    splits=("test",),
    license="CC BY 2.0 FR (Tatoeba)",
    description="Tatoeba sentence retrieval against English (XTREME + XTREME-R languages)",
    loader_fetch=_fetch_tatoeba,
    mapper=map_tatoeba,
    read_raw=read_tatoeba_files,
    split_map={"test": "validation"},
)
