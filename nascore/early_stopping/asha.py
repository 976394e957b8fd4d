"""Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020),
in its stopping form (Ray Tune's ASHAScheduler): at each rung a trial goes on only while its score is in the top
``1 / reduction_factor`` of the scores recorded at that rung so far."""
from __future__ import annotations

from typing import Dict, List, Optional

from .base import EarlyStopper, check_counts

__all__ = ["ASHA"]


def _quantile(values: List[float], q: float) -> float:
    """Linear-interpolated quantile (numpy's default)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class ASHA(EarlyStopper):
    """Rungs at ``min_resource * reduction_factor ** k`` steps below ``max_resource``.

    ``min_resource``: steps (epochs, or reports) every trial runs; ``max_resource``: steps of a full trial (the
    last rung is below it; None: rungs go on growing); ``reduction_factor``: 1 in this many trials passes a rung.
    """

    def __init__(self, min_resource: int = 1, max_resource: Optional[int] = None,
                 reduction_factor: float = 3) -> None:
        check_counts("ASHA", min_resource=min_resource, max_resource=max_resource)
        if max_resource is not None and max_resource <= min_resource:
            raise ValueError(f"ASHA: max_resource ({max_resource}) must be above min_resource ({min_resource})")
        if isinstance(reduction_factor, bool) or not isinstance(reduction_factor, (int, float)) \
                or not reduction_factor > 1:
            raise ValueError(f"ASHA: reduction_factor must be a number > 1, got {reduction_factor!r}")
        self.min_resource = min_resource
        self.max_resource = max_resource
        self.reduction_factor = reduction_factor
        self._rungs: Dict[int, List[float]] = {}

    def rung_steps(self, up_to: int) -> List[int]:
        """The rung steps not beyond ``up_to`` (and below ``max_resource``)."""
        steps, step = [], float(self.min_resource)
        limit = up_to if self.max_resource is None else min(up_to, self.max_resource - 1)
        while round(step) <= limit:
            if not steps or round(step) != steps[-1]:
                steps.append(int(round(step)))
            step *= self.reduction_factor
        return steps

    def report(self, trial: int, step: int, score: float) -> Optional[str]:
        rungs = self.rung_steps(step)
        if not rungs or rungs[-1] != step:
            return None
        recorded = self._rungs.setdefault(step, [])
        recorded.append(score)
        cutoff = _quantile(recorded, 1 - 1 / self.reduction_factor)
        if score < cutoff:
            return (f"score {score:.6g} below the top 1/{self.reduction_factor:g} cutoff {cutoff:.6g} of "
                    f"{len(recorded)} trials at rung {step}")
        return None

    def to_config(self):
        return {"name": "asha", "min_resource": self.min_resource, "max_resource": self.max_resource,
                "reduction_factor": self.reduction_factor}

    def state(self):
        return {"rungs": {str(k): len(v) for k, v in sorted(self._rungs.items())}}

    def __repr__(self) -> str:
        return (f"ASHA(min_resource={self.min_resource}, max_resource={self.max_resource}, "
                f"reduction_factor={self.reduction_factor})")
