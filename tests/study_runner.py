"""Run ``xstilts run`` on a study file as a user would (a subprocess, the real notebooks and
kernels), into a temporary runs and reports folder; shared by the capped-study tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from xstilts.paths import repo_root


def run_study(
    study: Path,
    base: Path,
    overrides: dict[str, Any] | None = None,
    env_extra: dict[str, str] | None = None,
    jobs: int = 2,
) -> tuple[Path, Path]:
    """(study dir, report dir) of a finished run; ``overrides`` become ``-p key=<json>``."""
    args = [a for k, v in (overrides or {}).items() for a in ("-p", f"{k}={json.dumps(v)}")]
    dirs = ["--runs-dir", str(base / "runs"), "--reports-dir", str(base / "reports")]
    env = {
        **os.environ,
        **(env_extra or {}),
        "TQDM_DISABLE": "1",
        "HF_HUB_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",  # two stages at a time on two cores
    }
    done = subprocess.run(
        [sys.executable, "-m", "xstilts", "run", str(study), *args, *dirs, "--jobs", str(jobs)],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    name = study_name(study)
    return base / "runs" / name, base / "reports" / name


def study_name(study: Path) -> str:
    import yaml

    return yaml.safe_load(study.read_text(encoding="utf-8"))["study"]
