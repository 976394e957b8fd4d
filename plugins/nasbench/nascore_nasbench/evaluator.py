"""The table lookup as a trial: an evaluator that reports a frozen model's benchmark record."""
from __future__ import annotations

import time
from typing import Any, Dict, Mapping

from nascore.evaluator import Evaluator
from nascore.trial import report_final_result

from .table import BenchRecord, check_dataset, load_table

__all__ = ["NasBenchGraphEvaluator", "evaluate_sample"]


def evaluate_sample(dataset: str, sample: Mapping[str, Any]) -> BenchRecord:
    """The record of a :class:`NasBenchGraphSpace` sample on ``dataset`` (no trial, no model built)."""
    return load_table(dataset).query_sample(sample)


class NasBenchGraphEvaluator(Evaluator):
    """Looks the model up in the ``dataset`` table and reports its validation accuracy as the final metric,
    with ``test_accuracy``, ``latency`` (s), ``params`` (millions) and ``train_seconds`` (simulated training
    time) as further named values.

    ``time_scale`` > 0 makes the trial sleep ``train_seconds * time_scale`` before reporting, so strategies and
    engines can be compared in wall-clock time; 0 (the default) answers at once.

    ``latency`` and ``params`` are also its ``cost_metrics``: known from the table without a trial, so
    ``objectives`` and ``constraints`` on them (``constraints=["params <= 0.1"]``) act before training.
    """

    cost_metrics = ("latency", "params")

    def __init__(self, dataset: str = "cora", time_scale: float = 0.0) -> None:
        self.dataset = check_dataset(dataset)
        if not time_scale >= 0:
            raise ValueError(f"time_scale must be >= 0 (0: no waiting), got {time_scale!r}")
        self.time_scale = float(time_scale)

    def evaluate(self, model: Any) -> Dict[str, float]:
        record = self._record(model)
        if self.time_scale:
            time.sleep(record.train_seconds * self.time_scale)
        metrics = record.metrics()
        report_final_result(metrics)
        return metrics

    def costs(self, model: Any) -> Dict[str, float]:
        """The table's ``latency`` (s) and ``params`` (millions) of ``model``, without a trial."""
        record = self._record(model)
        return {"latency": record.latency, "params": record.params}

    def _record(self, model: Any) -> BenchRecord:
        links, ops = getattr(model, "links", None), getattr(model, "ops", None)
        if links is None or ops is None:
            raise TypeError(f"NasBenchGraphEvaluator evaluates models of NasBenchGraphSpace, got "
                            f"{type(model).__name__}")
        return load_table(self.dataset).query(links, ops)

    def __repr__(self) -> str:
        return f"NasBenchGraphEvaluator(dataset={self.dataset!r}, time_scale={self.time_scale})"
