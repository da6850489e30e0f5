"""The stage worker: a kernel that dies before its first reply (a lost TCP-port race, seen with
two stages starting at once) is started again; any other failure is the stage's own."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from xstilts.orchestration import worker


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
