"""WordNet supersenses (general-domain intermediate tasks): the lexicographer file of a synset,
from its lemma and gloss. ``wordnet_nouns``: 25 noun supersenses; ``wordnet_verbs``: 15 verb ones.

Source: Debian ``wordnet-base 1:3.0-37`` (``.deb`` read with ``assets.deb``, never installed):
``usr/share/wordnet/data.noun`` and ``data.verb`` (wndb(5WN): ``offset lex_filenum ss_type w_cnt
word lex_id ... | gloss``). Licence: the WordNet 3.0 licence (Princeton University, permissive).

Rows: ``"<first lemma>: <gloss>"`` (underscores read as spaces), labelled with the synset's
lexicographer file (lexnames(5WN): ``LEXNAMES``). Splits: by the first lemma, so the senses of one
word never sit on two sides (``embedded.hash_split``).
"""

from __future__ import annotations

from functools import lru_cache

from ..assets.deb import deb_files
from ..assets.fetch import ensure_package
from ..assets.table import ASSETS
from .embedded import check_language, check_split, hash_split
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

DICT_DIR = "usr/share/wordnet/"
# lexnames(5WN): lexicographer file number -> name (fixed by WordNet 3.0)
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession "
    "noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time "
    "verb.body verb.change verb.cognition verb.communication verb.competition verb.consumption "
    "verb.contact verb.creation verb.emotion verb.motion verb.perception verb.possession "
    "verb.social verb.stative verb.weather adj.ppl"
).split()
NOUN_LABELS = tuple(n.split(".")[1] for n in LEXNAMES if n.startswith("noun.") and n != "noun.Tops")
VERB_LABELS = tuple(n.split(".")[1] for n in LEXNAMES if n.startswith("verb."))
LICENSE = ASSETS["wordnet"].licence


class WordNetDataError(ValueError):
    """A WordNet data line is not in the wndb(5WN) form."""


@lru_cache(maxsize=1)
def _data_files() -> dict[str, str]:
    archive = ensure_package("wordnet")
    wanted = {DICT_DIR + "data.noun", DICT_DIR + "data.verb"}
    files = deb_files(archive, lambda p: p in wanted)
    if set(files) != wanted:
        raise WordNetDataError(f"{archive.name}: missing {sorted(wanted - set(files))}")
    return {p.rsplit(".", 1)[1]: b.decode("utf-8") for p, b in files.items()}


def synsets(pos: str) -> list[dict]:
    """``{offset, lemma, lexname, gloss}`` of every synset in ``data.<pos>``."""
    out = []
    for n, line in enumerate(_data_files()[pos].splitlines()):
        if line.startswith("  "):  # the licence header
            continue
        head, sep, gloss = line.partition(" | ")
        fields = head.split()
        if not sep or len(fields) < 5 or not fields[1].isdigit():
            raise WordNetDataError(f"data.{pos} line {n + 1}: not 'offset lex_filenum ... | gloss'")
        lemma = fields[4].replace("_", " ")
        out.append(
            {
                "offset": fields[0],
                "lemma": lemma,
                "lexname": LEXNAMES[int(fields[1])],
                "gloss": gloss.strip(),
            }
        )
    return out


def _loader(name: str, pos: str, labels: tuple[str, ...]):
    def load(split: str, language: str = "en") -> list[dict]:
        check_split(name, split)
        check_language(name, language, ("en",))
        rows = [
            {
                "id": f"{name}-{s['offset']}",
                "text": f"{s['lemma']}: {s['gloss']}",
                "label": labels.index(s["lexname"].split(".")[1]),
            }
            for s in synsets(pos)
            if s["lexname"] != "noun.Tops" and hash_split(s["lemma"].lower(), name) == split
        ]
        return [
            validate_row(r, Format.SINGLE, where=f"{name} {r['id']}", n_labels=len(labels))
            for r in rows
        ]

    return load


for _name, _pos, _labels in (
    ("wordnet_nouns", "noun", NOUN_LABELS),
    ("wordnet_verbs", "verb", VERB_LABELS),
):
    register(
        TaskSpec(
            name=_name,
            format=Format.SINGLE,
            domain="general",
            roles=("intermediate",),
            source=Source("embedded", ASSETS["wordnet"].spec, f"{DICT_DIR}data.{_pos}"),
            metric="accuracy",
            label_names=_labels,
            license=LICENSE,
            loader=_loader(_name, _pos, _labels),
            description=f"WordNet {_pos} synset (lemma: gloss) -> supersense ({len(_labels)} labels); split by lemma 80/10/10",
        )
    )
