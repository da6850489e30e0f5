"""Read the files of a Debian ``.deb`` without installing it: an ``ar`` archive whose
``data.tar.*`` member holds the package's file tree (deb(5)). Standard library only."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

AR_MAGIC = b"!<arch>\n"


class DebError(ValueError):
    """Not a readable ``.deb``."""


def _ar_members(data: bytes, where: str) -> Iterator[tuple[str, bytes]]:
    if not data.startswith(AR_MAGIC):
        raise DebError(f"{where}: not an ar archive (a .deb starts with '!<arch>')")
    pos = len(AR_MAGIC)
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        start = pos + 60
        yield name, data[start : start + size]
        pos = start + size + (size % 2)  # members are 2-byte aligned


def deb_files(path: Path, wanted: Callable[[str], bool]) -> dict[str, bytes]:
    """``{path inside the package: bytes}`` for every regular file whose path (``usr/share/...``,
    without the leading ``./``) ``wanted`` accepts."""
    data = Path(path).read_bytes()
    for name, payload in _ar_members(data, str(path)):
        if name.startswith("data.tar"):
            try:
                with tarfile.open(fileobj=io.BytesIO(payload), mode="r:*") as tf:
                    out = {}
                    for info in tf:
                        inner = info.name.removeprefix("./")
                        if info.isfile() and wanted(inner):
                            out[inner] = tf.extractfile(info).read()
                    return out
            except (tarfile.TarError, EOFError, OSError) as err:
                raise DebError(f"{path}: cannot read {name} ({err})") from err
    raise DebError(f"{path}: no data.tar.* member")
