"""Get an embedded asset into the asset cache once, from the first of its sources that serves the
published bytes (``assets.table``), and verify the cached copy before every use.

A source that has gone (a release removed from PyPI, a version retired from the Debian pool) falls
through to the next. When none serves the file, one ``AssetError`` names the asset, every source
tried with why it failed, and how to supply a local copy; nothing is left half-written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..io import cached_sha256, sha256_file
from ..paths import cache_dir
from .sources import LOCAL_DIRS_ENV, LocalCopy, SourceUnavailable
from .table import ASSETS, Asset

OFFLINE_ENV = "XSTILTS_OFFLINE"


class AssetError(RuntimeError):
    """An embedded asset is neither cached nor to be had from any of its sources."""


def packages_dir() -> Path:
    path = cache_dir() / "packages"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_archive(name: str) -> Path:
    """Where asset ``name``'s file lies in the cache (present or not)."""
    return packages_dir() / ASSETS[name].filename


def ensure_package(name: str, local_dirs: tuple[str, ...] = ()) -> Path:
    """The verified cached file of asset ``name``, fetched from its sources on first use
    (``local_dirs``: folders to look in first, besides ``$XSTILTS_ASSET_DIRS``)."""
    if name not in ASSETS:
        raise AssetError(f"unknown embedded asset {name!r}; known: {sorted(ASSETS)}")
    asset = ASSETS[name]
    target = cached_archive(name)
    if target.exists():
        return _verified(target, asset.sha256)
    offline = os.environ.get(OFFLINE_ENV) == "1"
    failures = _fetch_into(asset, target, local_dirs, offline)
    if failures is None:
        return target
    raise AssetError(unavailable_message(asset, failures, offline))


def _fetch_into(
    asset: Asset, target: Path, local_dirs: tuple[str, ...], offline: bool
) -> list[tuple[str, str]] | None:
    """Try each source in order; None once ``target`` holds the published bytes, else
    (source, why) for every source tried."""
    failures = []
    for source in asset.sources:
        if isinstance(source, LocalCopy):
            source = LocalCopy(tuple(local_dirs))
        elif offline:
            failures.append((source.describe(), f"not tried: {OFFLINE_ENV}=1 forbids fetching"))
            continue
        with tempfile.TemporaryDirectory(dir=packages_dir()) as tmp:
            fetched = Path(tmp) / asset.filename
            try:
                source.fetch(asset.filename, Path(tmp))
            except SourceUnavailable as err:
                failures.append((source.describe(), str(err)))
                continue
            why = _identity_problem(fetched, asset, tmp)
            if why:
                failures.append((source.describe(), why))
                continue
            os.replace(fetched, target)
            return None
    return failures


def _identity_problem(fetched: Path, asset: Asset, folder: str) -> str | None:
    if not fetched.exists():
        found = sorted(p.name for p in Path(folder).iterdir())
        return f"gave {found}, not {asset.filename}"
    found = sha256_file(fetched)
    if found != asset.sha256:
        return f"gave sha256 {found[:16]}…, not the published {asset.sha256[:16]}…"
    return None


def unavailable_message(asset: Asset, failures: list[tuple[str, str]], offline: bool) -> str:
    tried = "\n".join(f"  - {where}: {why}" for where, why in failures)
    hint = (
        "run `python -m xstilts assets` where the registries can be reached, or " if offline else ""
    )
    return (
        f"embedded asset {asset.name!r} ({asset.spec}, file {asset.filename}, sha256 "
        f"{asset.sha256}) could not be had from any source:\n{tried}\n"
        f"To supply it: {hint}put that exact file in a folder and run "
        f"`python -m xstilts assets --from FOLDER` (or set {LOCAL_DIRS_ENV}=FOLDER)."
    )


def package_problem(name: str) -> str | None:
    """Why asset ``name`` cannot be read: None once it is cached and verified, fetching it now
    if need be (the check before compute resolves every asset, so a gone source stops the study
    before any stage, not in curate)."""
    try:
        ensure_package(name)
    except AssetError as err:
        return str(err)
    return None


def _verified(cached: Path, sha256: str) -> Path:
    """The cached file, once its sha256 is the published one (hashed once per file version:
    ``cached_sha256`` remembers it by path, size and mtime), so a truncated or altered copy, e.g.
    a cache carried to an offline node, is refused before anything reads it."""
    found = cached_sha256(cached)
    if found != sha256:
        raise AssetError(
            f"{cached}: sha256 {found[:16]}… is not the published {sha256[:16]}… (a damaged or "
            f"altered copy); delete it and run `python -m xstilts assets` to fetch it again"
        )
    return cached
