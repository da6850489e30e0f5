"""The runner on throwaway notebooks executed by papermill on a real kernel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

PARAMS = {
    "01_curate.ipynb": "config = {}\nout_dir = ''",
    "02_intermediate.ipynb": "config = {}\ncurate_dir = ''\nout_dir = ''",
    "03_target.ipynb": "config = {}\ncurate_dir = ''\nencoder_dir = None\nout_dir = ''",
    "04_analysis.ipynb": "config = {}\nstudy_dir = ''\nreport_dir = ''",
}
BODY = """\
import os, pathlib, time
name = pathlib.Path(globals().get('out_dir') or 'analysis').name
time.sleep(float(os.environ.get('XT_SLEEP', '0')))
if os.environ.get('XT_KERNELS'):  # which kernel ran the stage, and what it found there
    import xstilts.precision as precision
    with open(os.environ['XT_KERNELS'], 'a') as fh:
        cached = precision.cpu_bf16_flags.cache_info().currsize
        fh.write(f"{name} {os.getpid()} {'carried' in globals()} {cached}\\n")
    precision.cpu_bf16_flags()
    carried = True
if config.get('task') and config.get('task') == os.environ.get('XT_FAIL'):
    raise RuntimeError('planned failure of ' + name)
if globals().get('out_dir') and 'intermediate' in out_dir:
    (pathlib.Path(out_dir) / 'encoder').mkdir(parents=True, exist_ok=True)
    (pathlib.Path(out_dir) / 'encoder' / 'model.safetensors').write_bytes(b'weights')
if globals().get('encoder_dir'):
    assert pathlib.Path(encoder_dir).is_dir(), encoder_dir
with open(os.environ['XT_LOG'], 'a') as fh:
    fh.write(name + '\\n')
"""
STUDY = """\
study: t
seeds: {intermediate: [1], target: [1]}
intermediate: {tasks: [wordnet_verbs, wordnet_nouns]}
target: {tasks: [icd10], train: {max_steps: 1}}
"""


@pytest.fixture()
def setup(tmp_path):
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    for name, params in PARAMS.items():
        cell = nbformat.v4.new_code_cell(params)
        cell.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell(BODY)])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, nb_dir / name)
    study = tmp_path / "study.yaml"
    study.write_text(STUDY, encoding="utf-8")
    log = tmp_path / "executions.log"
    env = dict(os.environ, XT_LOG=str(log), TQDM_DISABLE="1", OMP_NUM_THREADS="1")
    return tmp_path, study, nb_dir, log, env


def cli(setup, *args: str, env_extra: dict | None = None, wait: bool = True):
    tmp, study, nb_dir, _, env = setup
    cmd = [
        sys.executable,
        "-m",
        "xstilts",
        args[0],
        str(study),
        "--runs-dir",
        str(tmp / "runs"),
        "--notebooks-dir",
        str(nb_dir),
        "--reports-dir",
        str(tmp / "reports"),
        *args[1:],
    ]
    env = dict(env, **(env_extra or {}))
    if not wait:
        return subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def executions(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


N_RUNS = 1 + 2 + 3 + 1  # curate, 2 intermediates, 1 target x (2 ckpts + baseline), analysis


def test_run_skip_status_and_provenance(setup):
    tmp, _, _, log, _ = setup
    first = cli(setup, "run", "--jobs", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    names = executions(log)
    assert len(names) == N_RUNS and len(set(names)) == N_RUNS
    study_dir = tmp / "runs" / "t"
    for run_dir in (p for p in study_dir.glob("*/*") if p.is_dir()):
        assert (run_dir / "DONE").exists() and (run_dir / "notebook.ipynb").exists()
        prov = json.loads((run_dir / "provenance.json").read_text())
        assert prov["status"] == "done" and prov["wall_s"] > 0 and prov["git"]["commit"]
        assert prov["packages"]["papermill"] and prov["peak_rss_mb"]["kernel"] > 0
    target = next(study_dir.glob("target/icd10__from-wordnet_nouns-s1__s1-*"))
    prov = json.loads((target / "provenance.json").read_text())
    assert prov["config"]["intermediate"] == "wordnet_nouns-s1" and prov["parameters"][
        "encoder_dir"
    ].endswith("encoder")
    executed = nbformat.read(target / "notebook.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert (study_dir / "grid.json").exists()

    t0 = time.perf_counter()
    again = cli(setup, "run")
    elapsed = time.perf_counter() - t0
    assert again.returncode == 0 and f"{N_RUNS} cached, 0 run" in again.stdout
    assert elapsed < 10, elapsed
    assert len(executions(log)) == N_RUNS

    status = cli(setup, "status")
    assert status.returncode == 0 and f"{N_RUNS} done, 0 failed" in status.stdout

    changed = cli(setup, "run", "-p", "target.per_task.icd10.max_steps=2")
    assert changed.returncode == 0
    new = executions(log)[N_RUNS:]
    assert sorted(n.split("__")[0] for n in new if n != "analysis") == ["icd10"] * 3
    assert "analysis" in new and len(new) == 4


def _kernels(path: Path) -> dict[str, tuple[int, bool, int]]:
    """stage name -> (kernel pid, a variable of an earlier stage found, xstilts cache entries)"""
    rows = [line.split() for line in path.read_text().splitlines()]
    return {
        name if name == "analysis" else name.rsplit("-", 1)[0]: (int(pid), c == "True", int(n))
        for name, pid, c, n in rows
    }


def test_stages_of_one_notebook_share_a_kernel_that_forgets_between_them(setup):
    """By default the local executor runs consecutive stages of one notebook in one kernel, brought
    back to a new session between them: no variable and no xstilts cache entry carries over. A
    failed stage ends its kernel; `--fresh-kernels` gives every stage a kernel of its own."""
    tmp, *_ = setup
    log = tmp / "kernels.log"
    first = cli(setup, "run", env_extra={"XT_KERNELS": str(log), "XT_FAIL": "wordnet_verbs"})
    assert first.returncode == 1, first.stdout + first.stderr
    ran = _kernels(log)
    assert not any(carried or cached for _, carried, cached in ran.values()), ran
    targets = [n for n in ran if n.startswith("icd10")]
    assert len(targets) == 2 and len({ran[n][0] for n in targets}) == 1  # one kernel
    failed, after = ran["wordnet_verbs__s1"][0], ran["wordnet_nouns__s1"][0]
    assert failed != after  # the failed stage's kernel was not used again
    assert len({pid for pid, _, _ in ran.values()}) == 4  # curate, 2 intermediate, target
    study = tmp / "runs" / "t"
    sessions = [
        json.loads((run / "provenance.json").read_text())["kernel_session"]
        for run in study.glob("target/*")
    ]
    assert sorted(s["stages_before"] for s in sessions) == [0, 1]
    assert sorted(s["reused"] for s in sessions) == [False, True]

    log.unlink()
    again = cli(setup, "run", "--fresh-kernels", env_extra={"XT_KERNELS": str(log)})
    assert again.returncode == 0, again.stdout + again.stderr
    rerun = _kernels(log)
    assert sorted(rerun) == ["analysis", "icd10__from-wordnet_verbs-s1__s1", "wordnet_verbs__s1"]
    pids = {pid for pid, _, _ in rerun.values()}
    assert len(pids) == 3 and not pids & {pid for pid, _, _ in ran.values()}
    assert not any(carried or cached for _, carried, cached in rerun.values())


def test_failure_isolation_and_summary(setup):
    tmp, _, _, log, _ = setup
    res = cli(setup, "run", env_extra={"XT_FAIL": "wordnet_nouns"})
    assert res.returncode == 1
    out = res.stdout
    assert "FAILED  intermediate/wordnet_nouns__s1-" in out and "planned failure" in out
    assert "notebook: " in out and "blocked (an input failed)" in out
    failed_dir = next((tmp / "runs" / "t").glob("intermediate/wordnet_nouns__s1-*"))
    assert (failed_dir / "FAILED").exists() and not (failed_dir / "DONE").exists()
    assert (failed_dir / "notebook.ipynb").exists()
    assert "planned failure" in (failed_dir / "FAILED").read_text()
    # one marker, in capitals: a second file 'failed' (the runner once wrote its launch-failure
    # text there) would replace the real error on a case-insensitive file system (macOS)
    assert sorted(p.name for p in failed_dir.iterdir() if p.name.lower() == "failed") == ["FAILED"]
    names = executions(log)
    # independent branches ran: the wordnet_verbs checkpoint, its targets and the baselines
    assert sum(n.startswith("icd10") and "wordnet_verbs" in n for n in names) == 1
    assert sum("baseline" in n for n in names) == 1
    assert not any("wordnet_nouns" in n for n in names) and "analysis" not in names
    # a rerun without the fault finishes only what is missing
    res = cli(setup, "run")
    assert res.returncode == 0, res.stdout
    names = executions(log)
    assert len(names) == N_RUNS and len(set(names)) == N_RUNS


def test_killed_runner_restart_runs_nothing_twice(setup):
    tmp, _, _, log, _ = setup
    proc = cli(setup, "run", env_extra={"XT_SLEEP": "1"}, wait=False)
    deadline = time.time() + 200
    while len(executions(log)) < 3 and time.time() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = len(executions(log))
    assert 3 <= killed_at < N_RUNS
    res = cli(setup, "run", env_extra={"XT_SLEEP": "0"})
    assert res.returncode == 0, res.stdout
    names = executions(log)
    assert len(names) == N_RUNS and len(set(names)) == N_RUNS, names


def test_submitit_local_executor(setup):
    _, study, _, log, _ = setup
    study.write_text(
        STUDY.replace("[wordnet_verbs, wordnet_nouns]", "[wordnet_verbs]").replace(
            ", gnome_help_parallel", ""
        )
    )
    res = cli(setup, "run", "--executor", "submitit-local")
    assert res.returncode == 0, res.stdout + res.stderr
    assert len(executions(log)) == 1 + 1 + 2 + 1


def test_dry_run_lists_and_estimates(setup):
    res = cli(setup, "run", "--dry-run")
    assert res.returncode == 0, res.stdout + res.stderr
    assert (
        "pending" in res.stdout
        and "estimate:" in res.stdout
        and "icd10__from-wordnet_verbs-s1__s1" in res.stdout
    )
    assert not (setup[0] / "runs" / "t").exists()
    empty = {"XSTILTS_CACHE": str(setup[0] / "empty-cache")}  # what a fresh machine has
    offline = cli(setup, "run", "--dry-run", env_extra={**empty, "XSTILTS_OFFLINE": "1"})
    assert "before running, fix: asset cache: packages.wordnet: embedded asset 'wordnet'" in (
        offline.stdout
    )
    assert "not tried: XSTILTS_OFFLINE=1" in offline.stdout
    fresh = cli(setup, "run", "--dry-run", env_extra=empty)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    line = fresh.stdout.strip().splitlines()[-1]
    assert line.startswith("data paths and the model: present; registry assets fetched by this")
    assert "icd10" in line and "wordnet" in line and "udhr" not in line  # what this study reads


def test_dry_run_of_an_invalid_study_shows_the_problem_not_a_grid(setup):
    _, study, _, _, _ = setup
    study.write_text(
        STUDY.replace("[wordnet_verbs, wordnet_nouns]", "[wordnet_verbs, wordnet_nuons]")
    )
    res = cli(setup, "run", "--dry-run")
    assert res.returncode == 2
    assert "unknown task 'wordnet_nuons'; did you mean wordnet_nouns, wordnet_verbs?" in res.stderr
    assert "pending" not in res.stdout and "estimate:" not in res.stdout


def test_changed_output_is_reported_and_refused_before_compute(setup):
    """Verify before use: a finished run's file edited afterwards is named by `status --verify`,
    and a stage reading that run refuses to start (nothing executes)."""
    tmp, _, _, log, _ = setup
    assert cli(setup, "run").returncode == 0
    clean = cli(setup, "status", "--verify")
    assert clean.returncode == 0 and "every finished run is intact" in clean.stdout
    study_dir = tmp / "runs" / "t"
    inter = next(study_dir.glob("intermediate/wordnet_nouns__s1-*"))
    checkpoint = inter / "encoder" / "model.safetensors"
    checkpoint.write_bytes(b"weightz")  # the saved encoder changed after the run finished
    report = cli(setup, "status", "--verify")
    assert report.returncode == 1
    assert f"{checkpoint}: sha256" in report.stdout and "recorded" in report.stdout
    target = next(study_dir.glob("target/icd10__from-wordnet_nouns-s1__s1-*"))
    (target / "DONE").unlink()  # ask for the target again: it must not run on the changed input
    before = len(executions(log))
    again = cli(setup, "run")
    assert again.returncode != 0
    failed = (target / "FAILED").read_text()
    assert "input verification failed" in failed and "encoder/model.safetensors" in failed
    assert f"delete {inter / 'DONE'}" in failed
    assert len(executions(log)) == before  # refused before any notebook ran


def test_two_runs_of_one_study_at_once_run_each_stage_once(setup):
    """The per-run lock: a second `xstilts run` started while the first works waits for each
    stage instead of running it again, and both end with every stage done."""
    tmp, _, _, log, _ = setup
    slow = {"XT_SLEEP": "1"}
    first = cli(setup, "run", env_extra=slow, wait=False)
    time.sleep(1.0)
    second = cli(setup, "run", env_extra=slow, wait=False)
    out1, _ = first.communicate(timeout=600)
    out2, _ = second.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, out1 + out2
    names = executions(log)
    assert len(names) == N_RUNS and len(set(names)) == N_RUNS  # nothing ran twice
    status = cli(setup, "status", "--verify")
    assert status.returncode == 0 and f"{N_RUNS} done" in status.stdout


def test_report_mid_study_is_interim_and_the_final_analysis_still_runs(setup):
    """`xstilts report` while runs are unfinished analyses the finished ones (the analysis reads
    only those inputs), and leaves the analysis stage pending, so that `xstilts run` makes the
    final one. With no finished target it refuses, naming why, and starts nothing."""
    tmp, _, _, log, _ = setup
    res = cli(setup, "report")
    assert res.returncode == 2 and "nothing to report yet for study t" in res.stderr
    assert not (tmp / "runs" / "t").exists() and not executions(log)
    assert cli(setup, "run", env_extra={"XT_FAIL": "wordnet_nouns"}).returncode == 1
    res = cli(setup, "report")
    assert res.returncode == 0, res.stdout + res.stderr
    assert executions(log).count("analysis") == 1
    analysis = next((tmp / "runs" / "t" / "analysis").iterdir())
    inputs = json.loads((analysis / "stage.json").read_text())["inputs"]
    assert inputs and not any("wordnet_nouns" in i for i in inputs)  # the finished runs alone
    assert all((Path(i) / "DONE").exists() for i in inputs)
    assert not (analysis / "DONE").exists()  # interim: not the finished stage
    assert cli(setup, "run").returncode == 0
    assert executions(log).count("analysis") == 2 and (analysis / "DONE").exists()
    inputs = json.loads((analysis / "stage.json").read_text())["inputs"]
    assert sum("wordnet_nouns" in i for i in inputs) == 2  # the checkpoint and its target run
