"""The ``sequential`` execution engine: each submitted model is trained right away, in this process.

``submit_models`` blocks until its models have finished. Metrics reach the model only through events
(``IntermediateMetricEvent``, ``FinalMetricEvent``, ``TrainingEndEvent``), like with every other engine.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections import deque
from typing import Any, Deque, List, Optional

from nascore.engine import (Budget, BudgetExhaustedError, EngineStoppedError, ExecutionEngine, FinalMetricEvent,
                            IntermediateMetricEvent, TrainingEndEvent)
from nascore.interrupts import is_user_interrupt, signal_received
from nascore.space import ExecutableModelSpace, ModelStatus
from nascore.trial import run_model

__all__ = ["SequentialExecutionEngine", "BudgetExhaustedError", "EngineStoppedError", "TrialFailedError",
           "TrialTimeoutError", "TrialCancelled"]

_logger = logging.getLogger(__name__)


class TrialFailedError(RuntimeError):
    """Raised by ``submit_models`` when a model fails and ``stop_on_failure`` is set."""

    def __init__(self, message: str, model: ExecutableModelSpace):
        super().__init__(message)
        self.model = model


class TrialTimeoutError(Exception):
    """Raised inside a trial, at the metric it reports after ``max_trial_duration`` has passed."""


class TrialCancelled(BaseException):
    """Raised inside a trial, at the metric it reports after ``cancel_model`` (e.g. an early stopper) asked it to
    stop. A BaseException, so an evaluator's ``except Exception`` does not swallow it."""


class SequentialExecutionEngine(ExecutionEngine):
    """Runs models one after another in the calling thread.

    ``config`` is the experiment's :class:`~nascore.NasExperimentConfig` (or None for no limits); the engine
    reads ``max_trial_number``, ``max_experiment_duration``, ``max_trial_duration`` and ``stop_on_failure``
    from it. A trial runs in this thread and cannot be pre-empted, so ``max_trial_duration`` is enforced when
    the trial next reports a metric: past the limit, that report raises :class:`TrialTimeoutError` inside the
    trial, which fails with the reason the training services give ("exceeded max_trial_duration (Ns)") and
    keeps the metrics reported before. A trial that reports nothing runs to its end.
    """

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.config = config
        self.budget = Budget.from_config(config)
        self.stop_on_failure = bool(getattr(config, "stop_on_failure", False))
        self.max_trial_duration: Optional[float] = getattr(config, "max_trial_duration", None)
        self._models: List[ExecutableModelSpace] = []
        self._submitted_ids: set = set()
        self._running: Optional[ExecutableModelSpace] = None
        self._cancelled: dict = {}  # id(model) -> reason, for the running model
        self._stopped = False
        self._queue: Deque[ExecutableModelSpace] = deque()
        self._draining = False
        # Submissions from several threads are serialised (one worker); re-entrant for listeners that submit.
        self._lock = threading.RLock()

    # ---- ExecutionEngine ------------------------------------------------------------------------------
    def submit_models(self, *models: ExecutableModelSpace) -> None:
        """Train ``models`` one by one; returns when all have ended (Trained, Failed or Interrupted).

        Raises :class:`EngineStoppedError` after a stop, :class:`BudgetExhaustedError` when the trial number
        or duration limit is reached (checked for the whole batch before anything runs, and again before each
        model starts), :class:`TrialFailedError` when a model fails and ``stop_on_failure`` is set, and re-raises
        ``KeyboardInterrupt`` after marking the running model Interrupted. Models not started then stay Frozen.

        Called from an event listener while a model runs (a strategy submitting its next model when one
        finishes), it queues the models and returns; they run right after the current one, not nested in it.
        """
        self.check_submittable(models)
        with self._lock:
            for index, model in enumerate(models):
                self._check_can_start(model, pending=len(self._queue) + index)
            self._queue.extend(models)
            if self._draining:
                return
            self._draining = True
            try:
                while self._queue:
                    model = self._queue.popleft()
                    self._check_can_start(model)
                    self._run_one(model)
            finally:
                self._draining = False
                self._queue.clear()

    def list_models(self, status: Optional[ModelStatus] = None) -> List[ExecutableModelSpace]:
        if status is None:
            return list(self._models)
        status = ModelStatus(status)
        return [m for m in self._models if m.status is status]

    def idle_worker_available(self) -> bool:
        return self._running is None

    def budget_available(self) -> bool:
        return not self._stopped and self.budget.available()

    def cancel_model(self, model: ExecutableModelSpace, reason: str = "cancelled") -> bool:
        """The running model stops at its next reported metric (a report made from inside the listener that
        cancels it stops it at once) and ends Interrupted with ``reason``; a queued model ends at once."""
        if model is self._running:
            self._cancelled[id(model)] = reason
            return True
        if model in self._queue:
            self._queue.remove(model)
            self._end(model, ModelStatus.Interrupted, reason)
            return True
        return False

    def shutdown(self) -> None:
        """Refuse further submissions. A model running in another thread cannot be pre-empted from here; it
        finishes normally (the evaluator is ordinary Python code in this process)."""
        self._stopped = True
        self.notify_changed()

    # ---- internals ----------------------------------------------------------------------------------------
    def _check_can_start(self, model: ExecutableModelSpace, pending: int = 0) -> None:
        """Raise unless ``model`` may start after the ``pending`` models queued before it."""
        if self._stopped:
            raise EngineStoppedError(f"the sequential engine was stopped; {model!r} was not run")
        if not self.budget.available(pending):
            raise self.budget.exhausted_error(model, f"{self.budget.trials} run, {pending} queued")

    def _run_one(self, model: ExecutableModelSpace) -> None:
        if id(model) not in self._submitted_ids:
            self._submitted_ids.add(id(model))
            self._models.append(model)
        elif model.status.completed():  # a re-submission starts from clean metrics
            model.metrics.clear()
            model.failure_reason = None
        self.budget.consume()
        self._running = model
        self.mark_training(model)
        model.timings = {"start": time.time(), "end": None}  # type: ignore[attr-defined]
        model.worker = f"this process (pid {os.getpid()})"  # type: ignore[attr-defined]  # the store records it
        self.notify_changed()

        started, limit = time.monotonic(), self.max_trial_duration

        def check_time() -> None:
            if limit is not None and time.monotonic() - started > limit:
                raise TrialTimeoutError(f"exceeded max_trial_duration ({limit:g}s)")

        def check_cancelled() -> None:
            reason = self._cancelled.pop(id(model), None)
            if reason is not None:
                raise TrialCancelled(reason)

        def on_intermediate(metric: Any) -> None:
            check_time()
            check_cancelled()
            self.dispatch_model_event(IntermediateMetricEvent(model, metric))
            check_cancelled()  # a listener (an early stopper) may have cancelled it on this very metric

        def on_final(metric: Any) -> None:
            check_time()
            check_cancelled()
            self.dispatch_model_event(FinalMetricEvent(model, metric))

        try:
            run_model(model, on_intermediate, on_final)
        except TrialCancelled as exc:
            self._end(model, ModelStatus.Interrupted, str(exc))
        except (KeyboardInterrupt, SystemExit) as exc:
            if not is_user_interrupt(exc):  # the trial's own sys.exit() / raise KeyboardInterrupt: it fails alone
                self._failed(model, exc, f"{type(exc).__name__}({exc.args[0] if exc.args else ''}) raised by the "
                                         "trial (sys.exit() or a KeyboardInterrupt of its own)")
                return
            self._stopped = True
            name = signal_received()
            self._end(model, ModelStatus.Interrupted, "KeyboardInterrupt: interrupted by the user"
                      if name in (None, "SIGINT") else f"{name}: the experiment process was told to stop")
            raise
        except Exception as exc:  # noqa: BLE001 - any evaluator error fails this model only
            self._failed(model, exc)
        else:
            self._cancelled.pop(id(model), None)  # cancelled after its last report: it finished anyway
            self._end(model, ModelStatus.Trained, None)

    def _failed(self, model: ExecutableModelSpace, exc: BaseException, reason: Optional[str] = None) -> None:
        """End ``model`` Failed because it raised ``exc`` (then stop the engine if ``stop_on_failure``)."""
        if isinstance(exc, TrialTimeoutError):  # an expected stop: no traceback
            reason = str(exc)
            _logger.warning("model %r stopped: %s", model, reason)
        else:
            reason = reason or f"{type(exc).__name__}: {exc}"
            _logger.error("model %r failed: %s\n%s", model, reason, traceback.format_exc())
        self._end(model, ModelStatus.Failed, reason)
        if self.stop_on_failure:
            self._stopped = True
            raise TrialFailedError(f"{model!r} failed ({reason}) and stop_on_failure is set; "
                                   "the engine stopped", model) from exc

    def _end(self, model: ExecutableModelSpace, status: ModelStatus, reason: Optional[str]) -> None:
        model.timings["end"] = time.time()  # type: ignore[attr-defined]
        self._running = None
        self.dispatch_model_event(TrainingEndEvent(model, status=status, reason=reason))
