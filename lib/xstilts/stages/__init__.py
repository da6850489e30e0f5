"""Stage entry points called by the notebooks."""
