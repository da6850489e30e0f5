"""Embedded tasks (registry packages): filled in by the task-family modules."""
