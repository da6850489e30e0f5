"""Loading encoders / tokenizers by name: local dirs, T5 encoders, MLM-head detection, offline."""

from __future__ import annotations

import time

import pytest
import torch
from transformers import (
    MT5Config,
    MT5EncoderModel,
    PreTrainedTokenizerFast,
    T5Config,
    T5EncoderModel,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMRobertaModel,
)

from tiny_models import SMALLEST_XLMR as TINY
from xstilts.models.loading import (
    EMBEDDED,
    ModelNotAvailableError,
    has_mlm_head,
    load_encoder,
    load_tokenizer,
    resolve_model,
)


def _tiny_tokenizer(path):
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = ["<s>", "<pad>", "</s>", "<unk>", "hello", "world", "bonjour", "monde"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
    )
    fast.save_pretrained(path)


@pytest.fixture(scope="module")
def xlmr_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny-xlmr")
    torch.manual_seed(0)
    XLMRobertaModel(XLMRobertaConfig(**TINY)).save_pretrained(path)
    _tiny_tokenizer(path)
    return path


def test_local_xlmr_dir_loads_without_pooler(xlmr_dir):
    assert resolve_model(str(xlmr_dir)) == str(xlmr_dir)
    model = load_encoder(str(xlmr_dir))
    assert isinstance(model, XLMRobertaModel)
    assert model.pooler is None
    tok = load_tokenizer(str(xlmr_dir))
    batch = tok(["hello world", "bonjour monde zzz"], padding=True, return_tensors="pt")
    assert batch["input_ids"].tolist() == [[4, 5, 1], [6, 7, 3]]
    out = model(**batch).last_hidden_state
    assert out.shape == (2, 3, 16)
    assert not has_mlm_head(str(xlmr_dir))


def test_local_weights_match_saved(xlmr_dir):
    torch.manual_seed(0)
    reference = XLMRobertaModel(XLMRobertaConfig(**TINY))
    loaded = load_encoder(str(xlmr_dir))
    for name, param in loaded.state_dict().items():
        assert torch.equal(param, reference.state_dict()[name]), name


def test_mlm_checkpoint_detected(tmp_path):
    XLMRobertaForMaskedLM(XLMRobertaConfig(**TINY)).save_pretrained(tmp_path)
    assert has_mlm_head(str(tmp_path))
    # the encoder still loads from an MLM checkpoint (head weights are ignored)
    assert isinstance(load_encoder(str(tmp_path)), XLMRobertaModel)


@pytest.mark.parametrize(
    ("config_cls", "model_cls"), [(T5Config, T5EncoderModel), (MT5Config, MT5EncoderModel)]
)
def test_t5_family_loads_encoder_only(tmp_path, config_cls, model_cls):
    config = config_cls(
        vocab_size=40,
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        decoder_start_token_id=0,
    )
    model_cls(config).save_pretrained(tmp_path)
    model = load_encoder(str(tmp_path))
    assert type(model) is model_cls
    assert not has_mlm_head(str(tmp_path))
    hidden = model(input_ids=torch.tensor([[4, 5, 1]])).last_hidden_state
    assert hidden.shape == (1, 3, 16)


def test_offline_uncached_hub_id_fails_fast(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    fake = "xstilts-test/no-such-model-7f3a"
    for load in (load_encoder, load_tokenizer):
        start = time.monotonic()
        with pytest.raises(ModelNotAvailableError) as info:
            load(fake)
        assert time.monotonic() - start < 5
        message = str(info.value)
        assert fake in message
        assert EMBEDDED in message and "local" in message


def test_bad_names_are_rejected_clearly(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="embedded:nope"):
        resolve_model("embedded:nope")
    with pytest.raises(ModelNotAvailableError, match="not a directory"):
        resolve_model(str(tmp_path / "missing"))
    assert resolve_model("FacebookAI/xlm-roberta-base") == "FacebookAI/xlm-roberta-base"
    with pytest.raises(ValueError, match="trust_remote_code"):
        load_encoder(str(tmp_path), trust_remote_code=True)


def test_pickled_weights_are_refused_never_unpickled(tmp_path, monkeypatch):
    """A local model with only ``pytorch_model.bin`` (e.g. a hub snapshot of a repo that has no
    safetensors on main): refused before transformers could fall back to unpickling it, by the
    encoder and MLM loaders and by the study check that runs before any notebook."""
    from xstilts.models.loading import PickledWeightsError, load_masked_lm, model_unavailable

    model = XLMRobertaForMaskedLM(XLMRobertaConfig(**TINY))
    model.config.architectures = ["XLMRobertaForMaskedLM"]  # as save_pretrained records it
    model.config.save_pretrained(tmp_path)  # transformers 5 no longer writes pickles itself
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    assert (tmp_path / "pytorch_model.bin").exists() and not list(tmp_path.glob("*.safetensors"))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("torch.load was called on a checkpoint")

    monkeypatch.setattr(torch, "load", no_unpickling)
    for load in (load_encoder, load_masked_lm):
        with pytest.raises(
            PickledWeightsError, match=r"no safetensors weights .*pytorch_model.bin"
        ):
            load(str(tmp_path))
    why = model_unavailable(str(tmp_path))
    assert "never unpickles" in why and "refs/pr/" in why and "\n" not in why


def test_max_input_length_per_family():
    """XLM-R's table has padding_idx + 1 rows no input reaches (514 rows, 512 tokens); BERT uses
    every row; T5 has relative positions, so no limit."""
    from transformers import BertConfig

    from xstilts.models.family import max_input_length

    assert max_input_length(XLMRobertaConfig(max_position_embeddings=514, pad_token_id=1)) == 512
    assert max_input_length(BertConfig(max_position_embeddings=512)) == 512
    assert max_input_length(MT5Config()) is None


def test_a_model_directory_that_cannot_serve_the_study_is_refused_before_compute(
    tmp_path, xlmr_dir
):
    """A decoder (GPT-2), a directory without a tokenizer, or an unreadable config.json is named
    by the study check, before any stage; a real run of such a model used to fail inside curate
    with transformers' unrelated 'requires the protobuf library'."""
    import shutil

    from transformers import GPT2Config, GPT2Model

    from xstilts.models.loading import model_unavailable
    from xstilts.orchestration.params import ParamsError, check_tasks, load_study
    from xstilts.paths import repo_root

    gpt2 = tmp_path / "gpt2"
    GPT2Model(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)).save_pretrained(gpt2)
    _tiny_tokenizer(gpt2)
    assert "model type 'gpt2' is not an encoder family" in model_unavailable(str(gpt2))
    with pytest.raises(ModelNotAvailableError, match="'gpt2' is not an encoder family"):
        load_encoder(str(gpt2))
    bare = tmp_path / "no-tokenizer"
    shutil.copytree(xlmr_dir, bare)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (bare / name).unlink(missing_ok=True)
    assert "has no tokenizer (none of tokenizer.json" in model_unavailable(str(bare))
    broken = tmp_path / "broken"
    shutil.copytree(xlmr_dir, broken)
    (broken / "config.json").write_text("{not json")
    assert "config.json cannot be read" in model_unavailable(str(broken))
    assert model_unavailable(str(xlmr_dir)) is None
    quick = repo_root() / "params" / "quick.yaml"
    with pytest.raises(ParamsError, match="model: model .*gpt2: model type 'gpt2'"):
        check_tasks(load_study(quick, [f"model={gpt2}"]))
