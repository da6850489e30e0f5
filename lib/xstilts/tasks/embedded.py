"""Helpers that the embedded tasks (registry packages) share.

Tasks whose source has no predefined train/validation/test split are split deterministically by
hashing a *group key* (an item id, or a key that keeps near-identical items together, e.g. the
claim of a VitaminC contrastive pair): ``sha256("<salt>:<key>")`` read as a number in [0, 1)
falls into ``train`` (< 0.8), ``validation`` (< 0.9) or ``test``. The split never depends on the
order of the source file, the seed, or which other items exist.
"""

from __future__ import annotations

import hashlib

SPLITS = ("train", "validation", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def hash_unit(key: str, salt: str = "") -> float:
    """A number in [0, 1) fixed by ``salt`` and ``key``."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def hash_split(
    key: str, salt: str = "", fractions: tuple[float, float, float] = SPLIT_FRACTIONS
) -> str:
    """The split (``train`` / ``validation`` / ``test``) of the item with group key ``key``."""
    unit = hash_unit(key, salt)
    edge = 0.0
    for name, frac in zip(SPLITS, fractions, strict=True):
        edge += frac
        if unit < edge:
            return name
    return SPLITS[-1]


def check_split(task: str, split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"task {task!r}: unknown split {split!r}; expected one of {SPLITS}")


def check_language(task: str, language: str, languages: tuple[str, ...]) -> None:
    if language not in languages:
        raise ValueError(
            f"task {task!r}: unknown language {language!r}; it has {', '.join(languages)}"
        )


def target_label(example: dict, label_names: tuple[str, ...], *, where: str) -> int:
    """The index (in ``label_names``) of the one choice scored 1 in a BIG-bench ``target_scores``."""
    scores = example.get("target_scores")
    if not isinstance(scores, dict) or set(scores) != set(label_names):
        got = sorted(scores) if isinstance(scores, dict) else type(scores).__name__
        raise ValueError(
            f"{where}: field 'target_scores' has {got}, expected keys {sorted(label_names)}"
        )
    best = [name for name, score in scores.items() if score == 1]
    if len(best) != 1 or sum(scores.values()) != 1:
        raise ValueError(f"{where}: field 'target_scores' {scores} does not mark exactly one label")
    return label_names.index(best[0])
