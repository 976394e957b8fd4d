"""The ``Strategy`` base class: what the experiment calls, whatever the kind of strategy.

Objective: the experiment sets ``strategy.objective`` (a :class:`nascore.metric.Objective`: the evaluator's
metric name and direction) before calling the strategy. ``strategy.metric_direction`` (``"maximize"`` /
``"minimize"``) reads and sets its direction; ``initialize(..., objective=..., metric_direction=...)`` is
accepted too. Strategies compare models through :meth:`Strategy.score`, which folds the direction in (higher is
better; a missing, NaN or infinite metric, or a model that did not train, is the worst score).
"""
from __future__ import annotations

import math
import threading
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Dict, Iterable, List, Optional

from nascore.engine import ExecutionEngine
from nascore.metric import Objective
from nascore.space import ExecutableModelSpace, ModelStatus

__all__ = ["Strategy", "METRIC_DIRECTIONS"]

METRIC_DIRECTIONS = ("maximize", "minimize")


class Strategy(ABC):
    """Explores a model space by submitting frozen models to an execution engine.

    Constraints: the experiment's engine refuses a model that breaks a constraint decided before training with
    :class:`~nascore.constraints.InfeasibleModelError` (nothing is spent); :class:`MultiTrialStrategy` catches it
    and proposes again, a strategy written on this base catches it itself. Several objectives: see
    :attr:`multi_objective`, :attr:`objectives`, :meth:`objective_values`.

    Lifecycle: ``strategy(model_space, engine)`` = :meth:`initialize` then :meth:`run`; :meth:`stop` (from
    another thread) makes ``run`` return soon. ``state_dict()`` / ``load_state_dict()`` save and restore the
    search state (JSON) so a resumed experiment continues where it left off.
    """

    #: ``"multi-trial"`` (samples models, submits them) or ``"one-shot"`` (trains a supernet in-process)
    kind: ClassVar[str] = "multi-trial"
    #: a folder the strategy may write to (checkpoints); the experiment sets it to ``<experiment dir>/strategy``
    working_directory: Optional[str] = None
    #: True for strategies that search several objectives at once (NSGA-II, multi-objective evolution, and
    #: Random / GridSearch, which rank nothing); others need ``objective_weights`` to get several
    multi_objective: ClassVar[bool] = False
    #: what the experiment optimises (set by the experiment; one objective by default, the evaluator's metric)
    objectives: List[Any] = []
    #: ``{objective name: weight}``: several objectives folded into one number for a single-objective strategy
    objective_weights: Optional[Dict[str, float]] = None
    #: set by the experiment: its :class:`~nascore.experiment.gate.ModelGate` (``violation(model)``,
    #: ``measure(model, metric)``), for strategies that check constraints or costs of models they pick
    gate: Any = None
    #: the evaluator's name for a metric reported as a bare number (set by the experiment; None: the objective's)
    metric_name: Optional[str] = None

    def __init__(self) -> None:
        self.model_space: Optional[ExecutableModelSpace] = None
        self._engine: Optional[ExecutionEngine] = None
        self.objective = Objective()
        self._stop_event = threading.Event()

    # ---- direction -----------------------------------------------------------------------------------
    @property
    def objective(self) -> Objective:
        """The metric the strategy optimises and its direction (set by the experiment from the evaluator)."""
        return self._objective

    @objective.setter
    def objective(self, value: Any) -> None:
        self._objective = Objective.parse(value)

    @property
    def metric_direction(self) -> str:
        """``"maximize"`` or ``"minimize"``: :attr:`objective`'s direction."""
        return self._objective.direction

    @metric_direction.setter
    def metric_direction(self, value: str) -> None:
        self._objective = Objective(self._objective.name, value)

    def score(self, metric: Optional[float]) -> float:
        """``metric`` turned into "higher is better"; None, NaN or ±inf (failed, no metric) is the worst."""
        return self._objective.score(metric)

    def metric_of(self, model: ExecutableModelSpace) -> Optional[float]:
        """The number :attr:`objective` reads from a model: an entry of its final metric or of its profile
        (None when it has none). With :attr:`objective_weights`, the weighted sum of :attr:`objectives`, each
        oriented so that higher is better (the experiment then sets a ``"max"`` objective)."""
        if self.objective_weights and len(self.objectives) > 1:
            values = self.objective_values(model)
            if values is None:
                return None
            return sum(self.objective_weights.get(o.name, 0.0) * o.score(v) for o, v in zip(self.objectives, values))
        return self.named_metrics(model).get(self._objective.name)

    def model_score(self, model: ExecutableModelSpace) -> float:
        """:meth:`score` of a model's final metric; a model that did not train (failed, interrupted...) is the
        worst whatever it reported."""
        if model.status is not ModelStatus.Trained:
            return -math.inf
        return self.score(self.metric_of(model))

    # ---- several objectives -------------------------------------------------------------------------
    def named_metrics(self, model: ExecutableModelSpace) -> Dict[str, float]:
        """Every named number of a model: its profile (costs) and what its trial reported."""
        from nascore.objectives import named_metrics
        return named_metrics(model.metrics.final, model.metrics.profile, self.metric_name or self._objective.name)

    def objective_values(self, model: ExecutableModelSpace) -> Optional[List[float]]:
        """The model's value for each of :attr:`objectives` (None when one is missing or not finite)."""
        from nascore.objectives import objective_values
        if not self.objectives:
            return None
        values = objective_values(self.objectives, self.named_metrics(model))
        return None if values is None else list(values)

    # ---- lifecycle -----------------------------------------------------------------------------------
    @property
    def engine(self) -> ExecutionEngine:
        """The engine the strategy submits to (RuntimeError before :meth:`initialize`)."""
        if self._engine is None:
            raise RuntimeError(f"{type(self).__name__} is not initialized; call initialize(model_space, engine) "
                               "or the strategy itself first")
        return self._engine

    def initialize(self, model_space: ExecutableModelSpace, engine: ExecutionEngine, *,
                   metric_direction: Optional[str] = None, objective: Any = None) -> None:
        """Bind the strategy to a model space and an engine (called once before :meth:`run`)."""
        if not isinstance(engine, ExecutionEngine):
            raise TypeError(f"{type(self).__name__} needs an ExecutionEngine, got {type(engine).__name__}")
        if objective is not None:
            self.objective = objective
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
        """True once :meth:`stop` was called."""
        return self._stop_event.is_set()

    # ---- results -------------------------------------------------------------------------------------
    def list_models(self, sort: bool = True, limit: Optional[int] = None) -> List[ExecutableModelSpace]:
        """The engine's models, best first when ``sort`` (by final metric and :attr:`objective`; models that
        did not train, or have no finite metric, last)."""
        models = list(self.engine.list_models())
        if sort:
            # stable sort: among equal scores (and among models without a metric) submission order is kept
            models.sort(key=lambda m: -self.model_score(m))
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
