"""Items for hyperparameter choices: never from a test pool.

Every hyperparameter of a profile is chosen on English dev data drawn from items that no study
evaluates. :func:`check_outside_test_pool` enforces it: it raises if any chosen item belongs to
the task's test split in any language (the pool every study's curated test sets are drawn from).
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
