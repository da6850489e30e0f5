"""The curated split store: ``<curate_dir>/tasks/<task>/<split>[.<lang>].jsonl``."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from ..io import read_jsonl, sha256_file, write_jsonl


class CuratedFileChanged(ValueError):
    """A curated split differs from what the curate stage recorded in its manifest."""


@functools.lru_cache(maxsize=8)
def _recorded(manifest: Path, mtime_ns: int) -> dict[str, str]:
    tasks = json.loads(manifest.read_text(encoding="utf-8")).get("tasks", {})
    return {s["file"]: s["sha256"] for t in tasks.values() for s in t.get("splits", {}).values()}


@functools.lru_cache(maxsize=256)
def _hash(path: Path, size: int, mtime_ns: int) -> str:
    return sha256_file(path)


def verify_split(curate_dir: str | Path, path: Path) -> None:
    """Refuse a curated split that changed since curation (checked against ``manifest.json``;
    splits written without a manifest, as in unit tests, are not checked)."""
    manifest = Path(curate_dir) / "manifest.json"
    if not manifest.exists():
        return
    rel = path.relative_to(Path(curate_dir)).as_posix()
    recorded = _recorded(manifest, manifest.stat().st_mtime_ns).get(rel)
    if recorded is None:
        raise CuratedFileChanged(f"{path}: not recorded in {manifest}; re-run the curate stage")
    stat = path.stat()
    found = _hash(path, stat.st_size, stat.st_mtime_ns)
    if found != recorded:
        raise CuratedFileChanged(
            f"{path}: sha256 {found[:12]}, but the curate manifest recorded {recorded[:12]}: the "
            f"file changed after curation; re-run the curate stage ({curate_dir})"
        )


def split_path(curate_dir: str | Path, task: str, split: str, lang: str | None = None) -> Path:
    name = f"{split}.{lang}.jsonl" if lang else f"{split}.jsonl"
    return Path(curate_dir) / "tasks" / task / name


def write_split(
    curate_dir: str | Path, task: str, split: str, rows: list[dict], lang: str | None = None
) -> Path:
    return write_jsonl(split_path(curate_dir, task, split, lang), rows)


def read_split(
    curate_dir: str | Path, task: str, split: str, lang: str | None = None
) -> list[dict]:
    path = split_path(curate_dir, task, split, lang)
    if not path.exists():
        have = sorted(p.name for p in path.parent.glob("*.jsonl")) if path.parent.exists() else []
        raise FileNotFoundError(
            f"curated split missing: {path} (task {task!r} has {have or 'nothing curated'})"
        )
    verify_split(curate_dir, path)
    return read_jsonl(path)


def test_languages(curate_dir: str | Path, task: str) -> list[str]:
    """Languages with a curated ``test.<lang>.jsonl`` for ``task``, sorted, English first."""
    folder = Path(curate_dir) / "tasks" / task
    langs = sorted(p.name.split(".")[1] for p in folder.glob("test.*.jsonl"))
    return sorted(langs, key=lambda lang: (lang != "en", lang))
