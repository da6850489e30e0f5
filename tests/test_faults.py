"""Fault injection: each planted fault is refused with a clear message before compute, or
detected before use (the runner-level faults, a changed finished run, are in test_runner.py)."""

from __future__ import annotations

import pytest

from xstilts.data import store
from xstilts.orchestration.params import ParamsError, check_tasks, load_study
from xstilts.paths import repo_root

QUICK = repo_root() / "params" / "quick.yaml"


def _problems(*overrides: str, paths: bool = True) -> str:
    with pytest.raises(ParamsError) as err:
        check_tasks(load_study(QUICK, overrides), paths)
    return str(err.value)


def test_unknown_or_misspelt_task_option_is_refused_naming_task_option_and_accepted():
    msg = _problems("curate.task_options={multiemo: {data_files: /nonexistent/x}}")
    assert "task 'multiemo' has no option 'data_files'; its loader accepts none" in msg
    msg = _problems("target.tasks=[multiemo, xnli]", "curate.task_options={xnli: {data_file: x}}")
    assert "task 'xnli' has no option 'data_file'" in msg and "'data_files'" in msg


def test_bad_sizes_are_refused_before_the_curate_notebook():
    assert "curate.n_target_train: expected an int >= 0 or null, got -5" in _problems(
        "curate.n_target_train=-5"
    )
    assert "match_sizes" in _problems("curate.match_sizes=bytes")


def test_relative_paths_mean_the_folder_xstilts_run_started_in(tmp_path, monkeypatch):
    (tmp_path / "data" / "xnli").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    resolved = load_study(
        QUICK,
        ["target.tasks=[multiemo, xnli]", "curate.task_options={xnli: {data_files: data/xnli}}"],
    )
    opts = resolved.study.curate.model_extra["task_options"]["xnli"]
    assert opts["data_files"] == str(tmp_path / "data" / "xnli")  # absolute in resolved params
    check_tasks(resolved)  # exists: accepted
    missing = _problems(
        "target.tasks=[multiemo, xnli]", "curate.task_options={xnli: {data_files: data/none}}"
    )
    assert f"data_files path {tmp_path / 'data' / 'none'} does not exist" in missing


def test_truncated_curated_file_is_refused_before_use(tmp_path):
    """A split cut to fewer whole lines still parses; the manifest's sha256 catches it."""
    rows = [{"id": f"r{i}", "text": f"text {i}", "label": i % 2} for i in range(30)]
    path = store.write_split(tmp_path, "multiemo", "test", rows, "de")
    from xstilts.io import sha256_file, write_json

    entry = {"file": "tasks/multiemo/test.de.jsonl", "sha256": sha256_file(path)}
    write_json(tmp_path / "manifest.json", {"tasks": {"multiemo": {"splits": {"test.de": entry}}}})
    assert len(store.read_split(tmp_path, "multiemo", "test", "de")) == 30
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:20]))  # 20 whole lines: valid JSONL, wrong data
    with pytest.raises(store.CuratedFileChanged, match="re-run the curate stage") as err:
        store.read_split(tmp_path, "multiemo", "test", "de")
    assert "test.de.jsonl: sha256" in str(err.value) and "manifest recorded" in str(err.value)
    store.write_split(tmp_path, "multiemo", "test", rows[:3], "pl")  # never curated here
    with pytest.raises(store.CuratedFileChanged, match="not recorded"):
        store.read_split(tmp_path, "multiemo", "test", "pl")
