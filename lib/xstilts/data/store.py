"""The curated split store: ``<curate_dir>/tasks/<task>/<split>[.<lang>].jsonl``."""

from __future__ import annotations

from pathlib import Path

from ..io import read_jsonl, write_jsonl


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
    return read_jsonl(path)


def test_languages(curate_dir: str | Path, task: str) -> list[str]:
    """Languages with a curated ``test.<lang>.jsonl`` for ``task``, sorted, English first."""
    folder = Path(curate_dir) / "tasks" / task
    langs = sorted(p.name.split(".")[1] for p in folder.glob("test.*.jsonl"))
    return sorted(langs, key=lambda lang: (lang != "en", lang))
