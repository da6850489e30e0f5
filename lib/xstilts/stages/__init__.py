"""Stage entry points called by the notebooks. Importing them configures logging in the stage's
kernel (level from ``$XSTILTS_LOG_LEVEL``), so its messages reach the stage's ``stage.log``."""

from ..logs import configure as _configure_logging

_configure_logging()
