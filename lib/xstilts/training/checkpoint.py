"""Checkpoints without pickle: safetensors for tensors, JSON for everything else.

Layout under a run's checkpoint directory::

    step-000120/model.safetensors      trainable parameters (frozen ones come from the pretrained
                                       encoder and never change)
    step-000120/optimizer.safetensors  AdamW moments and step counters, ``state.<param>.<key>``
    step-000120/state.json             step, data-order positions, curve, best, optimizer groups
    best-000100/model.safetensors      the weights of the best dev evaluation so far

Every directory is written under a temporary name and renamed into place, so a kill at any moment
leaves either the previous complete checkpoint or the new one. Older ``step-*`` directories, and
``best-*`` ones the newest state does not point to, are removed only after a newer checkpoint is
in place.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..io import atomic_path, read_json, write_json

STEP_DIR = re.compile(r"^step-(\d+)$")


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        n: p.detach().cpu().contiguous() for n, p in model.named_parameters() if p.requires_grad
    }


def load_trainable_state(model: nn.Module, tensors: dict[str, torch.Tensor], where: str) -> None:
    params = dict(model.named_parameters())
    expected = {n for n, p in params.items() if p.requires_grad}
    if set(tensors) != expected:
        missing, extra = sorted(expected - set(tensors)), sorted(set(tensors) - expected)
        raise ValueError(
            f"{where}: checkpoint does not match the model "
            f"(missing {missing[:5]}, unexpected {extra[:5]})"
        )
    with torch.no_grad():
        for name, value in tensors.items():
            params[name].copy_(value.to(params[name].device, params[name].dtype))


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    """Split ``optimizer.state_dict()`` into safetensors-storable tensors and a JSON part."""
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, slots in state["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def restore_optimizer(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], meta: dict
) -> None:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


def save_checkpoint(
    root: str | Path, step: int, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict
) -> Path:
    """Write ``root/step-<step>`` atomically, then prune what the new state no longer needs."""
    root = Path(root)
    target = root / f"step-{step:06d}"
    tensors, meta = optimizer_tensors(optimizer)
    with atomic_path(target) as tmp:
        tmp.mkdir()
        save_file(trainable_state(model), str(tmp / "model.safetensors"))
        save_file(tensors, str(tmp / "optimizer.safetensors"))
        write_json(tmp / "state.json", {**state, "step": step, "optimizer": meta})
    keep_best = state.get("best_step")
    for path in root.iterdir():
        m = re.match(r"^(step|best)-(\d+)$", path.name)
        if not m:
            continue
        older_step = m[1] == "step" and int(m[2]) < step
        stale_best = m[1] == "best" and int(m[2]) != keep_best
        if older_step or stale_best:
            shutil.rmtree(path, ignore_errors=True)
    return target


def latest_checkpoint(root: str | Path) -> Path | None:
    root = Path(root)
    if not root.is_dir():
        return None
    steps = [
        (int(m[1]), p)
        for p in root.iterdir()
        if (m := STEP_DIR.match(p.name)) and (p / "state.json").exists()
    ]
    return max(steps)[1] if steps else None


def load_checkpoint(path: str | Path, model: nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore trainable weights and optimizer state; return the JSON state."""
    path = Path(path)
    state = read_json(path / "state.json")
    load_trainable_state(model, load_file(str(path / "model.safetensors")), str(path))
    restore_optimizer(optimizer, load_file(str(path / "optimizer.safetensors")), state["optimizer"])
    return state


def save_best(root: str | Path, step: int, model: nn.Module) -> Path:
    target = Path(root) / f"best-{step:06d}"
    with atomic_path(target) as tmp:
        tmp.mkdir()
        save_file(trainable_state(model), str(tmp / "model.safetensors"))
    return target


def load_best(root: str | Path, step: int, model: nn.Module) -> None:
    path = Path(root) / f"best-{step:06d}" / "model.safetensors"
    if not path.exists():
        raise FileNotFoundError(f"best weights for step {step} missing: {path}")
    load_trainable_state(model, load_file(str(path)), str(path))


def fingerprint(obj) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
