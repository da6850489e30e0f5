"""Tokenisation per task format, cached on disk by content.

A *feature* is a plain dict of ints / int lists (what :mod:`.batching` pads into tensors):

=================  =====================================================================
format             feature keys
=================  =====================================================================
single, pair       input_ids, label, example_index
multi_label        input_ids, multi_hot (0/1 per label), example_index
multiple_choice    input_ids (one list per choice), label, example_index
qa (train)         input_ids, start_position, end_position, example_index
qa (eval)          input_ids, offsets ([start, end] per token, None outside the context),
                   example_index (several windows per example: sliding window with stride)
tagging            input_ids, labels (-100 except first subwords), word_positions (token index
                   of each word's first subword, -1 for words in the sentence's other
                   pieces), example_index (long sentences give several pieces)
=================  =====================================================================

QA windows follow transformers' ``examples/pytorch/question-answering/run_qa.py``: question first,
``truncation="only_second"``, overflowing windows with ``stride`` tokens of overlap; a training
window that does not contain the answer points at the first token.

Cache: ``<cache_root>/<name>-<key>.arrow`` where ``key`` hashes the rows, the tokenizer's full
serialisation, the format, ``max_length``, ``stride``, train/eval mode and
:data:`FEATURE_VERSION`, so a second run with the same inputs does not re-tokenise.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather

from ..io import atomic_path
from ..paths import cache_dir
from ..tasks.schema import Format

log = logging.getLogger(__name__)

FEATURE_VERSION = 4  # 2: tagging pieces that fit; 3: xtreme's MC pairs; 4: doc_stride a step
IGNORE_INDEX = -100
MAX_QUERY_LENGTH = 64  # XTREME scripts/train_qa.sh / transformers run_squad.py default
_TOKENIZER_HASHES: dict[int, str] = {}


def tokenizer_fingerprint(tokenizer) -> str:
    """sha256 of the tokenizer's full serialisation (vocab, normaliser, post-processor...)."""
    key = id(tokenizer)
    if key not in _TOKENIZER_HASHES:
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise TypeError("a fast (Rust-backed) tokenizer is required for offsets and word ids")
        extra = json.dumps(
            {
                "cls": type(tokenizer).__name__,
                "pad": tokenizer.pad_token_id,
                "side": tokenizer.padding_side,
            },
            sort_keys=True,
        )
        _TOKENIZER_HASHES[key] = hashlib.sha256((backend.to_str() + extra).encode()).hexdigest()
    return _TOKENIZER_HASHES[key]


def featurize(
    rows: list[dict],
    fmt: Format | str,
    tokenizer,
    max_length: int,
    *,
    train: bool,
    stride: int = 128,
    cache: bool = True,
    cache_root: str | Path | None = None,
    name: str = "features",
) -> list[dict]:
    """Tokenise ``rows`` of format ``fmt`` (cached unless ``cache=False``)."""
    fmt = Format(fmt)
    if max_length < 8:
        raise ValueError(f"max_length must be >= 8, got {max_length}")
    if not cache:
        return _featurize(rows, fmt, tokenizer, max_length, train, stride)
    spec = {
        "v": FEATURE_VERSION,
        "fmt": fmt.value,
        "max_length": max_length,
        "stride": stride,
        "train": train,
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "rows": hashlib.sha256(
            json.dumps(rows, sort_keys=True, ensure_ascii=False).encode()
        ).hexdigest(),
    }
    key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]
    root = Path(cache_root) if cache_root else cache_dir() / "features"
    path = root / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}-{key}.arrow"
    if path.exists():
        return feather.read_table(path).to_pylist()
    features = _featurize(rows, fmt, tokenizer, max_length, train, stride)
    if features:
        with atomic_path(path) as tmp:
            feather.write_feather(pa.Table.from_pylist(features), tmp)
    return features


def _featurize(rows, fmt, tokenizer, max_length, train, stride) -> list[dict]:
    if fmt is Format.SINGLE:
        enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=max_length)
        return _with_labels(enc["input_ids"], rows)
    if fmt is Format.PAIR:
        enc = tokenizer(
            [r["text_a"] for r in rows],
            [r["text_b"] for r in rows],
            truncation="longest_first",
            max_length=max_length,
        )
        return _with_labels(enc["input_ids"], rows)
    if fmt is Format.MULTI_LABEL:
        enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=max_length)
        width = 1 + max((x for r in rows for x in r["labels"]), default=0)
        return [
            {
                "input_ids": ids,
                "multi_hot": [int(k in r["labels"]) for k in range(width)],
                "example_index": i,
            }
            for i, (ids, r) in enumerate(zip(enc["input_ids"], rows, strict=True))
        ]
    if fmt is Format.MULTIPLE_CHOICE:
        return _multiple_choice(rows, tokenizer, max_length)
    if fmt is Format.QA:
        return _qa(rows, tokenizer, max_length, stride, train)
    if fmt is Format.TAGGING:
        return _tagging(rows, tokenizer, max_length)
    raise ValueError(f"format {fmt.value} is not featurised for training (retrieval embeds text)")


def _with_labels(input_ids: list[list[int]], rows: list[dict]) -> list[dict]:
    return [
        {"input_ids": ids, "label": int(row["label"]), "example_index": i}
        for i, (ids, row) in enumerate(zip(input_ids, rows, strict=True))
    ]


def _multiple_choice(rows, tokenizer, max_length) -> list[dict]:
    """One (context + question, choice) pair per choice, as xtreme's ``third_party/run_xcopa.py``
    ``preprocess_function`` builds them ("premise What was the cause?" against each choice for
    XCOPA and COPA, "context question" for SIQA)."""
    firsts, seconds, owners = [], [], []
    for i, row in enumerate(rows):
        for choice in row["choices"]:
            firsts.append(f"{row['context']} {row['question']}".strip())
            seconds.append(choice)
            owners.append(i)
    enc = tokenizer(firsts, seconds, truncation="longest_first", max_length=max_length)
    features = [
        {"input_ids": [], "label": int(row["label"]), "example_index": i}
        for i, row in enumerate(rows)
    ]
    for owner, ids in zip(owners, enc["input_ids"], strict=True):
        features[owner]["input_ids"].append(ids)
    return features


def _qa(rows, tokenizer, max_length, stride, train) -> list[dict]:
    """Sliding windows over each context. ``stride`` is xtreme's ``--doc_stride``: the step from
    one window's start to the next (``third_party/run_squad.py`` -> transformers'
    ``squad_convert_example_to_features`` passes the tokenizer an overlap of ``max_seq_length -
    doc_stride - len(question) - special tokens``). The tokenizer's own ``stride`` is that overlap,
    so questions of one length are windowed together."""
    if tokenizer.padding_side != "right":
        raise ValueError("QA windows assume a right-padding tokenizer (question first)")
    query_room = min(MAX_QUERY_LENGTH, max_length // 4)
    questions = [_cut_question(r["question"].lstrip(), tokenizer, query_room) for r in rows]
    lengths = tokenizer(questions, add_special_tokens=False)["input_ids"]
    by_length: dict[int, list[int]] = {}
    for i, ids in enumerate(lengths):
        by_length.setdefault(len(ids), []).append(i)
    special = tokenizer.num_special_tokens_to_add(pair=True)
    features = []
    for q_len, members in sorted(by_length.items()):
        room = max_length - q_len - special  # context tokens a window holds
        overlap = room - stride
        if overlap < 0:
            log.warning(
                "QA doc_stride %d exceeds a window's context (%d): no overlap", stride, room
            )
        overlap = min(max(overlap, 0), room - 1)
        part = [rows[i] for i in members]
        enc = tokenizer(
            [questions[i] for i in members],
            [r["context"] for r in part],
            truncation="only_second",
            max_length=max_length,
            stride=overlap,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        features += _qa_features(enc, part, members, train)
    features.sort(key=lambda f: f["example_index"])  # stable: windows stay in context order
    return features


def _qa_features(enc, rows, members, train) -> list[dict]:
    """The windows of one tokenizer call, each tagged with its row's index in the whole list."""
    out = []
    for i, offsets in enumerate(enc["offset_mapping"]):
        local = enc["overflow_to_sample_mapping"][i]
        sequence_ids = enc.sequence_ids(i)
        feature = {"input_ids": enc["input_ids"][i], "example_index": members[local]}
        if train:
            feature["start_position"], feature["end_position"] = _answer_tokens(
                rows[local]["answers"], offsets, sequence_ids
            )
        else:
            feature["offsets"] = [
                list(o) if s == 1 else None for o, s in zip(offsets, sequence_ids, strict=True)
            ]
        out.append(feature)
    return out


def _cut_question(question: str, tokenizer, room: int) -> str:
    """At most ``room`` tokens of a question (XTREME ``run_squad.py`` ``--max_query_length``)."""
    enc = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(enc["input_ids"]) <= room:
        return question
    return question[: enc["offset_mapping"][room - 1][1]]


def _answer_tokens(answers: dict, offsets, sequence_ids) -> tuple[int, int]:
    """Token span of the first answer inside this window, or (0, 0) when it lies outside."""
    if not answers["answer_start"]:
        return 0, 0
    start_char = answers["answer_start"][0]
    end_char = start_char + len(answers["text"][0])
    context = [k for k, s in enumerate(sequence_ids) if s == 1]
    if not context:
        return 0, 0
    first, last = context[0], context[-1]
    if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
        return 0, 0
    start = first
    while start <= last and offsets[start][0] <= start_char:
        start += 1
    end = last
    while end >= first and offsets[end][1] >= end_char:
        end -= 1
    return start - 1, end + 1


def _tagging(rows, tokenizer, max_length) -> list[dict]:
    """One feature per piece of a sentence: long sentences are cut between words so that every
    piece fits ``max_length`` and every gold word is predicted and scored, as XTREME's
    ``utils_preprocess.py`` does before encoding (``_preprocess_one_file``: a new piece whenever
    the running subword count would pass the limit). ``word_positions`` has one entry per word of
    the whole sentence, -1 for words in other pieces; decoding merges the pieces."""
    room = max_length - tokenizer.num_special_tokens_to_add()
    features = []
    for i, row in enumerate(rows):
        for first, last in _word_pieces(row["tokens"], tokenizer, room):
            features.append(_tagging_piece(row, i, first, last, tokenizer, max_length))
    return features


def _word_pieces(words: list[str], tokenizer, room: int) -> list[tuple[int, int]]:
    """``[first, last)`` word ranges whose subwords fit ``room`` (a word longer than ``room`` on
    its own is a piece of its own and is truncated, keeping its first subword)."""
    if not words:
        return [(0, 0)]
    counts = [
        max(1, len(ids)) for ids in tokenizer(list(words), add_special_tokens=False)["input_ids"]
    ]
    pieces, start, used = [], 0, 0
    for k, n in enumerate(counts):
        if used and used + n > room:
            pieces.append((start, k))
            start, used = k, 0
        used += n
    pieces.append((start, len(words)))
    return pieces


def _tagging_piece(row, index, first, last, tokenizer, max_length) -> dict:
    enc = tokenizer(
        row["tokens"][first:last], is_split_into_words=True, truncation=True, max_length=max_length
    )
    labels, positions, previous = [], [-1] * len(row["tokens"]), None
    for pos, word in enumerate(enc.word_ids()):
        if word is not None and word != previous:
            tag = int(row["tags"][first + word])
            labels.append(tag if tag >= 0 else IGNORE_INDEX)
            positions[first + word] = pos
        else:
            labels.append(IGNORE_INDEX)
        previous = word
    return {
        "input_ids": enc["input_ids"],
        "labels": labels,
        "word_positions": positions,
        "example_index": index,
    }
