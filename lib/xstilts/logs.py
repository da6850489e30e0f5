"""Logging, configured in one place: the CLI (``-v``/``-q``) sets the level, and every process it
starts (workers, Jupyter kernels) reads it from ``$XSTILTS_LOG_LEVEL``, so a stage's messages
("resuming from step ...", the trainer's step lines) reach its ``stage.log``."""

from __future__ import annotations

import logging
import os
import sys

LEVEL_ENV = "XSTILTS_LOG_LEVEL"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "xstilts"


def level_from(verbose: int = 0, quiet: int = 0) -> str:
    """INFO by default; -v DEBUG; -q WARNING, -qq ERROR."""
    return ["ERROR", "WARNING", "INFO", "DEBUG"][max(0, min(3, 2 + verbose - quiet))]


def configure(level: str | None = None, stream=None) -> None:
    """One stderr handler on the root logger at ``level`` (else ``$XSTILTS_LOG_LEVEL``, else
    INFO); calling it again replaces the handler instead of adding a second one."""
    level = (level or os.environ.get(LEVEL_ENV) or "INFO").upper()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
