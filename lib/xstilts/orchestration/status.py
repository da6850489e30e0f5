"""State of every run of a study: done / failed / partial / pending (cheap: only stats files)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .grid import Grid, StageRun
from .integrity import DONE_FILE, FAILED_FILE

DONE, FAILED, PARTIAL, PENDING = "done", "failed", "partial", "pending"  # a run's state


def run_state(run_dir: Path) -> str:
    if (run_dir / DONE_FILE).exists():
        return DONE
    if (run_dir / FAILED_FILE).exists():
        return FAILED
    return PARTIAL if run_dir.exists() else PENDING


@dataclass(frozen=True)
class RunStatus:
    run: StageRun
    state: str
    path: Path
    duration_s: float | None

    @property
    def error(self) -> str:
        if self.state != FAILED:
            return ""
        text = (self.path / FAILED_FILE).read_text(encoding="utf-8", errors="replace")
        return text.strip().splitlines()[0] if text.strip() else ""


def _duration(run_dir: Path, state: str) -> float | None:
    name = DONE_FILE if state == DONE else "provenance.json" if state == FAILED else None
    if name is None:
        return None
    try:
        return float(json.loads((run_dir / name).read_text(encoding="utf-8"))["wall_s"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def study_status(grid: Grid, study_dir: Path) -> list[RunStatus]:
    out = []
    for run in grid.runs:
        path = study_dir / run.stage / run.dirname
        state = run_state(path)
        out.append(RunStatus(run, state, path, _duration(path, state)))
    return out


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{sec:02d}s"


def format_status(rows: list[RunStatus], root: Path | None = None) -> str:
    def rel(p: Path) -> str:
        try:
            return str(p.relative_to(root)) if root else str(p)
        except ValueError:
            return str(p)

    table = [("stage", "run", "state", "duration", "path")]
    table += [
        (r.run.stage, r.run.name, r.state, _fmt_duration(r.duration_s), rel(r.path)) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in table
    ]
    counts = {s: sum(r.state == s for r in rows) for s in (DONE, FAILED, PARTIAL, PENDING)}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)
