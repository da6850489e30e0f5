"""A real kill: SIGKILL a training subprocess after a checkpoint exists, restart, compare."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from tiny_models import run_tiny_job

TESTS = str(Path(__file__).parent)


def _job(ckdir: Path, out: Path, sleep: float) -> list[str]:
    code = (
        f"import sys; sys.path.insert(0, {TESTS!r}); from tiny_models import run_tiny_job; "
        f"run_tiny_job({str(ckdir)!r}, {str(out)!r}, sleep={sleep})"
    )
    return [sys.executable, "-c", code]


def _steps(ckdir: Path) -> list[int]:
    return [int(p.name.split("-")[1]) for p in ckdir.glob("step-*")] if ckdir.exists() else []


def test_killed_run_resumes_exactly(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    reference = run_tiny_job(str(tmp_path / "ref-ck"), str(tmp_path / "ref.json"))

    ckdir, out = tmp_path / "ck", tmp_path / "run.json"
    proc = subprocess.Popen(_job(ckdir, out, sleep=0.15), env=env)
    deadline = time.time() + 60
    while time.time() < deadline and not any(s >= 12 for s in _steps(ckdir)):
        assert proc.poll() is None, "training finished before it could be killed"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = max(_steps(ckdir))
    assert 12 <= killed_at < 40 and not out.exists()

    subprocess.run(_job(ckdir, out, sleep=0.0), env=env, check=True, timeout=120)
    resumed = json.loads(out.read_text())
    assert resumed["resumed_from"] == killed_at > 0
    assert [row["step"] for row in resumed["curve"]] == list(range(1, 41))
    assert resumed["curve"] == reference["curve"]
    for key in ("best_step", "best_score", "final", "examples"):
        assert resumed[key] == reference[key], key
    ref_w, res_w = (
        load_file(str(tmp_path / "ref.json.safetensors")),
        load_file(str(out) + ".safetensors"),
    )
    assert ref_w.keys() == res_w.keys()
    assert all(torch.equal(ref_w[k], res_w[k]) for k in ref_w)

    # a finished run restarted does no more work and gives the same answer
    again = run_tiny_job(str(ckdir), str(tmp_path / "again.json"))
    assert again["resumed_from"] == 40 and again["final"] == reference["final"]
