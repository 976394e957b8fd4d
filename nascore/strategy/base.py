"""The ``Strategy`` base class: what the experiment calls, whatever the kind of strategy.

Metric direction: the experiment sets the attribute ``strategy.metric_direction`` (``"maximize"`` or
``"minimize"``) before calling the strategy; ``initialize(..., metric_direction=...)`` is accepted too and
simply sets that attribute. Strategies compare models through :meth:`Strategy.score`, which folds the
direction in (higher is better; a missing metric is the worst score).
"""
from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict, Iterable, List, Optional

from nascore.engine import ExecutionEngine
from nascore.space import ExecutableModelSpace

__all__ = ["Strategy", "METRIC_DIRECTIONS"]

METRIC_DIRECTIONS = ("maximize", "minimize")


class Strategy(ABC):
    """Explores a model space by submitting frozen models to an execution engine.

    Lifecycle: ``strategy(model_space, engine)`` = :meth:`initialize` then :meth:`run`; :meth:`stop` (from
    another thread) makes ``run`` return soon. ``state_dict()`` / ``load_state_dict()`` save and restore the
    search state (JSON) so a resumed experiment continues where it left off.
    """

    #: ``"multi-trial"`` (samples models, submits them) or ``"one-shot"`` (trains a supernet in-process)
    kind: ClassVar[str] = "multi-trial"
    #: a folder the strategy may write to (checkpoints); the experiment sets it to ``<experiment dir>/strategy``
    working_directory: Optional[str] = None

    def __init__(self) -> None:
        self.model_space: Optional[ExecutableModelSpace] = None
        self._engine: Optional[ExecutionEngine] = None
        self._metric_direction = "maximize"
        self._stop_event = threading.Event()

    # ---- direction -----------------------------------------------------------------------------------
    @property
    def metric_direction(self) -> str:
        return self._metric_direction

    @metric_direction.setter
    def metric_direction(self, value: str) -> None:
        direction = str(value).strip().lower()
        if direction not in METRIC_DIRECTIONS:
            raise ValueError(f"metric_direction must be 'maximize' or 'minimize', got {value!r}")
        self._metric_direction = direction

    def score(self, metric: Optional[float]) -> float:
        """``metric`` turned into "higher is better"; None / NaN (failed, no metric) is the worst."""
        if metric is None or (isinstance(metric, float) and math.isnan(metric)):
            return -math.inf
        return float(metric) if self._metric_direction == "maximize" else -float(metric)

    # ---- lifecycle -----------------------------------------------------------------------------------
    @property
    def engine(self) -> ExecutionEngine:
        if self._engine is None:
            raise RuntimeError(f"{type(self).__name__} is not initialized; call initialize(model_space, engine) "
                               "or the strategy itself first")
        return self._engine

    def initialize(self, model_space: ExecutableModelSpace, engine: ExecutionEngine, *,
                   metric_direction: Optional[str] = None) -> None:
        """Bind the strategy to a model space and an engine (called once before :meth:`run`)."""
        if not isinstance(engine, ExecutionEngine):
            raise TypeError(f"{type(self).__name__} needs an ExecutionEngine, got {type(engine).__name__}")
        if metric_direction is not None:
            self.metric_direction = metric_direction
        self.model_space = model_space
        self._engine = engine
        self._stop_event.clear()

    @abstractmethod
    def run(self) -> None:
        """Explore until the space is exhausted, the budget is spent or :meth:`stop` is called."""

    def __call__(self, model_space: ExecutableModelSpace, engine: ExecutionEngine, **kwargs: Any) -> None:
        self.initialize(model_space, engine, **kwargs)
        self.run()

    def stop(self) -> None:
        """Ask :meth:`run` to return soon (thread-safe); models already running are left to the engine."""
        self._stop_event.set()

    @property
    def stopped(self) -> bool:
        return self._stop_event.is_set()

    # ---- results -------------------------------------------------------------------------------------
    def list_models(self, sort: bool = True, limit: Optional[int] = None) -> List[ExecutableModelSpace]:
        """The engine's models, best first when ``sort`` (by final metric and direction; no metric last)."""
        models = list(self.engine.list_models())
        if sort:
            # stable sort: among equal scores (and among models without a metric) submission order is kept
            models.sort(key=lambda m: (m.metric is None, -self.score(m.metric)))
        return models if limit is None else models[:limit]

    # ---- resume --------------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """The search state as JSON-able data (empty for a stateless strategy)."""
        return {}

    def load_state_dict(self, state: Optional[Dict[str, Any]],
                        models: Iterable[ExecutableModelSpace] = ()) -> None:
        """Restore what :meth:`state_dict` returned. ``models`` are models already finished in an earlier run
        (with sample, metrics and status); a strategy must not submit their samples again."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
