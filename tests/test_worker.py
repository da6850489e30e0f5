"""The stage worker: a kernel that dies before its first reply (a lost TCP-port race, seen with
two stages starting at once) is started again; any other failure is the stage's own."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from xstilts.orchestration import worker
from xstilts.orchestration.kernels import KeptKernel


def _notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(x * 2)")]
    nbformat.write(nb, path)
    return path


def _spec(tmp_path):
    return {"notebook": str(_notebook(tmp_path / "in.ipynb")), "kernel": worker.kernel_name()}


def test_a_kernel_that_died_before_its_first_reply_is_started_again(tmp_path, monkeypatch):
    real, calls = papermill.execute_notebook, []

    def first_start_lost(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(worker.KERNEL_START_FAILURE)
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", first_start_lost)
    worker._execute_notebook(_spec(tmp_path), tmp_path, {"x": 21})
    out = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
    assert len(calls) == 2
    assert out.cells[-1].outputs[0]["text"].strip() == "42"  # the real kernel ran it


def test_a_kept_kernel_lost_at_start_is_replaced_then_kept_and_reset(tmp_path, monkeypatch):
    real, managers = papermill.execute_notebook, []

    def first_start_lost(*args, **kwargs):
        managers.append(kwargs["km"])
        if len(managers) == 1:
            raise RuntimeError(worker.KERNEL_START_FAILURE)
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", first_start_lost)
    kernel, spec = KeptKernel(), _spec(tmp_path)
    try:
        worker._execute_notebook(spec, tmp_path, {"x": 21}, kernel)
        first = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
        worker._execute_notebook(spec, tmp_path, {"x": 5}, kernel)
        second = nbformat.read(tmp_path / "notebook.ipynb", as_version=4)
    finally:
        kernel.shutdown()
    assert managers[0] is not managers[1] and managers[1] is managers[2]
    assert first.cells[-1].outputs[0]["text"].strip() == "42"
    assert second.cells[-1].outputs[0]["text"].strip() == "10"
    counts = [c.execution_count for c in second.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1))  # a new session: counts from 1 again


def test_other_failures_are_not_retried(tmp_path, monkeypatch):
    calls = []

    def fails(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("a cell raised")

    monkeypatch.setattr(papermill, "execute_notebook", fails)
    with pytest.raises(RuntimeError, match="a cell raised"):
        worker._execute_notebook(_spec(tmp_path), tmp_path, {})
    assert len(calls) == 1


def test_a_kernel_that_never_starts_fails_after_the_last_attempt(tmp_path, monkeypatch):
    calls = []

    def never(*args, **kwargs):
        calls.append(1)
        raise RuntimeError(worker.KERNEL_START_FAILURE)

    monkeypatch.setattr(papermill, "execute_notebook", never)
    with pytest.raises(RuntimeError, match="kernel_info"):
        worker._execute_notebook(_spec(tmp_path), tmp_path, {})
    assert len(calls) == worker.KERNEL_START_ATTEMPTS


def test_the_worker_validates_notebooks_without_loading_the_iri_grammar(tmp_path):
    """The worker leaves out jsonschema's optional IRI check (its grammar takes 2 s to load, once
    per stage); nbformat still validates: a good notebook passes, a broken one is refused."""
    import subprocess
    import sys

    good = _notebook(tmp_path / "good.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text(good.read_text().replace('"cell_type": "code"', '"cell_type": "nonsense"', 1))
    # the worker is imported first in its own process, as the executors start it
    script = (
        "import sys\n"
        "import xstilts.orchestration.worker\n"
        "import nbformat\n"
        f"nbformat.validate(nbformat.read({str(good)!r}, as_version=4))\n"
        "try:\n"
        f"    nbformat.validate(nbformat.read({str(bad)!r}, as_version=4))\n"
        "except nbformat.ValidationError:\n"
        "    print('refused')\n"
        "print(sys.modules.get('rfc3987_syntax'))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["refused", "None"], out.stdout + out.stderr


def test_stages_run_side_by_side_share_the_cores_out(monkeypatch):
    """`--jobs 2` on a 2-core machine: each stage's torch gets 1 thread, not 2 (4 threads on 2
    cores would contend); one job keeps torch's default; a thread count the user set is kept."""
    import os
    import subprocess
    import sys

    from xstilts.orchestration.executors import THREAD_VARIABLES, stage_environment

    for name in THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    cores = len(os.sched_getaffinity(0))
    assert not set(THREAD_VARIABLES) & set(stage_environment(1))
    env = stage_environment(2)
    assert env["OMP_NUM_THREADS"] == str(max(1, cores // 2))
    probe = [sys.executable, "-c", "import torch; print(torch.get_num_threads())"]
    out = subprocess.run(probe, env=env, capture_output=True, text=True, check=True).stdout
    assert int(out) == max(1, cores // 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert stage_environment(2)["OMP_NUM_THREADS"] == "3"
