"""The full-study task catalogue on the Hugging Face Hub, one module per task family (jiant-style).

``tasks/catalogue.py`` lists the modules (importing one registers its tasks). ``loading`` is the
single place that calls ``datasets.load_dataset``; ``raw`` holds the raw-format readers behind the
loaders' ``data_files=``.
"""

from .loading import HubDatasetUnavailable, LabelError

__all__ = ["HubDatasetUnavailable", "LabelError"]
