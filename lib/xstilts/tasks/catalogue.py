"""Import every task-family module so that each registers its tasks."""

from . import (
    embedded,  # noqa: F401
    hub,  # noqa: F401  (the full-study hub catalogue)
)
