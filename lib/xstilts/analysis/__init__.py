"""Analysis: tidy results table, XTREME scores, statistics, explanations, figures and HTML reports."""

from .results import BASELINE, build_results, finished_runs

__all__ = ["BASELINE", "build_results", "finished_runs"]
