"""Read BIG-bench ``task.json`` files straight from the cached ``bigbench==1.0.0`` sdist.

Scanning the 358 MB tar.gz takes seconds, so the first read extracts every member the catalogue
registered (``need``) in ONE pass into ``cache_dir()/bigbench/<task>/task.json``; later reads hit
those files. Nothing extracted is ever committed: BIG-bench files carry canary strings.
"""

from __future__ import annotations

import json
import tarfile
from functools import lru_cache
from pathlib import Path

from ..assets.fetch import ensure_package
from ..io import atomic_path
from ..paths import cache_dir

ARCHIVE_ROOT = "bigbench-1.0.0/bigbench/benchmark_tasks"
SOURCE_ID = "bigbench==1.0.0"
_NEEDED: set[str] = set()


class BigBenchError(RuntimeError):
    """A BIG-bench member is missing from the archive or is not a valid task.json."""


def need(*tasks: str) -> None:
    """Declare task folders (e.g. ``"multiemo/all_text_en"``) to extract in the shared pass."""
    _NEEDED.update(tasks)


def member_name(task: str) -> str:
    return f"{ARCHIVE_ROOT}/{task}/task.json"


def cached_path(task: str) -> Path:
    return cache_dir() / "bigbench" / task / "task.json"


def extract(tasks: set[str] | list[str]) -> None:
    """Extract the ``task.json`` of every task in ``tasks`` not cached yet, in one archive pass."""
    missing = {member_name(t): t for t in tasks if not cached_path(t).exists()}
    if not missing:
        return
    archive = ensure_package("bigbench")
    try:
        with tarfile.open(archive, "r:gz") as tf:
            for info in tf:
                task = missing.get(info.name)
                if task is None or not info.isfile():
                    continue
                fh = tf.extractfile(info)
                with atomic_path(cached_path(task)) as tmp:
                    tmp.write_bytes(fh.read())
                del missing[info.name]
                if not missing:
                    break
    except (tarfile.TarError, OSError, EOFError) as err:
        raise BigBenchError(f"{archive}: cannot read the archive ({err})") from err
    if missing:
        raise BigBenchError(f"{archive}: member(s) not found: {', '.join(sorted(missing))}")


@lru_cache(maxsize=4)
def load_task(task: str) -> dict:
    """The parsed ``task.json`` of BIG-bench task folder ``task`` (with a non-empty ``examples``)."""
    extract(_NEEDED | {task})
    path = cached_path(task)
    where = f"{path} (member {member_name(task)} of {ensure_package('bigbench').name})"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BigBenchError(
            f"{where}: not valid JSON ({err}); delete the cached file to re-extract"
        ) from err
    examples = data.get("examples") if isinstance(data, dict) else None
    if not isinstance(examples, list) or not examples:
        raise BigBenchError(
            f"{where}: field 'examples' missing or empty; delete the cached file to re-extract"
        )
    for i, ex in enumerate(examples):
        if (
            not isinstance(ex, dict)
            or not isinstance(ex.get("input"), str)
            or not ("target_scores" in ex or "target" in ex)
        ):
            raise BigBenchError(
                f"{where}: examples[{i}] lacks 'input' (str) or 'target_scores' / 'target'"
            )
    return data


def examples(task: str) -> list[dict]:
    return load_task(task)["examples"]
