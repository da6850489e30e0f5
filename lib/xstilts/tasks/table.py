"""The task table: every registered task, one row each (``python -m xstilts tasks``)."""

from __future__ import annotations

import pandas as pd

from .registry import all_tasks

COLUMNS = (
    "name",
    "roles",
    "format",
    "domain",
    "source",
    "id",
    "config",
    "languages",
    "metric",
    "license",
    "available",
)


def task_table() -> pd.DataFrame:
    """One row per registered task (embedded and hub), sorted by role, domain and name."""
    rows = []
    for spec in all_tasks():
        rows.append(
            {
                "name": spec.name,
                "roles": ",".join(spec.roles),
                "format": spec.format.value,
                "domain": spec.domain,
                "source": spec.source.kind,
                "id": spec.source.id,
                "config": spec.source.config or "",
                "languages": len(spec.languages),
                "metric": spec.metric,
                "license": spec.license,
                "available": spec.available,
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def format_task_table(max_license: int = 40) -> str:
    table = task_table()
    table["license"] = table["license"].map(
        lambda s: s if len(s) <= max_license else s[: max_license - 1] + "…"
    )
    return table.to_string(index=False)
