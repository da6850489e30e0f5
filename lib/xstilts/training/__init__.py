"""Training: tokenised features, batching, the resumable loop, checkpoints, multi-task samplers."""

from .batching import collate, length_grouped_batches, sorted_batches
from .features import featurize
from .samplers import TaskSampler, task_probabilities
from .trainer import TrainConfig, TrainResult, TrainTask, train, write_curve

__all__ = [
    "TaskSampler",
    "TrainConfig",
    "TrainResult",
    "TrainTask",
    "collate",
    "featurize",
    "length_grouped_batches",
    "sorted_batches",
    "task_probabilities",
    "train",
    "write_curve",
]
