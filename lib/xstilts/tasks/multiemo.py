"""MultiEmo (BIG-bench ``multiemo``): sentiment of Polish online reviews, machine-translated.

The ``all_text_<lang>`` files are parallel: the same reviews in the same order, Polish being the
source. Polish has one review more than the ten translations (8216 vs 8215): Polish item 6428 has
no translation, so a plain zip shifts every later pair by one. Some translations are empty
strings (Polish 4027 in every language, 470 and 3038 in Chinese); those items are dropped. ``align`` realigns each translation
to Polish with a banded dynamic programme over (label, normalised length) and the alignment is
accepted only if every aligned pair agrees on its label. Items are identified by their Polish
index (``multiemo-06428``) and only items present in all 11 languages are served.

The domain files (``hotels|medicine|products|reviews_text_en``) partition ``all_text_en`` exactly;
their items keep the ``all`` ids so the leakage audit and the manifest know which ones they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import median

from . import bigbench
from .embedded import check_language, check_split, hash_split, hash_unit, target_label
from .registry import Source, TaskSpec, register
from .schema import Format, validate_row

LANGUAGES = ("en", "de", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh")
LABELS = ("negative", "neutral", "positive", "ambivalent")
DOMAIN_FILES = {
    "hotels": "hospitality",
    "medicine": "biomedical",
    "products": "commerce",
    "reviews": "other",
}
SOURCE_LANGUAGE = "pl"
SALT = "multiemo"
LICENSE = "Apache-2.0 (BIG-bench task); MultiEmo data CC BY 4.0"

bigbench.need(
    *(f"multiemo/all_text_{lang}" for lang in LANGUAGES),
    *(f"multiemo/{d}_text_en" for d in DOMAIN_FILES),
)


class AlignmentError(ValueError):
    """A translation could not be aligned to the Polish source."""


def align(
    src_labels: list[int],
    src_lens: list[int],
    tgt_labels: list[int],
    tgt_lens: list[int],
    band: int = 8,
    gap: float = 2.0,
    label_cost: float = 6.0,
    max_length_cost: float = 3.0,
) -> list[tuple[int, int]]:
    """Monotone alignment of source to target items (indices), allowing a few insertions/deletions.

    A pair costs ``label_cost`` if labels differ plus the deviation of its log length ratio from
    the median ratio (capped at ``max_length_cost``, so an empty translation still pairs by
    position); skipping an item costs ``gap``. Only offsets ``|j - i| <= band`` are explored.
    """
    n, m = len(src_labels), len(tgt_labels)
    if abs(n - m) > band:
        raise AlignmentError(f"lengths {n} and {m} differ by more than the band {band}")
    ratio = median(math.log((a + 1) / (b + 1)) for a, b in zip(src_lens, tgt_lens, strict=False))
    inf = float("inf")
    cost: dict[tuple[int, int], float] = {(0, 0): 0.0}
    back: dict[tuple[int, int], tuple[int, int]] = {}
    for i in range(n + 1):
        for j in range(max(0, i - band), min(m, i + band) + 1):
            if i == j == 0:
                continue
            best, arg = inf, None
            if i and j and (i - 1, j - 1) in cost:
                c = abs(math.log((src_lens[i - 1] + 1) / (tgt_lens[j - 1] + 1)) - ratio)
                c = min(c, max_length_cost)
                c += label_cost * (src_labels[i - 1] != tgt_labels[j - 1])
                best, arg = cost[(i - 1, j - 1)] + c, (i - 1, j - 1)
            for prev in ((i - 1, j), (i, j - 1)):
                if prev in cost and cost[prev] + gap < best:
                    best, arg = cost[prev] + gap, prev
            if arg is not None:
                cost[(i, j)], back[(i, j)] = best, arg
    pairs, cell = [], (n, m)
    while cell != (0, 0):
        prev = back[cell]
        if prev == (cell[0] - 1, cell[1] - 1):
            pairs.append(prev)
        cell = prev
    return pairs[::-1]


@dataclass(frozen=True)
class Corpus:
    ids: tuple[str, ...]  # items present in every language, in Polish order
    labels: dict[str, int]
    domains: dict[str, str]  # id -> domain file (hotels, medicine, products, reviews)
    texts: dict[str, dict[str, str]]  # lang -> id -> text
    dropped: dict[str, list[int]]  # lang -> Polish indices without a (non-empty) translation


def item_id(pl_index: int) -> str:
    return f"multiemo-{pl_index:05d}"


@lru_cache(maxsize=1)
def corpus() -> Corpus:
    """The aligned 11-language MultiEmo ``all_text`` corpus (asserting label agreement)."""
    raw: dict[str, tuple[list[str], list[int]]] = {}
    for lang in LANGUAGES:
        task = f"multiemo/all_text_{lang}"
        exs = bigbench.examples(task)
        labels = [
            target_label(ex, LABELS, where=f"{task} examples[{i}]") for i, ex in enumerate(exs)
        ]
        raw[lang] = ([ex["input"] for ex in exs], labels)
    src_texts, src_labels = raw[SOURCE_LANGUAGE]
    present = {i: {SOURCE_LANGUAGE: src_texts[i]} for i in range(len(src_texts))}
    dropped: dict[str, list[int]] = {}
    for lang, (texts, labels) in raw.items():
        if lang == SOURCE_LANGUAGE:
            continue
        pairs = align(src_labels, [len(t) for t in src_texts], labels, [len(t) for t in texts])
        bad = [(i, j) for i, j in pairs if src_labels[i] != labels[j]]
        if bad or len(pairs) < 0.99 * len(src_texts):
            raise AlignmentError(
                f"multiemo/all_text_{lang}: {len(bad)} aligned pairs disagree on the label "
                f"(first {bad[:3]}), {len(pairs)} of {len(src_texts)} aligned"
            )
        for i, j in pairs:
            if texts[j].strip():  # a few translations are empty strings
                present[i][lang] = texts[j]
        dropped[lang] = [i for i in range(len(src_texts)) if lang not in present[i]]
    keep = [i for i in range(len(src_texts)) if len(present[i]) == len(LANGUAGES)]
    ids = tuple(item_id(i) for i in keep)
    texts_by_lang = {lang: {item_id(i): present[i][lang] for i in keep} for lang in LANGUAGES}
    labels = {item_id(i): src_labels[i] for i in keep}
    en_index = {text: item for item, text in texts_by_lang["en"].items()}
    en_dropped = {raw["en"][0][j] for j in range(len(raw["en"][0]))} - set(en_index)
    domains: dict[str, str] = {}
    for dom in DOMAIN_FILES:
        task = f"multiemo/{dom}_text_en"
        for k, ex in enumerate(bigbench.examples(task)):
            item = en_index.get(ex["input"])
            if item is None and ex["input"] in en_dropped:
                continue  # its translation in another language is missing or empty
            if item is None:
                raise AlignmentError(
                    f"{task} examples[{k}]: text not found in multiemo/all_text_en"
                )
            if target_label(ex, LABELS, where=f"{task} examples[{k}]") != labels[item]:
                raise AlignmentError(
                    f"{task} examples[{k}]: label differs from {item} in all_text_en"
                )
            domains[item] = dom
    return Corpus(ids, labels, domains, texts_by_lang, dropped)


def split_of(item: str) -> str:
    return hash_split(item, SALT)


def domain_split_of(item: str) -> str | None:
    """Domain intermediates use only target-``train`` items: 90 % train, 10 % validation."""
    if split_of(item) != "train":
        return None
    return "validation" if hash_unit(item, SALT + "-domain") < 0.1 else "train"


def load_all(split: str, language: str = "en") -> list[dict]:
    check_split("multiemo", split)
    check_language("multiemo", language, LANGUAGES)
    c = corpus()
    rows = [
        {"id": i, "text": c.texts[language][i], "label": c.labels[i], "domain": c.domains.get(i)}
        for i in c.ids
        if split_of(i) == split
    ]
    return [
        validate_row(r, Format.SINGLE, where=f"multiemo {split}.{language}", n_labels=len(LABELS))
        for r in rows
    ]


def load_parallel(split: str, language: str = "en") -> list[dict]:
    if split != "test":
        raise ValueError(
            f"task 'multiemo_parallel' is evaluation-only: split {split!r}; it has test"
        )
    check_language("multiemo_parallel", language, LANGUAGES)
    c = corpus()
    return [
        validate_row(
            {"id": i, "text": c.texts[language][i]},
            Format.RETRIEVAL,
            where=f"multiemo_parallel test.{language}",
        )
        for i in c.ids
        if split_of(i) == "test"
    ]


def domain_loader(domain_file: str):
    name = f"multiemo_{domain_file}"

    def load(split: str, language: str = "en") -> list[dict]:
        if split == "test":
            raise ValueError(
                f"task {name!r} is an intermediate task: split 'test' is held out for multiemo"
            )
        check_split(name, split)
        check_language(name, language, ("en",))
        c = corpus()
        rows = [
            {"id": i, "text": c.texts["en"][i], "label": c.labels[i], "all_item": i}
            for i in c.ids
            if c.domains.get(i) == domain_file and domain_split_of(i) == split
        ]
        return [
            validate_row(r, Format.SINGLE, where=f"{name} {split}", n_labels=len(LABELS))
            for r in rows
        ]

    return load


register(
    TaskSpec(
        name="multiemo",
        format=Format.SINGLE,
        domain="other",
        roles=("target",),
        source=Source("embedded", bigbench.SOURCE_ID, "multiemo/all_text_<lang>"),
        metric="accuracy",
        languages=LANGUAGES,
        label_names=LABELS,
        license=LICENSE,
        loader=load_all,
        description="MultiEmo review sentiment (4 labels), 11 parallel languages; hash splits 80/10/10 by item",
    )
)
register(
    TaskSpec(
        name="multiemo_parallel",
        format=Format.RETRIEVAL,
        domain="other",
        roles=("target",),
        source=Source("embedded", bigbench.SOURCE_ID, "multiemo/all_text_<lang>"),
        metric="accuracy",
        languages=LANGUAGES,
        splits=("test",),
        license=LICENSE,
        loader=load_parallel,
        description="The same MultiEmo review in English and another language (Tatoeba-style retrieval); "
        "multiemo test items only",
    )
)
for _file, _domain in (
    ("medicine", "biomedical"),
    ("hotels", "hospitality"),
    ("products", "commerce"),
):
    register(
        TaskSpec(
            name=f"multiemo_{_file}",
            format=Format.SINGLE,
            domain=_domain,
            roles=("intermediate",),
            source=Source("embedded", bigbench.SOURCE_ID, f"multiemo/{_file}_text_en"),
            metric="accuracy",
            label_names=LABELS,
            splits=("train", "validation"),
            license=LICENSE,
            loader=domain_loader(_file),
            description=f"English MultiEmo {_file} reviews; only items in multiemo's train split "
            "(ids are the multiemo ids)",
        )
    )
