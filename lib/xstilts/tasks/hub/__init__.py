"""The full-study task catalogue on the Hugging Face Hub, one module per task family (jiant-style).

Importing this package registers every hub task. ``loading`` is the single place that calls
``datasets.load_dataset``; ``raw`` holds the raw-format readers behind the loaders' ``data_files=``.
"""

from . import (  # noqa: F401  (each module registers its tasks)
    biomedical,
    glue,
    legal,
    multiple_choice,
    pawsx,
    qa,
    retrieval,
    tagging,
    xcopa,
    xnli,
)
from .loading import HubDatasetUnavailable, LabelError

__all__ = ["HubDatasetUnavailable", "LabelError"]
