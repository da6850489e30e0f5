"""Where things live: the asset cache, the repository, the runs and reports folders."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "XSTILTS_CACHE"


def cache_dir() -> Path:
    """The asset cache: ``$XSTILTS_CACHE`` or ``~/.cache/xstilts``."""
    root = os.environ.get(CACHE_ENV)
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "xstilts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    """The checkout holding ``lib/xstilts`` (falls back to the working directory)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists() and (parent / "notebooks").is_dir():
            return parent
    return Path.cwd()


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def resolve(path: str | os.PathLike) -> Path:
    """A path as given, or relative to the repository root (notebooks run from ``notebooks/``)."""
    path = Path(path)
    return path if path.is_absolute() else repo_root() / path
