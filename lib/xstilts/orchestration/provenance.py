"""What produced a run: parameters, code, packages, model and data hashes, machine, time, memory."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..io import cached_sha256, read_json, sha256_file
from ..paths import cache_dir, repo_root

PACKAGES = (
    "xstilts",
    "torch",
    "transformers",
    "tokenizers",
    "datasets",
    "numpy",
    "pandas",
    "papermill",
    "pydantic",
)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _output(cmd: list[str], cwd: Path | None = None) -> str:
    """Stdout of a short command (20 s timeout); raises on failure (SubprocessError/OSError)."""
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, check=True, timeout=20
    ).stdout


def git_state(root: Path | None = None) -> dict[str, Any]:
    root = root or repo_root()
    git = shutil.which("git")
    if git is None:
        return {"commit": None, "dirty": None}
    try:
        commit = _output([git, "rev-parse", "HEAD"], cwd=root).strip()
        dirty = _output([git, "status", "--porcelain", "--untracked-files=no"], cwd=root).strip()
    except (subprocess.SubprocessError, OSError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def weights_hashes(model_dir: Path) -> dict[str, str]:
    return {p.name: cached_sha256(p) for p in sorted(model_dir.glob("*.safetensors"))}


def _hub_snapshot(model: str) -> Path | None:
    """The Hugging Face cache snapshot that ``from_pretrained`` loaded ``model`` from (its folder
    name is the commit), or None where the model is not cached."""
    try:
        from huggingface_hub import try_to_load_from_cache

        config = try_to_load_from_cache(model, "config.json")
    except Exception:  # noqa: BLE001 - provenance must never fail a run
        return None
    return Path(config).parent if isinstance(config, str) else None


def _fetched_model(model: str) -> tuple[Path, str | None] | None:
    """The model's folder in the hub snapshot root (``xstilts fetch``) and the commit its
    manifest recorded, or None where no snapshot root holds it."""
    from ..models.loading import _snapshot_folder
    from .prefetch import MANIFEST

    folder = _snapshot_folder(model)
    if folder is None:
        return None
    try:
        repos = json.loads((folder.parents[model.count("/")] / MANIFEST).read_text())[
            "repositories"
        ]
        return folder, repos[model]["commit"]
    except (OSError, ValueError, KeyError):
        return folder, None


def model_provenance(model: str) -> dict[str, Any]:
    """Model id plus the hash of its weights when they are local (embedded or a directory)."""
    info: dict[str, Any] = {"id": model}
    path: Path | None = None
    if model.startswith("embedded:"):
        path = cache_dir() / "models" / model.split(":", 1)[1]
        if not path.is_dir():  # where the converter puts it (asked without converting)
            try:
                from ..assets.embedded_model import embedded_model_dir

                path = Path(embedded_model_dir())
            except Exception:  # noqa: BLE001 - provenance must never fail a run
                path = None
    elif Path(model).expanduser().is_dir():
        path = Path(model).expanduser()
    elif (fetched := _fetched_model(model)) is not None:
        path, info["revision"] = fetched
    else:
        path = _hub_snapshot(model)
        info["revision"] = path.name if path is not None else None
    if path is not None and path.is_dir():
        info["path"] = str(path)
        info["weights_sha256"] = weights_hashes(path)
    return info


def manifest_hashes(curate_dir: str | None) -> dict[str, Any]:
    if not curate_dir:
        return {}
    manifest = Path(curate_dir) / "manifest.json"
    if not manifest.exists():
        return {}
    found: dict[str, str] = {}

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "sha256" and isinstance(v, str):
                    found[path or "."] = v
                else:
                    walk(v, f"{path}/{k}" if path else str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")

    walk(read_json(manifest), "")
    return {"manifest_sha256": sha256_file(manifest), "splits": found}


def device_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
    smi = shutil.which("nvidia-smi")
    gpus: list[str] = []
    if smi:
        try:
            out = _output([smi, "--query-gpu=name", "--format=csv,noheader"])
            gpus = [line.strip() for line in out.splitlines() if line.strip()]
        except (subprocess.SubprocessError, OSError):
            gpus = []
    info["device"] = f"cuda ({gpus[0]})" if gpus else "cpu"
    info["gpus"] = gpus
    return info


def peak_rss_mb(kept_kernel: dict[str, Any] | None = None) -> dict[str, float | None]:
    """Peak resident memory of this process, of its largest finished child, and of the stage's
    kernel: that child when the kernel ended with the stage, else the peak measured in the kept
    kernel during the stage (``kernels.KeptKernel``)."""
    scale = 1 / 1024 if sys.platform != "darwin" else 1 / 2**20
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
        "children": children,
        "kernel": kept_kernel.get("peak_rss_mb") if kept_kernel else children,
    }


def collect(
    spec: dict[str, Any],
    started: str,
    ended: str,
    wall_s: float,
    status: str,
    error: str | None = None,
    kept_kernel: dict[str, Any] | None = None,
) -> dict[str, Any]:
    params = spec["parameters"]
    encoder_dir = params.get("encoder_dir")
    return {
        "run": spec["id"],
        "stage": spec["stage"],
        "status": status,
        "error": error,
        "config": spec["config"],
        "parameters": params,
        "inputs": spec.get("inputs", []),
        "notebook": spec["notebook"],
        "kernel": spec.get("kernel"),
        "kernel_session": {  # its peak RSS is under peak_rss_mb.kernel
            "reused": bool(kept_kernel and kept_kernel["reused"]),
            "stages_before": kept_kernel["stages_before"] if kept_kernel else 0,
        },
        "seed": spec["config"].get("seed"),
        "git": git_state(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "model": model_provenance(spec["config"]["model"]) if "model" in spec["config"] else None,
        "encoder": (
            {"path": encoder_dir, "weights_sha256": weights_hashes(Path(encoder_dir))}
            if encoder_dir and Path(encoder_dir).is_dir()
            else None
        ),
        "data": manifest_hashes(
            params.get("curate_dir")
            or (params.get("out_dir") if spec["stage"] == "curate" else None)
        ),
        "machine": device_info(),
        "started": started,
        "ended": ended,
        "wall_s": round(wall_s, 3),
        "peak_rss_mb": peak_rss_mb(kept_kernel),
    }
