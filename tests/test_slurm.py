"""The Slurm path against a real one-node cluster (tests/slurm_cluster.py), not a mock.

Without Slurm binaries or root the `slurm` tests skip with the reason; the submitit `local`
executor test runs everywhere. No accounting daemon runs here, so `sacct` fails ("accounting
storage is disabled"): submitit then keeps the state UNKNOWN but still finishes a job by its result
file, so results and Python exceptions come back; a job killed by Slurm (scancel, time limit)
would never look done to submitit, which is why callers should also watch `squeue`/`scontrol`.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import cloudpickle
import pytest
import submitit

from slurm_cluster import (
    SlurmCluster,
    SlurmUnavailable,
    local_slurm_cluster,
    status,
    unavailable_reason,
)
from xstilts.io import read_json
from xstilts.paths import repo_root

JOB_TIMEOUT_S = 60
# Jobs cannot import this test module: ship the job functions below by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def double(x: int) -> int:
    return 2 * x


def where_am_i() -> dict[str, str | None]:
    return {
        k: os.environ.get(k) for k in ("SLURM_JOB_ID", "SLURM_CPUS_PER_TASK", "SUBMITIT_EXECUTOR")
    }


def fail(message: str) -> None:
    raise ValueError(message)


@pytest.fixture(scope="module")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    stack = ExitStack()
    try:
        cluster = stack.enter_context(local_slurm_cluster(tmp_path_factory.mktemp("slurm")))
    except SlurmUnavailable as exc:
        pytest.skip(f"local Slurm cluster did not start: {exc}")
    with stack, pytest.MonkeyPatch.context() as mp:
        mp.setenv("SLURM_CONF", str(cluster.conf))  # submitit calls sbatch with our environment
        yield cluster


def _scontrol_job(cluster: SlurmCluster, job_id: str) -> dict[str, str]:
    out = cluster.run("scontrol", "show", "job", "-o", job_id).stdout
    return dict(tok.split("=", 1) for tok in out.split() if "=" in tok)


def test_submitit_local_executor_returns_result(tmp_path: Path) -> None:
    executor = submitit.AutoExecutor(folder=tmp_path, cluster="local")
    executor.update_parameters(timeout_min=2)
    job = executor.submit(double, 21)
    assert job.result() == 42
    assert job.state == "FINISHED"


@pytest.mark.slurm
def test_cluster_daemons_stop_by_pid_files(slurm: SlurmCluster, tmp_path: Path) -> None:
    """A second, independent cluster (own munged socket, ports, folder) starts beside the
    module's one and its three daemons are gone after the context exits; the first keeps running."""
    with local_slurm_cluster(tmp_path / "c2") as other:
        assert other.conf != slurm.conf
        pids = status(other.root)
        assert all(pids.values()), pids
        assert other.run("sinfo", "-h", "-N", "-o", "%T").stdout.strip() == "idle"
    assert status(other.root) == {"munged": None, "slurmctld": None, "slurmd": None}
    assert all(status(slurm.root).values())


@pytest.mark.slurm
def test_submitit_slurm_executor_returns_result_and_errors(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    executor = submitit.AutoExecutor(folder=tmp_path, cluster="slurm")
    executor.update_parameters(timeout_min=2, slurm_partition=slurm.partition, cpus_per_task=1)
    ok = executor.submit(double, 21)
    env = executor.submit(where_am_i)
    bad = executor.submit(fail, "boom")
    array = executor.map_array(double, [1, 2, 3])  # one Slurm job array
    assert ok.result() == 42
    info = env.result()
    assert info["SLURM_JOB_ID"] == env.job_id and info["SUBMITIT_EXECUTOR"] == "slurm"
    with pytest.raises(submitit.core.utils.FailedJobError, match="boom"):
        bad.result()
    assert [j.result() for j in array] == [2, 4, 6]
    assert len({j.job_id.split("_")[0] for j in array}) == 1
    # sacct is unavailable without slurmdbd: submitit cannot know the state, Slurm can.
    assert ok.state == "UNKNOWN"
    assert _scontrol_job(slurm, ok.job_id)["JobState"] == "COMPLETED"


@pytest.mark.slurm
def test_resources_reach_slurm(slurm: SlurmCluster, tmp_path: Path) -> None:
    """cpus / mem / time / partition are granted by the real scheduler; GPU counts (no GRES
    here) and the rest are checked in the sbatch script submitit generates."""
    executor = submitit.AutoExecutor(folder=tmp_path, cluster="slurm")
    executor.update_parameters(
        timeout_min=7, slurm_partition=slurm.partition, cpus_per_task=min(2, slurm.cpus), mem_gb=1
    )
    job = executor.submit(where_am_i)
    info = job.result()
    assert info["SLURM_CPUS_PER_TASK"] == str(min(2, slurm.cpus))
    granted = _scontrol_job(slurm, job.job_id)
    assert granted["Partition"] == slurm.partition
    assert granted["TimeLimit"] == "00:07:00"
    assert granted["MinMemoryNode"] == "1G"

    gpu = submitit.AutoExecutor(folder=tmp_path / "gpu", cluster="slurm")
    gpu.update_parameters(
        timeout_min=90, slurm_partition="gpu", gpus_per_node=2, cpus_per_task=8, mem_gb=32
    )
    script = gpu._executor._make_submission_file_text("python -c pass", "uid")
    for line in (
        "#SBATCH --gpus-per-node=2",
        "#SBATCH --partition=gpu",
        "#SBATCH --time=90",
        "#SBATCH --mem=32GB",
        "#SBATCH --cpus-per-task=8",
    ):
        assert line in script.splitlines(), f"{line!r} missing from:\n{script}"


@pytest.mark.slurm
def test_sbatch_wait_runs_a_job_that_writes_a_file(slurm: SlurmCluster, tmp_path: Path) -> None:
    out = tmp_path / "hello.txt"
    proc = slurm.run(
        "sbatch", "--wait", "--parsable", f"--chdir={tmp_path}", f"--output={tmp_path}/%j.log",
        "--wrap", f"echo hello-from-$SLURM_JOB_ID > {out}",
        timeout=JOB_TIMEOUT_S,
    )  # fmt: skip
    job_id = proc.stdout.strip().split(";")[0]
    assert out.read_text().strip() == f"hello-from-{job_id}"
    assert _scontrol_job(slurm, job_id)["JobState"] == "COMPLETED"


def _slurm_executor_missing() -> str | None:
    """Why the xstilts Slurm executor / CLI cannot be tested yet, or None."""
    for module in ("xstilts.cli", "xstilts.orchestration.executors"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            return f"{module} not importable yet ({exc})"
    if not (repo_root() / "params" / "quick.yaml").exists():
        return "params/quick.yaml (tiny study) does not exist yet"
    return None


STAGE_NOTEBOOKS = ("01_curate", "02_intermediate", "03_target", "04_analysis")
MARKER = """import os, pathlib
where = pathlib.Path(out_dir or report_dir)
where.mkdir(parents=True, exist_ok=True)
(where / "slurm_job.txt").write_text(os.environ.get("SLURM_JOB_ID", "none"))"""


def _throwaway_notebooks(folder: Path) -> Path:
    """Stage notebooks that only record the Slurm job they ran in (no models, seconds each)."""
    import nbformat

    folder.mkdir()
    params = "config = None\nout_dir = curate_dir = encoder_dir = study_dir = report_dir = None"
    for name in STAGE_NOTEBOOKS:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nb.cells = [nbformat.v4.new_code_cell(params), nbformat.v4.new_code_cell(MARKER)]
        nb.cells[0].metadata["tags"] = ["parameters"]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


@pytest.mark.slurm
def test_cli_runs_a_study_on_slurm(slurm: SlurmCluster, tmp_path: Path) -> None:
    """`python -m xstilts run params/quick.yaml --executor slurm`: every stage runs as a Slurm job
    in dependency order, with the study's resources in its sbatch script."""
    missing = _slurm_executor_missing()
    if missing:
        pytest.skip(missing)
    runs = tmp_path / "runs"
    resources = ["partition=debug", "cpus=1", "mem=1G", "time=00:09:00", "gpus=0"]
    overrides = [f"-p=resources.{stage}.{kv}" for stage in ("default", "curate", "analysis")
                 for kv in resources]  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "xstilts", "run", "params/quick.yaml", "--executor", "slurm",
         "--runs-dir", str(runs), "--notebooks-dir", str(_throwaway_notebooks(tmp_path / "nb")),
         "--reports-dir", str(tmp_path / "reports"), *overrides],
        cwd=repo_root(), env={**os.environ, "TQDM_DISABLE": "1", "XSTILTS_KERNEL": "python3"},
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    study = runs / "quick"
    done = sorted(study.glob("*/*/DONE"))
    stages = sorted(d.parent.parent.name for d in done)
    assert stages == ["analysis", "curate", "intermediate", "target", "target"], stages
    markers = [d.parent / "slurm_job.txt" for d in done if d.parent.parent.name != "analysis"]
    markers += list((tmp_path / "reports").rglob("slurm_job.txt"))  # analysis writes to report_dir
    job_ids = {m.parent.name: m.read_text() for m in markers}
    assert len(job_ids) == 5 and all(j.isdigit() for j in job_ids.values()), job_ids
    # dependencies respected: a stage starts only after its inputs ended (provenance times)
    prov = {d.parent.name.split("-")[0]: read_json(d.parent / "provenance.json") for d in done}
    before = [("data", "hpo_organ_systems__s1"), ("data", "icd10__baseline__s1"),
              ("hpo_organ_systems__s1", "icd10__from"), ("icd10__from", "report"),
              ("icd10__baseline__s1", "report")]  # fmt: skip
    for first, then in before:
        assert prov[first]["ended"] <= prov[then]["started"], (first, then, prov[first], prov[then])
    scripts = sorted((study / ".submitit").rglob("*_submission.sh"))
    assert len(scripts) >= 4, scripts  # one per dependency layer at least
    for sub in scripts:
        script = sub.read_text().splitlines()
        for line in ("--partition=debug", "--cpus-per-task=1", "--mem=1GB", "--time=9"):
            assert f"#SBATCH {line}" in script, f"{line} missing from {sub}"
        assert not any("gpus" in ln for ln in script)


def sleep_then(seconds: float) -> str:
    import time

    time.sleep(seconds)
    return "finished"


@pytest.mark.slurm
def test_a_job_slurm_kills_fails_the_stage_instead_of_hanging(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    # Without accounting, submitit never reports a cancelled job as done; the executor must notice.
    from xstilts.orchestration.executors import _await

    executor = submitit.AutoExecutor(folder=tmp_path, cluster="slurm")
    executor.update_parameters(timeout_min=2, slurm_partition=slurm.partition, cpus_per_task=1)
    job = executor.submit(sleep_then, 120)
    slurm.run("scancel", job.job_id)
    assert _await(job, "slurm", poll_s=0.5, grace_s=2) is False
    assert not job.done()  # what would have hung the runner
