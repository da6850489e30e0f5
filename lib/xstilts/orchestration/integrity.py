"""Verify before use: every finished run records the sha256 of what it wrote, and of its inputs.

``DONE`` holds ``outputs`` (relative path -> sha256 of every file the run wrote, training
checkpoints under ``checkpoints/`` excepted: they are resume state, not a product) and ``inputs``
(input run -> sha256 of that run's ``DONE``, i.e. of everything it recorded).

- Before a stage starts, the worker verifies each input run's files against its ``DONE``; a
  changed or missing file fails the stage before any compute, naming the file, both hashes and
  the run to re-run (:func:`verify_inputs`).
- ``xstilts status --verify`` checks a whole study without running anything: changed outputs,
  and finished runs whose inputs changed after they ran (stale).

A finished stage is never recomputed on its own, also not when an input changed under it: it is
reported stale and every run that would read it refuses, until the user re-runs the changed
stage (delete its ``DONE``, or the run directory, and ``xstilts run`` again). Runs finished before this record
existed have no ``outputs``; they are reported as unverifiable, not as valid.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ..io import read_json, sha256_file

DONE_FILE, FAILED_FILE = "DONE", "FAILED"  # the markers a finished / failed run directory holds

SKIP_FILES = {DONE_FILE, FAILED_FILE, ".lock", "stage.log", "stage.json"}
SKIP_DIRS = {"checkpoints"}


def output_hashes(run_dir: Path) -> dict[str, str]:
    out = {}
    for path in sorted(run_dir.rglob("*")):
        rel = path.relative_to(run_dir)
        if not path.is_file() or path.name in SKIP_FILES or rel.parts[0] in SKIP_DIRS:
            continue
        if any(part.startswith(".") for part in rel.parts):  # atomic-write leftovers
            continue
        out[rel.as_posix()] = sha256_file(path)
    return out


def done_fingerprint(run_dir: Path) -> str:
    return hashlib.sha256((run_dir / DONE_FILE).read_bytes()).hexdigest()


def done_record(run_dir: Path, inputs: list[str]) -> dict:
    """What ``DONE`` records beside the run id: its outputs and its inputs' fingerprints."""
    return {
        "outputs": output_hashes(run_dir),
        "inputs": {str(Path(i).name): done_fingerprint(Path(i)) for i in inputs},
    }


def verify_run(run_dir: Path) -> list[str]:
    """Problems with a finished run's files (empty when every recorded file is unchanged)."""
    done = read_json(run_dir / DONE_FILE)
    if "outputs" not in done:
        return [f"{run_dir}: finished before output hashes were recorded (unverifiable)"]
    problems = []
    for rel, expected in done["outputs"].items():
        path = run_dir / rel
        if not path.exists():
            problems.append(f"{path}: missing (recorded sha256 {expected[:12]})")
            continue
        found = sha256_file(path)
        if found != expected:
            problems.append(f"{path}: sha256 {found[:12]}, but the run recorded {expected[:12]}")
    return problems


def stale_inputs(run_dir: Path) -> list[str]:
    """Inputs whose ``DONE`` changed after this run finished (they were re-run or edited)."""
    done = read_json(run_dir / DONE_FILE)
    problems = []
    for name, fingerprint in (done.get("inputs") or {}).items():
        matches = list(run_dir.parent.parent.glob(f"*/{name}/DONE"))
        if not matches:
            problems.append(f"{run_dir}: its input {name} is gone")
        elif done_fingerprint(matches[0].parent) != fingerprint:
            problems.append(f"{run_dir}: its input {name} changed after it ran (stale)")
    return problems


def verify_inputs(inputs: list[str]) -> str | None:
    """Why a stage must not start on these inputs, or None."""
    lines = []
    for run_dir in map(Path, inputs):
        if not (run_dir / DONE_FILE).exists():
            lines.append(f"input {run_dir} is not finished")
            continue
        problems = [p for p in verify_run(run_dir) if "unverifiable" not in p]
        if problems:
            stage = f"{run_dir.parent.name}/{run_dir.name}"
            lines += problems + [
                f"re-run {stage} first: delete {run_dir / 'DONE'} and `xstilts run` again"
            ]
    return "\n".join(lines) or None
