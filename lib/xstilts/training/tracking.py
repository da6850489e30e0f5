"""Experiment trackers for the training loop, like the HF Trainer's ``report_to``: each logs the
loss, learning rate and throughput of every step and the English dev score where it is taken.

``tensorboard`` (the default) writes event files under the run's ``tensorboard/`` folder, so
``tensorboard --logdir runs/<study>`` shows every run of a study side by side while it trains.
On resume, events after the resumed step are dropped (``purge_step``): a step is logged once.
"""

from __future__ import annotations

from pathlib import Path

EVENTS = "tensorboard"  # a run's folder of tracker event files


class TensorBoardTracker:
    def __init__(self, log_dir: Path, resumed_from: int):
        from torch.utils.tensorboard import SummaryWriter

        purge = resumed_from + 1 if resumed_from else None
        # flushed every 10 s, so a running job's curves can be watched
        self.writer = SummaryWriter(str(log_dir), purge_step=purge, flush_secs=10)

    def log(self, row: dict, tokens_per_s: float) -> None:
        step = row["step"]
        self.writer.add_scalar("train/loss", row["loss"], step)
        self.writer.add_scalar(f"train/loss/{row['task']}", row["loss"], step)
        self.writer.add_scalar("train/lr", row["lr"], step)
        self.writer.add_scalar("train/tokens_per_s", tokens_per_s, step)
        if row["dev"] is not None:
            self.writer.add_scalar("dev/score", row["dev"], step)

    def close(self) -> None:
        self.writer.close()


TRACKERS = {"tensorboard": TensorBoardTracker}


class Trackers:
    """The trackers a run's ``report_to`` names (none: logs nothing)."""

    def __init__(self, names, log_dir: Path | None, resumed_from: int):
        self.trackers = (
            [TRACKERS[name](log_dir, resumed_from) for name in names] if log_dir is not None else []
        )

    def log(self, row: dict, tokens_per_s: float) -> None:
        for tracker in self.trackers:
            tracker.log(row, tokens_per_s)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.close()
