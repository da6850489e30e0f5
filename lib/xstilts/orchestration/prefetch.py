"""``xstilts fetch STUDY --to DIR``: every hub dataset split and hub model a study reads, into one
snapshot folder that compute nodes without internet read alone (``curate.hub_snapshots``).

What a study reads is learned by running the task loaders with ``load_hub_split`` recording
instead of loading (``tasks.hub.loading.recorded_requests``), for every (task, split, language)
load that curate plans (``stages.curate.planned_loads``; a test compares it with the loads of a
real curate run).
Each dataset is downloaded in the layout ``hf download --local-dir`` writes (the Parquet export
branch ``refs/convert/parquet`` for script-only repos), the model as safetensors only. A manifest,
``xstilts-fetch.json``, records each repository's resolved commit and every file's sha256.

The same list is what the check before compute verifies in an existing snapshot folder
(``snapshot_problems``): each dataset config and split, and the model, named when missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from pathlib import Path

from ..io import write_json
from ..tasks.hub.loading import (
    HubDatasetUnavailable,
    HubLoader,
    HubRequest,
    recorded_requests,
    snapshot_split_files,
)

log = logging.getLogger(__name__)
MANIFEST = "xstilts-fetch.json"
PARQUET_EXPORT = "refs/convert/parquet"
# What a model needs: config and tokenizer files, safetensors weights (never pickles)
MODEL_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "tokenizer*")


def dataset_requests(curate_config: dict) -> list[HubRequest]:
    """The hub splits a curate run of this config reads (``stages.curate.planned_loads``), each
    once, in a stable order: the task loaders run with ``load_hub_split`` recording."""
    from ..configs import CurateConfig
    from ..stages.curate import planned_loads

    cfg = CurateConfig.from_dict(curate_config)
    with recorded_requests() as requests:
        for spec, split, lang in planned_loads(cfg):
            opts = dict(cfg.task_options.get(spec.name, {}))
            if not isinstance(spec.loader, HubLoader) or "data_files" in opts:
                continue  # registry assets (xstilts assets), or the task's own files
            with contextlib.suppress(HubDatasetUnavailable):
                list(spec.loader(split, lang, **opts))
    return sorted(set(requests), key=lambda r: (r.hub_id, r.config or "", r.split))


def hub_models(study) -> list[str]:
    """The hub ids among the study's model and the analysis's tokenizer (curate tokenizes with
    the model); embedded and local ones need nothing."""
    from ..models.loading import _looks_like_path

    names = {study.model, study.analysis.model}
    return sorted(
        n
        for n in names
        if n and not n.startswith("embedded:") and not _looks_like_path(n) and not Path(n).exists()
    )


def snapshot_problems(root: Path, requests: list[HubRequest], models: list[str]) -> list[str]:
    """What a compute node would miss in ``root``: each split, and each model folder."""
    from ..models.loading import _local_model_problem

    problems = []
    for r in requests:
        try:
            snapshot_split_files(root, r.hub_id, r.config, r.split, r.parquet_export)
        except HubDatasetUnavailable as err:
            problems.append(str(err))
    for name in models:
        folder = root / name
        why = (
            _local_model_problem(folder, str(folder))
            if folder.is_dir()
            else f"model folder {folder} does not exist"
        )
        if why:
            problems.append(f"{why}; fetch it with `xstilts fetch STUDY --to {root}`")
    return problems


def fetch(requests: list[HubRequest], models: list[str], to: Path) -> dict:
    """Download into ``to``; return (and write) the manifest."""
    from huggingface_hub import HfApi, snapshot_download

    api, repos = HfApi(), {}
    for (hub_id, export), configs in _by_repo(requests).items():
        revision = PARQUET_EXPORT if export else None
        info = api.dataset_info(hub_id, revision=revision)
        patterns = _dataset_patterns(hub_id, info.sha, export, configs, to)
        repos[hub_id] = _download(
            snapshot_download, hub_id, "dataset", info.sha, revision, patterns, to
        )
    for name in models:
        info = api.model_info(name)
        repos[name] = _download(
            snapshot_download, name, "model", info.sha, None, list(MODEL_FILES), to
        )
        if not any(f.endswith(".safetensors") for f in repos[name]["files"]):
            raise HubDatasetUnavailable(
                f"model {name!r} has no safetensors weights on the hub; this project never reads "
                "pickled weights (convert it, or pick a revision with model.safetensors)"
            )
    manifest = {"repositories": repos, "splits": [r.__dict__ for r in requests]}
    write_json(to / MANIFEST, manifest)
    return manifest


def _by_repo(requests: list[HubRequest]) -> dict[tuple[str, bool], dict[str, set[str]]]:
    out: dict[tuple[str, bool], dict[str, set[str]]] = {}
    for r in requests:
        out.setdefault((r.hub_id, r.parquet_export), {}).setdefault(
            r.config or "default", set()
        ).add(r.split)
    return out


def _dataset_patterns(hub_id: str, sha: str, export: bool, configs, to: Path) -> list[str]:
    """Which files of the repo hold the wanted configs: the export's ``<config>/*`` folders, or
    (a Parquet repo) the README's ``configs`` data_files, or all Parquet files without them."""
    if export:
        return [f"{config}/*" for config in configs]
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    from ..tasks.hub.loading import _config_patterns, _readme_configs

    with contextlib.suppress(EntryNotFoundError):
        hf_hub_download(
            hub_id, "README.md", repo_type="dataset", revision=sha, local_dir=to / hub_id
        )
    declared = _readme_configs(to / hub_id)
    patterns = ["README.md"]
    for config, splits in configs.items():
        if declared is None or config not in declared:  # files named as ``datasets`` infers
            return [*patterns, "*.parquet", "**/*.parquet"]
        for split in splits:
            patterns += _config_patterns(declared[config].get("data_files", []), split)
    return patterns


def _download(snapshot_download, repo_id, repo_type, sha, revision, patterns, to: Path) -> dict:
    folder = to / repo_id
    log.info("fetching %s %s@%s into %s", repo_type, repo_id, revision or sha[:12], folder)
    snapshot_download(
        repo_id, repo_type=repo_type, revision=sha, allow_patterns=patterns, local_dir=folder
    )
    files = {str(p.relative_to(folder)): _sha256(p) for p in _files(folder)}
    return {"type": repo_type, "revision": revision or "main", "commit": sha, "files": files}


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".cache" not in path.relative_to(folder).parts:
            yield path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
