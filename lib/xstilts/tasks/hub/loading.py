"""Shared hub access: the single place that calls ``datasets.load_dataset`` (never remote code).

A hub task's loader has three separable parts:

* **fetch** records in the hub's exact schema: from the hub (or its cache), from an in-memory
  ``dataset=`` (a ``datasets.Dataset`` or a list of dicts), or from local raw files (``data_files=``
  or ``$XSTILTS_LOCAL_DATA/<task>``) parsed by a raw-format reader into the same hub schema;
* **map** each record into our row schema (``xstilts.tasks.schema``), a pure function;
* **validate** every row against the task's format and label set.

Offline and uncached fails at once with ``HubDatasetUnavailable``: when the hub cannot be reached
(``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` set, or a 3-second connection probe fails) the call runs
in offline mode, so the cache is used when present and nothing is retried.

**Local snapshots** (compute nodes without internet): with a snapshot root set (the curate
parameter ``hub_snapshots``, or ``$XSTILTS_HUB_SNAPSHOTS``), every hub dataset is read from
``<root>/<owner>/<name>``, laid out as ``hf download --repo-type dataset <owner>/<name>
--local-dir <root>/<owner>/<name>`` writes it: a Parquet repo with its README ``configs`` (or,
without them, files named as ``datasets`` infers splits, e.g. ``data/train-00000-of-00001.parquet``),
or the ``refs/convert/parquet`` export (``--revision refs/convert/parquet``) for script-only repos,
in its current layout ``<config>/<split>/*.parquet`` or its older one
``<config>/<name>-<split>[-00000-of-00002].parquet``. The hub is then never contacted.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ...languages import check_languages
from ..schema import SchemaError, validate_row

LOCAL_DATA_ENV = "XSTILTS_LOCAL_DATA"
SNAPSHOTS_ENV = "XSTILTS_HUB_SNAPSHOTS"
_PROBE_TIMEOUT_S = 3.0


class HubDatasetUnavailable(RuntimeError):
    """A hub dataset is neither reachable nor cached (and no local files were given)."""


class LabelError(SchemaError):
    """A record's label is outside the task's label set."""


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def offline_requested() -> bool:
    return any(
        _env_true(v) for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


@functools.lru_cache(maxsize=4)
def _endpoint_reachable(endpoint: str) -> bool:
    parsed = urlparse(endpoint)
    host, port = (
        parsed.hostname or "huggingface.co",
        parsed.port or (443 if parsed.scheme != "http" else 80),
    )
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            return True
    except OSError:
        return False


def hub_reachable() -> bool:
    """False when offline mode is requested or the hub endpoint does not answer within 3 s."""
    if offline_requested():
        return False
    return _endpoint_reachable(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))


@contextlib.contextmanager
def _offline_mode() -> Iterator[None]:
    """Make ``datasets``/``huggingface_hub`` use the cache only, without network retries."""
    import datasets.config
    import huggingface_hub.constants as hub_constants

    saved = (datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, hub_constants.HF_HUB_OFFLINE = saved


def fetch_command(hub_id: str, parquet_export: bool = False) -> str:
    revision = " --revision refs/convert/parquet" if parquet_export else ""
    return f"hf download --repo-type dataset {hub_id}{revision} --local-dir <snapshots>/{hub_id}"


def _unavailable(
    hub_id: str,
    config: str | None,
    split: str,
    task: str | None,
    err: BaseException,
    parquet_export: bool = False,
):
    what = f"{hub_id!r}" + (f" (config {config!r})" if config else "") + f", split {split!r}"
    local = f"{LOCAL_DATA_ENV}/{task}" if task else LOCAL_DATA_ENV
    return HubDatasetUnavailable(
        f"hub dataset {what} is not cached and the hub cannot be reached "
        f"({type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}). "
        f"Fetch it where there is internet with `{fetch_command(hub_id, parquet_export)}` and set "
        f"curate.hub_snapshots to <snapshots>; or point ${local} or the task's `data_files` option "
        f"at local files in the raw format (where the task has a raw reader)."
    )


_SNAPSHOT_ROOT: list[Path | None] = [None]


@contextlib.contextmanager
def hub_snapshots(root: str | Path | None) -> Iterator[None]:
    """Within the block, read every hub dataset from the local snapshot root (None: unchanged)."""
    saved = _SNAPSHOT_ROOT[0]
    _SNAPSHOT_ROOT[0] = Path(root).expanduser() if root else saved
    try:
        yield
    finally:
        _SNAPSHOT_ROOT[0] = saved


def snapshot_root() -> Path | None:
    if _SNAPSHOT_ROOT[0] is not None:
        return _SNAPSHOT_ROOT[0]
    env = os.environ.get(SNAPSHOTS_ENV)
    return Path(env).expanduser() if env else None


def load_snapshot_split(
    root: Path, hub_id: str, config: str | None, split: str, parquet_export: bool
) -> list[dict]:
    """One split from ``<root>/<hub_id>`` (layouts in the module docstring), read straight from
    its Parquet files: no ``datasets`` cache stands between the files and the rows, so a
    snapshot refreshed in place is never served stale."""
    files = snapshot_split_files(root, hub_id, config, split, parquet_export)
    return [row for path in files for row in _parquet_rows(path, hub_id, parquet_export)]


def snapshot_split_files(
    root: Path, hub_id: str, config: str | None, split: str, parquet_export: bool = False
) -> list[Path]:
    """The Parquet files of one split in ``<root>/<hub_id>``; HubDatasetUnavailable naming what
    is missing (the check before compute calls this too, reading nothing)."""
    folder = root / hub_id
    if not folder.is_dir():
        raise HubDatasetUnavailable(
            f"hub snapshot {folder} does not exist (dataset {hub_id!r}, config {config!r}); "
            f"fetch it with `{fetch_command(hub_id, parquet_export)}` (<snapshots> = {root})"
        )
    config = config or "default"
    files = sorted((folder / config / split).glob("*.parquet"))  # the current Parquet export
    return files or _repo_files(folder, config, split)


def _parquet_rows(path: Path, hub_id: str, parquet_export: bool) -> list[dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as err:  # truncated download, or not Parquet at all
        raise HubDatasetUnavailable(
            f"hub snapshot file {path} cannot be read as Parquet ({str(err)[:200]}); fetch "
            f"{hub_id!r} again with `{fetch_command(hub_id, parquet_export)}`"
        ) from err


def _repo_files(folder: Path, config: str, split: str) -> list[Path]:
    """A split's files where the current export layout has none: those the README's ``configs``
    block lists; without that block, the older export's ``<config>/<name>-<split>.parquet``, or
    for the default config the files ``datasets`` assigns to the split by their names."""
    configs = _readme_configs(folder)
    if configs is not None:
        if config not in configs:
            raise HubDatasetUnavailable(
                f"hub snapshot {folder}: no {config}/{split}/*.parquet, and README.md lists no "
                f"config {config!r} (has {sorted(k for k in configs if k)})"
            )
        patterns = _config_patterns(configs[config].get("data_files", []), split)
        files = sorted(f for pattern in patterns for f in folder.glob(pattern))
        if not files:
            raise HubDatasetUnavailable(
                f"hub snapshot {folder}: config {config!r} has no files for split {split!r} "
                f"(README patterns {patterns or 'none'})"
            )
        return files
    files = _older_export_files(folder / config, split)
    if not files and config == "default":
        files = _inferred_files(folder, split)
    if not files:
        raise HubDatasetUnavailable(
            f"hub snapshot {folder}: no files of config {config!r}, split {split!r}: looked for "
            f"{config}/{split}/*.parquet and {config}/<name>-{split}.parquet (the Parquet "
            f"export), a README.md `configs` block (none)"
            + (", and file names that datasets reads as the split" if config == "default" else "")
        )
    return files


def _older_export_files(config_dir: Path, split: str) -> list[Path]:
    """The older ``refs/convert/parquet`` layout: ``<name>-<split>.parquet`` or its shards
    ``<name>-<split>-00000-of-00002.parquet``. Exact names, so that ``validation`` never takes
    ``validation_matched``'s files."""
    older = re.compile(rf".+-{re.escape(split)}(-\d{{5}}-of-\d{{5}})?\.parquet")
    return sorted(f for f in config_dir.glob("*.parquet") if older.fullmatch(f.name))


def _readme_configs(folder: Path) -> dict | None:
    """The README's ``configs`` block by config name; None where the README has none."""
    import yaml

    readme = folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    meta = yaml.safe_load(text.split("---")[1]) if text.startswith("---") else None
    if not isinstance(meta, dict) or not meta.get("configs"):
        return None
    return {c.get("config_name", "default"): c for c in meta["configs"]}


def _inferred_files(folder: Path, split: str) -> list[Path]:
    """A Parquet repo without README ``configs``: the files ``datasets`` itself assigns to
    ``split`` from their names (``datasets.data_files.get_data_patterns``, as the hub does)."""
    from datasets.data_files import get_data_patterns, resolve_pattern

    try:
        patterns = get_data_patterns(str(folder))
    except FileNotFoundError:  # datasets' EmptyDatasetError: no data file at all
        return []
    found = {
        Path(f)
        for pattern in patterns.get(split, [])
        for f in resolve_pattern(pattern, str(folder), allowed_extensions=[".parquet"])
    }
    return sorted(found)


def _config_patterns(data_files: Any, split: str) -> list[str]:
    """A README config's ``data_files`` for ``split``, in any of the forms the hub accepts: a
    list of ``{split, path}`` entries (``path`` a pattern or a list), or a bare pattern or list
    of patterns, which is the train split."""
    if isinstance(data_files, str):
        data_files = [data_files]
    patterns = []
    for entry in data_files or []:
        if isinstance(entry, str):
            patterns += [entry] if split == "train" else []
        elif entry.get("split", "train") == split:
            path = entry.get("path", [])
            patterns += [path] if isinstance(path, str) else list(path)
    return patterns


def parquet_export_files(hub_id: str, config: str, split: str) -> str:
    """The bot-made Parquet export of a script-only repo (``datasets>=4`` cannot run scripts)."""
    return f"hf://datasets/{hub_id}@refs%2Fconvert%2Fparquet/{config}/{split}/*.parquet"


@dataclass(frozen=True)
class HubRequest:
    """One split of one hub dataset config that a loader reads."""

    hub_id: str
    config: str | None
    split: str
    parquet_export: bool


_REQUESTS: list[list[HubRequest] | None] = [None]


_LOAD_WHILE_RECORDING = [False]


@contextlib.contextmanager
def recorded_requests(load: bool = False) -> Iterator[list[HubRequest]]:
    """Within the block every ``load_hub_split`` call is recorded and, unless ``load``, not made
    (it yields no records): how ``xstilts fetch`` and the offline check learn what a study
    reads."""
    saved = _REQUESTS[0], _LOAD_WHILE_RECORDING[0]
    _REQUESTS[0], _LOAD_WHILE_RECORDING[0] = [], load
    try:
        yield _REQUESTS[0]
    finally:
        _REQUESTS[0], _LOAD_WHILE_RECORDING[0] = saved


def load_hub_split(
    hub_id: str,
    config: str | None,
    split: str,
    *,
    parquet_export: bool = False,
    task: str | None = None,
    revision: str | None = None,
):
    """``datasets.load_dataset`` for one split; offline and uncached raises ``HubDatasetUnavailable``."""
    import datasets

    if _REQUESTS[0] is not None:  # recording what a study reads (``recorded_requests``)
        _REQUESTS[0].append(HubRequest(hub_id, config, split, parquet_export))
        if not _LOAD_WHILE_RECORDING[0]:
            return []
    if (root := snapshot_root()) is not None:
        return load_snapshot_split(root, hub_id, config, split, parquet_export)
    if parquet_export:
        args: tuple = ("parquet",)
        kwargs: dict[str, Any] = {
            "data_files": {split: parquet_export_files(hub_id, config or "default", split)}
        }
    else:
        args = (hub_id, config) if config else (hub_id,)
        kwargs = {"revision": revision} if revision else {}
    online = hub_reachable()
    ctx = contextlib.nullcontext() if online else _offline_mode()
    try:
        with ctx:
            return datasets.load_dataset(*args, split=split, **kwargs)
    except (ConnectionError, FileNotFoundError, OSError) as err:
        raise _unavailable(hub_id, config, split, task, err, parquet_export) from err
    except Exception as err:  # datasets raises DatasetNotFoundError, ValueError ... when offline
        if not online:
            raise _unavailable(hub_id, config, split, task, err, parquet_export) from err
        raise


def local_data_dir(task: str) -> Path | None:
    """``$XSTILTS_LOCAL_DATA/<task>`` when that folder exists."""
    root = os.environ.get(LOCAL_DATA_ENV)
    if not root:
        return None
    path = Path(root).expanduser() / task
    return path if path.exists() else None


def resolve_data_files(data_files: Any, split: str) -> Path | list[Path]:
    """``data_files`` may be a path, a list of paths or a ``{split: path(s)}`` mapping."""
    if isinstance(data_files, Mapping):
        if split not in data_files:
            raise FileNotFoundError(
                f"data_files has no entry for split {split!r} (has {sorted(data_files)})"
            )
        data_files = data_files[split]
    if isinstance(data_files, (list, tuple)):
        paths = [Path(p) for p in data_files]
    else:
        paths = [Path(data_files)]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"data_files: {path} does not exist")
    return paths[0] if len(paths) == 1 else paths


# ---------------------------------------------------------------------------------------------
# label helpers


def label_index(
    task: str,
    names: tuple[str, ...],
    value: Any,
    *,
    where: str,
    field_name: str,
    unlabelled: Iterable[Any] = (),
) -> int:
    """Map a hub label (ClassLabel int or string) to our id; unknown values are an error."""
    if value in tuple(unlabelled):
        return -1
    if isinstance(value, bool):
        raise LabelError(f"{task} {where}: field {field_name!r} holds a bool {value!r}")
    if isinstance(value, int):
        if 0 <= value < len(names) or value == -1:
            return value
        raise LabelError(
            f"{task} {where}: field {field_name!r} = {value} outside 0..{len(names) - 1}"
        )
    try:
        return names.index(str(value))
    except ValueError:
        raise LabelError(
            f"{task} {where}: field {field_name!r} = {value!r} is not one of {list(names)}"
        ) from None


# ---------------------------------------------------------------------------------------------
# the loader


Fetch = Callable[[str, str], Iterable[dict]]  # (hub split, language) -> hub records
# (record + ``_index``, language, where) -> row (None: skip the record)
Mapper = Callable[[dict, str, str], dict | None]
RawReader = Callable[[Any, str, str], Iterable[dict]]  # (path(s), split, language) -> hub records


@dataclass
class HubLoader:
    """``loader(split, language="en", *, dataset=None, data_files=None, limit=None) -> list[dict]``.

    ``split`` is ours (``train``/``validation``/``test``); ``split_map`` renames it for the hub.
    Rows whose label is -1 are kept in ``unlabelled_splits`` (``drop_unlabelled=True`` drops them)
    and are an error elsewhere.
    """

    task: str
    fetch: Fetch
    mapper: Mapper
    read_raw: RawReader | None = None
    split_map: dict[str, str] = field(default_factory=dict)
    source: str = ""
    mapper_options: tuple[str, ...] = ()  # extra keyword options passed on to ``mapper``

    def __call__(
        self,
        split: str,
        language: str = "en",
        *,
        dataset: Any = None,
        data_files: Any = None,
        limit: int | None = None,
        drop_unlabelled: bool = False,
        **options: Any,
    ) -> list[dict]:
        from ..registry import get_task

        unknown = sorted(set(options) - set(self.mapper_options))
        if unknown:
            raise TypeError(
                f"task {self.task!r} loader: unknown option(s) {unknown}; "
                f"known: dataset, data_files, limit, drop_unlabelled, {list(self.mapper_options)}"
            )

        spec = get_task(self.task)
        if split not in spec.splits:
            raise ValueError(
                f"task {self.task!r} has no split {split!r}; splits: {list(spec.splits)}"
            )
        check_languages(self.task, language, spec.languages)
        records, origin = self._records(split, language, dataset, data_files)
        allow = split in spec.unlabelled_splits
        rows: list[dict] = []
        for i, record in enumerate(records):
            where = f"{origin}[{i}]"
            record = dict(record)
            record.setdefault("_index", i)  # position in the source, for id-less datasets
            record.setdefault("_split", split)  # our split, for tasks that split one hub split
            row = self._map(record, language, where, options)
            if row is None:
                continue
            validate_row(
                row,
                spec.format,
                where=f"task {self.task} {where}",
                n_labels=spec.n_labels,
                allow_unlabelled=allow,
            )
            if drop_unlabelled and row.get("label", 0) == -1:
                continue
            rows.append(row)
            if limit is not None and len(rows) >= limit:
                break
        return rows

    def _records(
        self, split: str, language: str, dataset: Any, data_files: Any
    ) -> tuple[Iterable[dict], str]:
        """The records in the hub schema, and where they come from: ``dataset=``, else raw
        files (``data_files=`` or ``$XSTILTS_LOCAL_DATA/<task>``), else the hub."""
        if dataset is not None:
            return dataset, f"dataset=<{type(dataset).__name__}>"
        if data_files is None and self.read_raw is not None:
            data_files = local_data_dir(self.task)
        if data_files is None:
            hub_split = self.split_map.get(split, split)
            return self.fetch(hub_split, language), f"{self.source}:{hub_split}"
        if self.read_raw is None:
            raise ValueError(f"task {self.task!r} has no raw-file reader; use dataset=")
        if not isinstance(data_files, Mapping) or split in data_files:
            data_files = resolve_data_files(data_files, split)
        return self._raw_records(data_files, split, language), str(data_files)

    def _raw_records(self, data_files: Any, split: str, language: str) -> Iterator[dict]:
        """The raw reader's records; a file it cannot parse is named with what was expected
        (errors raised while mapping a record are not caught here: they never enter the
        generator)."""
        from .raw import RawFormatError

        where = f"task {self.task}: data_files {data_files}"
        try:
            yield from self.read_raw(data_files, split, language)
        except KeyError as err:
            raise RawFormatError(
                f"{where}: a record has no field {err.args[0]!r}, which the raw format of "
                f"{self.task} has"
            ) from None
        except UnicodeDecodeError as err:
            raise RawFormatError(f"{where}: not UTF-8 text ({err})") from None
        except json.JSONDecodeError as err:
            raise RawFormatError(f"{where}: not valid JSON ({err})") from None

    def _map(self, record: dict, language: str, where: str, options: dict) -> dict | None:
        try:
            return self.mapper(record, language, where, **options)
        except KeyError as err:  # a field of the hub schema missing, or a value not known
            key = err.args[0] if err.args else None
            if not isinstance(key, str) or key in record:
                raise
            holder = next((k for k, v in record.items() if v == key), None)
            if holder is not None:  # e.g. XCOPA's question "because" (cause / effect expected)
                raise SchemaError(
                    f"task {self.task} {where}: field {holder!r} = {key!r} is not a value "
                    f"{self.source}'s schema has"
                ) from None
            fields = sorted(k for k in record if not k.startswith("_"))
            raise SchemaError(
                f"task {self.task} {where}: no field {key!r} where {self.source}'s schema "
                f"has one (the record has {fields}); is this the dataset's exact schema?"
            ) from None


def hub_fetch(
    hub_id: str,
    config: str | Callable[[str], str] | None,
    *,
    task: str,
    parquet_export: bool = False,
) -> Fetch:
    """A fetch for one hub repo; ``config`` may depend on the language."""

    def fetch(split: str, language: str) -> Iterable[dict]:
        cfg = config(language) if callable(config) else config
        return load_hub_split(hub_id, cfg, split, parquet_export=parquet_export, task=task)

    return fetch


def register_hub_task(
    *,
    mapper: Mapper,
    loader_fetch: Fetch | None = None,
    parquet_export: bool = False,
    read_raw: RawReader | None = None,
    split_map: dict[str, str] | None = None,
    mapper_options: tuple[str, ...] = (),
    **spec_fields: Any,
):
    """Register a ``TaskSpec`` whose loader is a ``HubLoader`` built from the given parts.

    Without ``loader_fetch`` the data comes from ``source``'s hub id and config."""
    from ..registry import TaskSpec, register

    name = spec_fields["name"]
    source = spec_fields["source"]
    if loader_fetch is None:
        loader_fetch = hub_fetch(source.id, source.config, task=name, parquet_export=parquet_export)
    loader = HubLoader(
        task=name,
        fetch=loader_fetch,
        mapper=mapper,
        read_raw=read_raw,
        split_map=dict(split_map or {}),
        mapper_options=mapper_options,
        source=f"{source.id}" + (f"/{source.config}" if source.config else ""),
    )
    return register(TaskSpec(loader=loader, **spec_fields))
