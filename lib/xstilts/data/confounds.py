"""Design confounds: an intermediate task that is a target's own English training source.

XNLI trains on MNLI and XQuAD/MLQA on SQuAD (``xstilts.tasks.protocol``). An MNLI intermediate
before XNLI is then more training on the target's own data, not transfer from another task: a
confound of the design, to be stated or excluded. It is not test leakage, so curate does not
delete such rows (``stages/curate.py`` audits intermediate text against target test and dev text
only, and leaves the dev items of a confounded pair alone); the dry run and the report name the
pairs, and ``exclude_confounded`` in the study file drops them from the grid.
"""

from __future__ import annotations

from ..tasks.protocol import training_phases
from ..tasks.registry import UnknownTaskError, get_task
from .leakage import source_family


def training_sources(target: str) -> set[str]:
    """The tasks whose English rows train and select a target (every protocol phase)."""
    return {name for phase in training_phases(target) for name in (phase.train, phase.dev)}


def confounded_source(intermediate: str, target: str) -> str | None:
    """The target's training source that ``intermediate`` shares a source with, or None (also
    for a task name the registry does not know: the study check names those)."""
    try:
        family = source_family(get_task(intermediate))
        sources = sorted(training_sources(target))
        families = {s: source_family(get_task(s)) for s in sources}
    except UnknownTaskError:
        return None
    return next((s for s in sources if s == intermediate or families[s] == family), None)


def design_confounds(intermediates: list[str], targets: list[str]) -> list[dict]:
    """One row per (intermediate task, target) where the task is the target's training source."""
    rows = []
    for inter in intermediates:
        for target in targets:
            source = confounded_source(inter, target)
            if source is not None:
                rows.append({"intermediate": inter, "target": target, "source": source})
    return rows


def describe(row: dict) -> str:
    same = (
        "is" if row["source"] == row["intermediate"] else f"shares a source with {row['source']},"
    )
    return (
        f"{row['intermediate']} {same} {row['target']}'s English training data: its Δ on "
        f"{row['target']} is more training on the target's data, not transfer (design confound)"
    )
