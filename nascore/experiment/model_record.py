"""``ModelRecord``: one model as the experiment store knows it (read back by ``nascore view`` and resume)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from nascore.space import metric_value

__all__ = ["ModelRecord"]


@dataclass
class ModelRecord:
    """One model as the store knows it."""

    id: int
    sample: Dict[str, Any]
    status: str
    final: Any = None
    intermediates: List[Any] = field(default_factory=list)
    failure_reason: Optional[str] = None
    payload: Optional[Dict[str, Any]] = None
    submit_time: Optional[float] = None
    start_time: Optional[float] = None
    end_time: Optional[float] = None
    log_path: Optional[str] = None
    session: int = 0
    #: costs measured before training (``{"params": ..., "latency_ms": ...}``), when profilers ran
    profile: Dict[str, float] = field(default_factory=dict)
    #: where the trial ran, in its engine's words (``"local (pid 1234)"``, ``"alice@gpu1:22"``, a Ray node,
    #: ``"this process (pid 1234)"``); None when unknown (e.g. a store written before this was recorded)
    worker: Optional[str] = None

    def named_metrics(self, default_name: str = "default") -> Dict[str, float]:
        """Every named number of the model: its profile and its final metric (a bare number is named
        ``default_name``, the evaluator's metric)."""
        from nascore.objectives import named_metrics
        return named_metrics(self.final, self.profile, default_name)

    @property
    def metric(self) -> Optional[float]:
        """The final metric as a number (None when missing or NaN)."""
        try:
            return metric_value(self.final)
        except (TypeError, ValueError):
            return None

    @property
    def duration(self) -> Optional[float]:
        start = self.start_time or self.submit_time
        return None if start is None or self.end_time is None else self.end_time - start

    def to_json(self) -> Dict[str, Any]:
        return {"id": self.id, "status": self.status, "metric": self.metric, "final": self.final,
                "intermediates": self.intermediates, "sample": self.sample, "failure_reason": self.failure_reason,
                "submit_time": self.submit_time, "start_time": self.start_time, "end_time": self.end_time,
                "duration": self.duration, "log_path": self.log_path, "worker": self.worker,
                "profile": self.profile}
