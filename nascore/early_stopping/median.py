"""Median stopping rule (Golovin et al., "Google Vizier", 2017; Optuna's MedianPruner)."""
from __future__ import annotations

import statistics
from typing import Dict, List, Optional

from .base import EarlyStopper, check_counts

__all__ = ["MedianStop"]


class MedianStop(EarlyStopper):
    """Stop a trial whose best score so far is below the median of the best-so-far scores that finished trials
    had at the same step.

    ``grace_period``: steps every trial runs before it may be stopped. ``min_trials``: finished trials (that
    reached the step) needed before the rule applies. Trials that were themselves early-stopped count at the
    steps they reached.
    """

    def __init__(self, grace_period: int = 1, min_trials: int = 3, max_resource: Optional[int] = None) -> None:
        check_counts("MedianStop", grace_period=grace_period, min_trials=min_trials, max_resource=max_resource)
        self.grace_period = grace_period
        self.min_trials = min_trials
        self.max_resource = max_resource
        self._finished: List[List[float]] = []   # best-so-far curve of each finished trial
        self._running: Dict[int, float] = {}

    def report(self, trial: int, step: int, score: float) -> Optional[str]:
        best = max(self._running.get(trial, score), score)
        self._running[trial] = best
        if step < self.grace_period:
            return None
        others = [curve[step - 1] for curve in self._finished if len(curve) >= step]
        if len(others) < self.min_trials:
            return None
        median = statistics.median(others)
        if best < median:
            return f"best score {best:.6g} below the median {median:.6g} of {len(others)} trials at step {step}"
        return None

    def trial_ended(self, trial: int, scores: List[float], status: str) -> None:
        self._running.pop(trial, None)
        if status not in ("trained", "early_stopped") or not scores:
            return
        curve, best = [], float("-inf")
        for score in scores:
            best = max(best, score)
            curve.append(best)
        self._finished.append(curve)

    def to_config(self):
        return {"name": "median", "grace_period": self.grace_period, "min_trials": self.min_trials,
                "max_resource": self.max_resource}

    def state(self):
        return {"finished": len(self._finished), "running": len(self._running)}

    def __repr__(self) -> str:
        return f"MedianStop(grace_period={self.grace_period}, min_trials={self.min_trials})"
