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
import shutil
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
(where / "slurm_job.txt").write_text(os.environ.get("SLURM_JOB_ID", "none"))
(where / "site.txt").write_text(os.environ.get("XSTILTS_SITE_SETUP", "none"))"""


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
    in dependency order, with the study's resources in its sbatch script, a task's own
    resources (`resources.per_task`) on its jobs, and the site's `executor.setup` lines run in
    every job first."""
    missing = _slurm_executor_missing()
    if missing:
        pytest.skip(missing)
    runs = tmp_path / "runs"
    resources = ["partition=debug", "cpus=1", "mem=1G", "time=00:09:00", "gpus=0"]
    overrides = [f"-p=resources.{stage}.{kv}" for stage in ("default", "curate", "analysis")
                 for kv in resources]  # fmt: skip
    overrides += ["-p=resources.per_task.hpo_organ_systems.time=00:08:00",
                  '-p=executor.setup=["export XSTILTS_SITE_SETUP=done"]']  # fmt: skip
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
    assert {(m.parent / "site.txt").read_text() for m in markers} == {"done"}  # executor.setup
    for run, job_id in job_ids.items():  # per_task resources: the intermediate's own time
        want = "00:08:00" if run.startswith("hpo_organ_systems__s1") else "00:09:00"
        assert _scontrol_job(slurm, job_id)["TimeLimit"] == want, run
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
        for line in ("--partition=debug", "--cpus-per-task=1", "--mem=1GB"):
            assert f"#SBATCH {line}" in script, f"{line} missing from {sub}"
        assert "#SBATCH --time=9" in script or "#SBATCH --time=8" in script
        assert "export XSTILTS_SITE_SETUP=done" in script
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


def _xstilts_run(*args: str, runs: Path, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "xstilts", "run", "params/quick.yaml", "--runs-dir", str(runs),
            "--reports-dir", str(runs.parent / "reports"), *extra, *args]  # fmt: skip


@pytest.mark.slurm
def test_a_requeued_training_job_resumes_to_the_metrics_of_an_uninterrupted_run(
    slurm: SlurmCluster, tmp_path: Path
) -> None:
    """`--stages intermediate --executor slurm` on the real notebook and model; `scontrol
    requeue` kills the job mid-training and Slurm starts it again: it resumes from the run's
    checkpoint, ends with the dev scores and curve of the same run done without interruption
    (locally), and its checkpoints are pruned once it is done."""
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    train = ["-p", "intermediate.train.max_steps=40", "-p", "intermediate.train.checkpoint_every=5"]
    resources = [f"-p=resources.intermediate.{kv}" for kv in
                 ("partition=debug", "cpus=1", "mem=3G", "time=00:09:00", "gpus=0")]  # fmt: skip
    slurm_runs, local_runs = tmp_path / "slurm" / "runs", tmp_path / "local" / "runs"
    curate = subprocess.run(_xstilts_run("--stages", "curate", runs=slurm_runs, extra=train),
                            cwd=repo_root(), env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert curate.returncode == 0, curate.stdout[-3000:] + curate.stderr[-3000:]
    shutil.copytree(slurm_runs / "quick" / "curate", local_runs / "quick" / "curate")

    driver = subprocess.Popen(
        _xstilts_run("--stages", "intermediate", "--executor", "slurm", runs=slurm_runs,
                     extra=train + resources),
        cwd=repo_root(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        job_id = _requeue_after_checkpoint(slurm, slurm_runs / "quick" / "intermediate", 10)
        out, _ = driver.communicate(timeout=400)
    finally:
        driver.kill()
    assert driver.returncode == 0, out[-4000:]
    assert _scontrol_job(slurm, job_id)["Restarts"] == "1"
    local = subprocess.run(_xstilts_run("--stages", "intermediate", runs=local_runs, extra=train),
                           cwd=repo_root(), env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert local.returncode == 0, local.stdout[-3000:] + local.stderr[-3000:]

    (resumed,) = (slurm_runs / "quick" / "intermediate").iterdir()
    (straight,) = (local_runs / "quick" / "intermediate").iterdir()
    a, b = read_json(resumed / "metrics.json"), read_json(straight / "metrics.json")
    assert a["resumed_from_step"] >= 10 and b["resumed_from_step"] == 0
    assert "resuming from" in (resumed / "stage.log").read_text(encoding="utf-8")
    for key in ("steps", "best_step", "dev_score", "dev"):
        assert a[key] == b[key], key
    assert (resumed / "curve.csv").read_text() == (straight / "curve.csv").read_text()
    weights = [(run / "encoder" / "model.safetensors").read_bytes() for run in (resumed, straight)]
    assert weights[0] == weights[1]  # the kept encoder, bit for bit
    assert not (resumed / "checkpoints").exists() and not (straight / "checkpoints").exists()


def _requeue_after_checkpoint(slurm: SlurmCluster, stage_dir: Path, step: int) -> str:
    """Wait for a training checkpoint at ``step`` or later, then requeue the job writing it."""
    import re
    import time

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        steps = [int(m.group(1)) for p in stage_dir.glob("*/checkpoints/step-*")
                 if (m := re.fullmatch(r"step-(\d+)", p.name))]  # fmt: skip
        if steps and max(steps) >= step:
            job_id = slurm.run("squeue", "-h", "-n", "xstilts-intermediate", "-o", "%i").stdout
            job_id = job_id.split()[0]
            slurm.run("scontrol", "requeue", job_id)
            _release_requeued(slurm, job_id)
            return job_id
        time.sleep(0.2)
    raise AssertionError(f"no checkpoint at step {step} in {stage_dir} within 300 s")


def _release_requeued(slurm: SlurmCluster, job_id: str) -> None:
    """Slurm holds a requeued job back for about two minutes (its begin time); start it as soon
    as it is pending again, so the test does not wait that out."""
    import time

    for _ in range(300):
        if _scontrol_job(slurm, job_id)["JobState"] == "PENDING":
            slurm.run("scontrol", "update", f"JobId={job_id}", "StartTime=now")
            return
        time.sleep(0.2)
