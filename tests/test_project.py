"""Project-level invariants: set-up files agree with pyproject, notebooks are clean and parameterised."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import nbformat
import pytest
import yaml

from xstilts.paths import repo_root

ROOT = repo_root()
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_environment_yml_installs_the_project_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(
        dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict) and "pip" in dep
    )
    assert "-e .[dev]" in pip_section, (
        "environment.yml must install the project itself, not a copy of its deps"
    )
    assert "pip" in env["dependencies"]
    assert any(str(dep).startswith("python") for dep in env["dependencies"])
    # no package is listed twice: conda lists only the interpreter, pip and node
    conda_packages = {str(dep).split("=")[0] for dep in env["dependencies"] if isinstance(dep, str)}
    assert conda_packages <= {"python", "pip", "nodejs"}


def test_pyproject_gives_a_torch_range_and_the_lock_pins_the_cpu_build_on_disk():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    torch = [d for d in project["dependencies"] if d.startswith("torch")]
    assert torch == ["torch>=2.8,<2.15"]
    lock = (ROOT / "requirements.lock").read_text().splitlines()
    assert "torch==2.13.0+cpu" in lock
    pinned = [line for line in lock if line and not line.startswith("#")]
    assert all("==" in line for line in pinned), [x for x in pinned if "==" not in x]


def test_ci_runs_exactly_make_test():
    lines = [
        line
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[-1].strip() == "make test"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "keep_output" not in cell.metadata.get("tags", []):
            assert not cell.get("outputs"), f"{path.name}: a cell has outputs; run nbstripout"


def test_stage_notebooks_exist():
    assert [p.name for p in NOTEBOOKS] == [
        "01_curate.ipynb",
        "02_intermediate.ipynb",
        "03_target.ipynb",
        "04_analysis.ipynb",
    ]


def test_no_machine_paths_in_tracked_files():
    out = subprocess.run(
        [
            "git",
            "grep",
            "-lE",
            r"/(work|farm|root)/|/tmp/cand",
            "--",
            ".",
            ":!tests/test_project.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.stdout.strip() == "", f"machine paths in: {out.stdout}"


def test_ruff_lint_and_format_are_clean():
    """`make lint` as a test, so CI fails on lint or format drift."""
    for args in (
        ["check", "lib", "tests", "bench", "notebooks"],
        ["format", "--check", "lib", "tests", "bench"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, (
            f"ruff {' '.join(args)}:\n{proc.stdout[-3000:]}{proc.stderr[-1000:]}"
        )
