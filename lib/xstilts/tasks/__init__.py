"""Task catalogue: formats, schemas and the registry of every task in the study."""

from .registry import Source, TaskSpec, UnknownTaskError, all_tasks, get_task, register
from .schema import Format, SchemaError, validate_row

__all__ = [
    "Format",
    "SchemaError",
    "Source",
    "TaskSpec",
    "UnknownTaskError",
    "all_tasks",
    "get_task",
    "register",
    "validate_row",
]
