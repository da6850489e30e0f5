"""Leakage audit between intermediate and target data.

Every intermediate split is compared with every target split: exact duplicates by the hash of the
normalised text (lower-cased, punctuation dropped, whitespace collapsed), near duplicates by the
Jaccard similarity of word n-gram sets (``>= threshold``; texts shorter than ``n`` words form one
shingle), and contained copies by containment: the share of one side's n-grams found in the other
(``>= containment``, either way round), so that a short target item copied verbatim into a long
intermediate context (Jaccard about 0.05) is caught. Containment needs at least
``MIN_CONTAINED_SHINGLES`` n-grams on the contained side, so that a stock phrase is not a copy.
Leaking items are removed from the intermediate side. An overlap is *expected* where both tasks
come from the same source family (e.g. MultiEmo domains vs MultiEmo-all); expected
overlaps are labelled so but removed all the same.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from .profile import row_texts

_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


def row_text(row: dict) -> str:
    return normalise(" ".join(row_texts(row)))


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def shingles(text: str, n: int) -> frozenset[str]:
    words = text.split()
    if len(words) <= n:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


MIN_CONTAINED_SHINGLES = 4  # a contained text has at least n + 3 words


def containment(part: frozenset, whole: frozenset) -> float:
    """The share of ``part``'s n-grams found in ``whole`` (0 when ``part`` is too short to tell)."""
    if len(part) < MIN_CONTAINED_SHINGLES:
        return 0.0
    return len(part & whole) / len(part)


@dataclass
class Overlap:
    intermediate: str
    intermediate_split: str
    target: str
    target_split: str
    exact: int = 0
    near: int = 0
    contained: int = 0  # flagged by containment, not by Jaccard
    expected: bool = False
    # the target split is the intermediate's own source (a design confound): reported, kept
    confound: bool = False
    examples: list[dict] = field(
        default_factory=list
    )  # a few (intermediate id, target id, jaccard)


def source_family(spec) -> tuple[str, str, str]:
    """Tasks of one family share the source kind, id and the first component of the config."""
    config = (spec.source.config or "").split("/")[0]
    return (spec.source.kind, spec.source.id, config)


class TargetIndex:
    """Exact-hash and n-gram indexes over every target split at once."""

    def __init__(self, targets: dict[tuple[str, str], list[dict]], n: int) -> None:
        self.n = n
        self.keys = list(targets)
        self.ids: list[list[str]] = []
        self.shingles: list[list[frozenset]] = []
        self.exact: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.grams: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for s, key in enumerate(self.keys):
            ids, shs = [], []
            for k, row in enumerate(targets[key]):
                text = row_text(row)
                sh = shingles(text, n)
                ids.append(str(row["id"]))
                shs.append(sh)
                self.exact[text_hash(text)].append((s, k))
                for gram in sh:
                    self.grams[gram].append((s, k))
            self.ids.append(ids)
            self.shingles.append(shs)

    def matches(
        self, row: dict, threshold: float, contained: float = 1.0
    ) -> dict[int, tuple[str, float, str]]:
        """Target split index -> (best matching target id, similarity, kind) for one row; kind is
        ``exact``, ``near`` (Jaccard) or ``contained`` (either side's n-grams inside the other)."""
        text = row_text(row)
        found: dict[int, tuple[str, float, str]] = {}
        for s, k in self.exact.get(text_hash(text), ()):
            found.setdefault(s, (self.ids[s][k], 1.0, "exact"))
        sh = shingles(text, self.n)
        candidates = {c for gram in sh for c in self.grams.get(gram, ()) if c[0] not in found}
        for s, k in candidates:
            other = self.shingles[s][k]
            sim = jaccard(sh, other)
            share = max(containment(other, sh), containment(sh, other))
            kind = "near" if sim >= threshold else "contained" if share >= contained else None
            score = sim if kind == "near" else share
            if kind and score > found.get(s, ("", 0.0, ""))[1]:
                found[s] = (self.ids[s][k], round(score, 4), kind)
        return found


def audit(
    intermediate: dict[tuple[str, str], list[dict]],
    targets: dict[tuple[str, str], list[dict]],
    *,
    n: int,
    threshold: float,
    contained: float = 0.8,
    families: dict[str, tuple] | None = None,
    max_examples: int = 5,
    confounded: dict[str, set[tuple[str, str]]] | None = None,
) -> tuple[dict[tuple[str, str], list[dict]], dict]:
    """Remove leaking rows from every intermediate split.

    ``intermediate`` / ``targets``: (task, split) -> rows. Returns the cleaned intermediate splits
    and a JSON-ready report with one entry per (intermediate split, target split) with overlaps.
    ``confounded``: intermediate task -> target splits that are its own source (``confounds``):
    overlaps with them are reported (``confound``) and the rows kept.
    """
    if n < 1 or not 0 < threshold <= 1 or not 0 < contained <= 1:
        raise ValueError(
            "leakage: need ngram >= 1, 0 < threshold <= 1 and 0 < containment <= 1, "
            f"got {n}, {threshold}, {contained}"
        )
    families = families or {}
    index = TargetIndex(targets, n)
    cleaned, overlaps, removed = {}, [], {}
    for (task, split), rows in intermediate.items():
        exempt = (confounded or {}).get(task, set())
        per_target, drop = _split_overlaps(
            task, split, rows, index, threshold, contained, families, max_examples, exempt
        )
        overlaps += [asdict(per_target[s]) for s in sorted(per_target)]
        cleaned[(task, split)] = [r for r in rows if str(r["id"]) not in drop]
        removed[f"{task}/{split}"] = {
            "before": len(rows),
            "removed": len(drop),
            "after": len(rows) - len(drop),
        }
    report = {
        "ngram": n,
        "threshold": threshold,
        "containment": contained,
        "normalisation": "NFKC, lower-case, punctuation dropped",
        "removed": removed,
        "pairs": overlaps,
        "unexpected": sum(1 for o in overlaps if not o["expected"]),
    }
    return cleaned, report


def _split_overlaps(
    task, split, rows, index: TargetIndex, threshold, contained, families, max_examples, exempt
) -> tuple[dict[int, Overlap], set[str]]:
    """One intermediate split against every target split: the overlaps by target split, and
    the ids of the rows to drop."""
    per_target: dict[int, Overlap] = {}
    drop: set[str] = set()
    for row in rows:
        for s, (tid, sim, kind) in index.matches(row, threshold, contained).items():
            target, tsplit = index.keys[s]
            fam = families.get(task)
            expected = fam is not None and fam == families.get(target)
            confound = (target, tsplit) in exempt
            ov = per_target.setdefault(
                s, Overlap(task, split, target, tsplit, expected=expected, confound=confound)
            )
            ov.exact += kind == "exact"
            ov.near += kind == "near"
            ov.contained += kind == "contained"
            if len(ov.examples) < max_examples:
                ov.examples.append(
                    {
                        "intermediate_id": str(row["id"]),
                        "target_id": tid,
                        "similarity": sim,
                        "kind": kind,
                    }
                )
            if not confound:
                drop.add(str(row["id"]))
    return per_target, drop
