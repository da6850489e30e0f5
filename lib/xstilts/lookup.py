"""Look a name up in one of the registries (tasks, metrics); an unknown name is a KeyError whose
message names it and the closest known names. Also: which entries of a list repeat an earlier one
(a task, language or seed listed twice)."""

from __future__ import annotations

import difflib
from collections.abc import Hashable, Mapping, Sequence
from typing import TypeVar

V = TypeVar("V")


class UnknownNameError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return self.args[0]


def lookup(
    table: Mapping[str, V], name: str, what: str, error: type[UnknownNameError], known: str
) -> V:
    """``table[name]``, or ``error`` saying "unknown <what> 'name'; did you mean ...? (<known>)"."""
    try:
        return table[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise error(f"unknown {what} {name!r}{hint} ({known})") from None


H = TypeVar("H", bound=Hashable)


def repeats(values: Sequence[H]) -> list[tuple[int, H]]:
    """(position, value) of every entry that repeats an earlier one."""
    seen: set[H] = set()
    out = []
    for i, value in enumerate(values):
        if value in seen:
            out.append((i, value))
        seen.add(value)
    return out
