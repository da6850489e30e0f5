"""Items for hyperparameter and checkpoint choices: never test items.

Every hyperparameter of a profile is chosen on English dev data drawn from items that no study
evaluates. :func:`check_outside_test_pool` enforces it: it raises if any chosen item belongs to
the task's test split in any language (the pool every study's curated test sets are drawn from).
:func:`check_dev_outside_tests` is the same guard in the target stage: the English dev rows that
choose a run's checkpoint share no id and no text with the test items it is scored on.
"""

from __future__ import annotations

from collections.abc import Iterable


class TestPoolLeak(ValueError):
    """A hyperparameter-selection item is in a test pool."""


def test_pool(task: str) -> set[str]:
    """Ids of every test-split item of ``task``, in every language it has."""
    from ..tasks import get_task

    spec = get_task(task)
    return {str(r["id"]) for lang in spec.languages for r in spec.loader("test", lang)}


def check_outside_test_pool(task: str, ids: Iterable) -> int:
    """Raise :class:`TestPoolLeak` naming the items if any of ``ids`` is a test item of ``task``;
    return how many ids were checked."""
    ids = [str(i) for i in ids]
    leaked = sorted(set(ids) & test_pool(task))
    if leaked:
        raise TestPoolLeak(
            f"{len(leaked)} of {len(ids)} items chosen for hyperparameter selection are in "
            f"{task!r}'s test pool (first: {leaked[:3]}); draw them from its train split"
        )
    return len(ids)


def check_dev_outside_tests(task: str, dev_rows: list[dict], tests: dict[str, list[dict]]) -> None:
    """Raise :class:`TestPoolLeak` if a dev row (checkpoint selection) is a test item of
    ``task`` in any language, by id or by text (curate leaves such rows out; this is the check
    at the point of use)."""
    from .leakage import row_text, text_hash

    keys = {
        k for rows in tests.values() for r in rows for k in (str(r["id"]), text_hash(row_text(r)))
    }
    leaked = [r["id"] for r in dev_rows if str(r["id"]) in keys or text_hash(row_text(r)) in keys]
    if leaked:
        raise TestPoolLeak(
            f"{len(leaked)} of {len(dev_rows)} English dev rows of {task!r}, which choose its "
            f"checkpoint, are test items (first: {leaked[:3]}); curate it again"
        )
