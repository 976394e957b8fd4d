"""Execution engines, middlewares and model events.

Engines never set a model's metrics or final status themselves: they dispatch events. Listeners registered
with :meth:`ExecutionEngine.register_model_event_callback` see each event in registration order and may call
:meth:`ModelEvent.stop_propagation`; unless stopped, the engine's default handler then applies the event to the
model (append an intermediate metric, set the final metric, set the final status).
"""
from __future__ import annotations

import dataclasses
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Dict, Iterable, List, Optional

from nascore.space import ExecutableModelSpace, MetricType, ModelStatus

__all__ = ["ModelEventType", "ModelEvent", "IntermediateMetricEvent", "FinalMetricEvent", "TrainingEndEvent",
           "ExecutionEngine", "Middleware", "Budget", "BudgetExhaustedError", "EngineStoppedError"]


class ModelEventType(str, Enum):
    IntermediateMetric = "intermediate_metric"
    FinalMetric = "final_metric"
    TrainingEnd = "training_end"


@dataclass
class ModelEvent:
    model: ExecutableModelSpace
    event_type = None  # type: ModelEventType
    _propagating: bool = field(default=True, init=False, repr=False, compare=False)

    def stop_propagation(self) -> None:
        """Later listeners and the default handler will not see this event."""
        self._propagating = False

    @property
    def propagating(self) -> bool:
        return self._propagating


@dataclass
class IntermediateMetricEvent(ModelEvent):
    metric: MetricType = None  # type: ignore[assignment]
    #: which run of the trial reported it (0 first; a trial re-run after its machine died counts up). A new
    #: attempt's first metric starts the model's curve afresh: curves of two processes are never stitched.
    attempt: int = 0
    event_type = ModelEventType.IntermediateMetric


@dataclass
class FinalMetricEvent(ModelEvent):
    metric: MetricType = None  # type: ignore[assignment]
    event_type = ModelEventType.FinalMetric


@dataclass
class TrainingEndEvent(ModelEvent):
    status: ModelStatus = ModelStatus.Trained
    reason: Optional[str] = None
    event_type = ModelEventType.TrainingEnd


EventCallback = Callable[[ModelEvent], None]


class BudgetExhaustedError(RuntimeError):
    """A model was submitted after ``max_trial_number`` or ``max_experiment_duration`` was used up."""


class EngineStoppedError(RuntimeError):
    """A model was submitted after the engine was stopped (shutdown, interrupt or stop_on_failure)."""


class Budget:
    """``max_trial_number`` and ``max_experiment_duration`` as one object engines can consult."""

    def __init__(self, max_trial_number: Optional[int] = None, max_duration: Optional[float] = None,
                 already_used_trials: int = 0, already_used_seconds: float = 0.0):
        self.max_trial_number = max_trial_number
        self.max_duration = max_duration
        self.trials = already_used_trials
        self._started = time.monotonic() - already_used_seconds

    @classmethod
    def from_config(cls, config: Any) -> "Budget":
        return cls(getattr(config, "max_trial_number", None), getattr(config, "max_experiment_duration", None))

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def time_left(self) -> Optional[float]:
        return None if self.max_duration is None else max(0.0, self.max_duration - self.elapsed())

    def available(self, pending: int = 0) -> bool:
        """Whether one more model may start after ``pending`` models already queued but not yet counted."""
        if self.max_trial_number is not None and self.trials + pending >= self.max_trial_number:
            return False
        return self.max_duration is None or self.elapsed() < self.max_duration

    def consume(self, n: int = 1) -> None:
        self.trials += n

    def exhausted_error(self, model: Any, trials_note: Optional[str] = None) -> BudgetExhaustedError:
        """The error for ``model`` refused because the budget is used up, naming each limit and its use.
        ``trials_note`` says how the trials were counted (default: ``"<trials> submitted"``)."""
        limits = []
        if self.max_trial_number is not None:
            limits.append(f"max_trial_number={self.max_trial_number} ({trials_note or f'{self.trials} submitted'})")
        if self.max_duration is not None:
            limits.append(f"max_experiment_duration={self.max_duration:g}s ({self.elapsed():.1f}s elapsed)")
        return BudgetExhaustedError(f"experiment budget used up ({', '.join(limits)}); {model!r} was not run. "
                                    "Check budget_available() before submitting, or raise the limit")


class ExecutionEngine(ABC):
    """Runs frozen models. Subclasses implement submit/list/idle/budget/shutdown."""

    def __init__(self) -> None:
        self._callbacks: Dict[ModelEventType, List[EventCallback]] = {t: [] for t in ModelEventType}
        self._changed = threading.Condition()

    # ---- what an engine implements ------------------------------------------------------------------
    @abstractmethod
    def submit_models(self, *models: ExecutableModelSpace) -> None:
        """Start training the given frozen models (may block in-process engines until they finish)."""

    @abstractmethod
    def list_models(self, status: Optional[ModelStatus] = None) -> Iterable[ExecutableModelSpace]:
        """Every model submitted so far (optionally only those with ``status``), in submission order."""

    @abstractmethod
    def idle_worker_available(self) -> bool:
        """Whether a model submitted now would start right away."""

    @abstractmethod
    def budget_available(self) -> bool:
        """Whether more models may still be submitted (trial number and duration limits)."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop running models (they end Interrupted) and release every resource."""

    def query_available_resources(self) -> int:
        """How many models could start right now."""
        return 1 if self.idle_worker_available() else 0

    @staticmethod
    def check_submittable(models: Iterable[Any]) -> None:
        """Raise ``TypeError`` / ``ValueError`` naming the first of ``models`` that is not a frozen
        :class:`ExecutableModelSpace`; engines call it at the top of ``submit_models``, before anything runs."""
        for model in models:
            if not isinstance(model, ExecutableModelSpace):
                raise TypeError(f"submit_models() takes frozen ExecutableModelSpace objects, got "
                                f"{type(model).__name__}; freeze a sample first (space.freeze(sample))")
            if not model.status.frozen():
                raise ValueError(f"{model!r} is not frozen; submit space.freeze(sample), not the space itself")

    def stop(self) -> None:
        """Ask the engine to stop accepting and running models; by default the same as ``shutdown``."""
        self.shutdown()

    def cancel_model(self, model: ExecutableModelSpace, reason: str = "cancelled") -> bool:
        """Stop one queued or running model; it ends Interrupted with ``reason`` (through a
        ``TrainingEndEvent``). Returns False when the model is not in flight here or this engine cannot stop a
        single model (the default)."""
        return False

    def wait_models(self, *models: ExecutableModelSpace, timeout: Optional[float] = None) -> bool:
        """Block until the given models (default: all submitted) reach a final status; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                pending = [m for m in (models or self.list_models()) if not m.status.completed()]
                if not pending:
                    return True
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(timeout=min(left, 1.0) if left is not None else 1.0)

    def wait_for_idle_worker(self, timeout: Optional[float] = None) -> bool:
        """Block until ``idle_worker_available()`` (or the budget is gone); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not self.idle_worker_available() and self.budget_available():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._changed.wait(timeout=min(left, 1.0) if left is not None else 1.0)
        return True

    # ---- events ---------------------------------------------------------------------------------------
    def register_model_event_callback(self, event_type: ModelEventType, callback: EventCallback) -> None:
        """Call ``callback(event)`` for every event of ``event_type`` this engine dispatches (before the default
        handler).
        """
        self._callbacks[ModelEventType(event_type)].append(callback)

    def unregister_model_event_callback(self, event_type: ModelEventType, callback: EventCallback) -> None:
        """Stop calling ``callback`` for ``event_type`` (it must have been registered)."""
        self._callbacks[ModelEventType(event_type)].remove(callback)

    def dispatch_model_event(self, event: ModelEvent) -> None:
        """Deliver ``event`` to listeners in order, then (unless stopped) apply it to the model."""
        for callback in list(self._callbacks[event.event_type]):
            callback(event)
            if not event.propagating:
                break
        if event.propagating:
            self.apply_event(event)
        self.notify_changed()

    @staticmethod
    def apply_event(event: ModelEvent) -> None:
        """The default handler: record the metric or the final status on the model."""
        model = event.model
        if isinstance(event, IntermediateMetricEvent):
            if event.attempt > getattr(model, "attempt", 0):  # a re-run: its curve replaces the dead run's
                model.metrics.intermediates.clear()
                model.attempt = event.attempt  # type: ignore[attr-defined]
            model.metrics.add_intermediate(event.metric)
        elif isinstance(event, FinalMetricEvent):
            model.metrics.final = event.metric
        elif isinstance(event, TrainingEndEvent):
            model.status = event.status
            if event.reason is not None:
                model.failure_reason = event.reason

    def notify_changed(self) -> None:
        """Wake up threads blocked in ``wait_models`` / ``wait_for_idle_worker``."""
        with self._changed:
            self._changed.notify_all()

    @staticmethod
    def mark_training(model: ExecutableModelSpace) -> None:
        """Engines call this when a model starts; its status becomes Training."""
        model.status = ModelStatus.Training


class Middleware(ExecutionEngine):
    """An engine that wraps another one. By default it forwards everything to the inner engine and re-dispatches
    the inner engine's events as its own, so listeners register on the outermost engine only."""

    def __init__(self, engine: Optional[ExecutionEngine] = None) -> None:
        super().__init__()
        self._engine: Optional[ExecutionEngine] = None
        if engine is not None:
            self.set_engine(engine)

    @property
    def engine(self) -> ExecutionEngine:
        """The wrapped engine (set by the constructor or :meth:`set_engine`)."""
        if self._engine is None:
            raise RuntimeError(f"{type(self).__name__} has no inner engine; call set_engine() first")
        return self._engine

    def set_engine(self, engine: ExecutionEngine) -> None:
        """Wrap ``engine``: its events come to :meth:`handle_inner_event`."""
        self._engine = engine
        for event_type in ModelEventType:
            engine.register_model_event_callback(event_type, self.handle_inner_event)

    def handle_inner_event(self, event: ModelEvent) -> None:
        """An event of the inner engine: re-dispatch it here, and keep the inner default handler out so the
        event is applied once."""
        event.stop_propagation()
        self.dispatch_model_event(dataclasses.replace(event))

    def submit_models(self, *models: ExecutableModelSpace) -> None:
        self.engine.submit_models(*models)

    def list_models(self, status: Optional[ModelStatus] = None) -> Iterable[ExecutableModelSpace]:
        return self.engine.list_models(status)

    def idle_worker_available(self) -> bool:
        return self.engine.idle_worker_available()

    def budget_available(self) -> bool:
        return self.engine.budget_available()

    def query_available_resources(self) -> int:
        return self.engine.query_available_resources()

    def shutdown(self) -> None:
        self.engine.shutdown()

    def stop(self) -> None:
        self.engine.stop()

    def cancel_model(self, model: ExecutableModelSpace, reason: str = "cancelled") -> bool:
        return self.engine.cancel_model(model, reason)

    def wait_models(self, *models: ExecutableModelSpace, timeout: Optional[float] = None) -> bool:
        return self.engine.wait_models(*models, timeout=timeout)

    def wait_for_idle_worker(self, timeout: Optional[float] = None) -> bool:
        return self.engine.wait_for_idle_worker(timeout)
