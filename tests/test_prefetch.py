"""``xstilts fetch`` on a login node, then the study on a compute node without internet: a study
is prefetched from hub repositories served on 127.0.0.1 (``local_hub``, the real huggingface_hub
client) into one snapshot folder, then run through every stage with ``HF_HUB_OFFLINE=1`` and the
hub gone, from that folder alone. The repositories are in the hub's layouts: Parquet repos with
README ``configs`` (nyu-mll/glue, google/xtreme), and script-only repos whose data is on the
``refs/convert/parquet`` branch (allenai/social_i_qa in the current export layout, aps/super_glue
in the older one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from local_hub import LocalHub, export_branch
from study_runner import run_study
from tiny_models import tiny_encoder, tiny_tokenizer
from xstilts.paths import repo_root
from xtreme_snapshot import LANGS, build

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
MODEL = "fixture-org/tiny-xlmr"
SCRIPT_ONLY = ("allenai/social_i_qa", "aps/super_glue")


def _hub_root(base):
    """The fixture snapshots as hub repositories, and a tiny model repo (safetensors)."""
    curate = build(base / "data")
    hub = base / "hub"
    for repo in ("nyu-mll/glue", "google/xtreme", "cambridgeltl/xcopa", *SCRIPT_ONLY):
        src = base / "data" / "snapshots" / repo
        dest = hub / "datasets" / repo
        if repo in SCRIPT_ONLY:  # main holds a loading script; the data is the export branch
            shutil.copytree(src, export_branch(dest))
            dest.mkdir(parents=True)
            (dest / "README.md").write_text("---\nlicense: cc-by-4.0\n---\n", encoding="utf-8")
            (dest / f"{repo.split('/')[1]}.py").write_text("# loading script\n", encoding="utf-8")
        else:
            shutil.copytree(src, dest)
    tok = tiny_tokenizer()
    model = hub / "models" / MODEL
    tiny_encoder("xlmr", len(tok), seed=0, dropout=0.1).save_pretrained(model)
    tok.save_pretrained(model)
    return hub, curate


def _xstilts(*args, env):
    return subprocess.run(
        [sys.executable, "-m", "xstilts", *args],
        cwd=repo_root(),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    base = tmp_path_factory.mktemp("prefetch")
    hub_root, curate = _hub_root(base)
    train = {"max_steps": 2, "batch_size": 4, "max_length": 64, "eval_every": 2, "device": "cpu"}
    spec = {
        "study": "prefetched",
        "model": MODEL,
        "curate": {
            "n_target_train": 8,
            "n_target_dev": 4,
            "n_target_test": 6,
            "n_intermediate": 8,
            "n_intermediate_dev": 4,
            "task_languages": {t: LANGS[t] for t in ("pawsx", "xcopa")},
        },
        "intermediate": {"tasks": ["mnli"], "train": train},
        "target": {"tasks": ["pawsx", "xcopa"], "train": train},
    }
    study = base / "prefetched.yaml"
    study.write_text(yaml.safe_dump(spec), encoding="utf-8")
    snapshots = base / "snapshots"
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "HF_HUB_CACHE": str(base / "hf-cache"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    env.pop("HF_HUB_OFFLINE", None)
    with LocalHub(hub_root) as hub:
        done = _xstilts(
            "fetch", str(study), "--to", str(snapshots), env={**env, "HF_ENDPOINT": hub.endpoint}
        )
        requests = list(hub.requests)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return base, study, snapshots, requests, done.stdout, curate


def test_fetch_writes_what_the_study_reads_with_revisions_and_hashes(fetched):
    base, _, snapshots, requests, stdout, _ = fetched
    manifest = json.loads((snapshots / "xstilts-fetch.json").read_text())
    repos = manifest["repositories"]
    assert sorted(repos) == sorted(
        ["nyu-mll/glue", "google/xtreme", "cambridgeltl/xcopa", *SCRIPT_ONLY, MODEL]
    )
    hub = base / "hub"
    for repo, entry in repos.items():
        kind = "models" if repo == MODEL else "datasets"
        served = export_branch(hub / kind / repo) if repo in SCRIPT_ONLY else hub / kind / repo
        assert entry["revision"] == ("refs/convert/parquet" if repo in SCRIPT_ONLY else "main")
        assert len(entry["commit"]) == 40
        for name, digest in entry["files"].items():  # what was served, byte for byte
            import hashlib

            assert hashlib.sha256((served / name).read_bytes()).hexdigest() == digest, name
    # only the configs the study reads: PAWS-X of google/xtreme, not its XNLI or PAN-X
    xtreme = set(repos["google/xtreme"]["files"])
    assert any(f.startswith("PAWS-X.") for f in xtreme)
    assert not any(f.startswith(("XNLI", "PAN-X", "udpos", "MLQA")) for f in xtreme)
    assert not any(f.endswith(".py") for r in SCRIPT_ONLY for f in repos[r]["files"])
    assert set(repos[MODEL]["files"]) >= {"config.json", "model.safetensors"}
    assert f"curate.hub_snapshots={snapshots}" in stdout
    assert any("/revision/refs%2Fconvert%2Fparquet" in r for r in requests)


def test_the_prefetched_study_runs_offline_from_the_folder_alone(fetched):
    base, study, snapshots, _, _, _ = fetched
    overrides = {"curate.hub_snapshots": str(snapshots)}
    env = {"HF_HUB_CACHE": str(base / "empty-cache"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    study_dir, report_dir = run_study(study, base, overrides, env_extra=env)
    metrics = {
        json.loads((run / "metrics.json").read_text())["task"]
        for run in (study_dir / "target").iterdir()
    }
    assert metrics == {"pawsx", "xcopa"}
    assert (report_dir / "index.html").exists()
    manifest = json.loads((snapshots / "xstilts-fetch.json").read_text())
    run = next((study_dir / "target").iterdir())
    provenance = json.loads((run / "provenance.json").read_text())
    model = provenance["model"]
    assert model["revision"] == manifest["repositories"][MODEL]["commit"]
    assert (
        model["weights_sha256"]["model.safetensors"]
        == (manifest["repositories"][MODEL]["files"]["model.safetensors"])
    )


def test_a_split_missing_from_the_snapshots_is_named_before_compute(fetched, tmp_path):
    base, study, snapshots, _, _, _ = fetched
    partial = tmp_path / "snapshots"
    shutil.copytree(snapshots, partial)
    victim = next((partial / "google" / "xtreme").glob("PAWS-X.*"))
    shutil.rmtree(victim)
    shutil.rmtree(partial / MODEL)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "cache")}
    done = _xstilts(
        "run",
        str(study),
        "-p",
        f"curate.hub_snapshots={partial}",
        "--runs-dir",
        str(tmp_path / "runs"),
        env=env,
    )
    assert done.returncode != 0
    assert f"config {victim.name!r}" in done.stderr + done.stdout
    assert MODEL in done.stderr + done.stdout
    assert not (tmp_path / "runs" / "prefetched" / "curate").exists()  # nothing computed


def test_fetch_plans_exactly_the_loads_of_a_real_curate_run(fetched, tmp_path):
    """What ``xstilts fetch`` fetches (``curate.planned_loads`` through the recording loaders)
    is what a real curate run of the same study reads, split for split."""
    from xstilts.orchestration.grid import expand
    from xstilts.orchestration.params import load_study
    from xstilts.orchestration.prefetch import dataset_requests
    from xstilts.stages import curate
    from xstilts.tasks.hub.loading import recorded_requests

    _, study, snapshots, _, _, _ = fetched
    resolved = load_study(study, [f"curate.hub_snapshots={snapshots}"], registry=False)
    config = expand(resolved).of("curate")[0].config
    with recorded_requests(load=True) as loads:
        curate.run(config, tmp_path / "curate")
    assert (tmp_path / "curate" / "manifest.json").exists()
    assert sorted(set(loads), key=str) == sorted(dataset_requests(config), key=str)
