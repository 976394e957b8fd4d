"""The ``ts`` execution engine: submitted models become trials on a training service, ``trial_concurrency``
at a time.

``submit_models`` returns at once: models wait in a queue until the service has a free slot. A model's
payload is built when it is submitted, so a model that cannot be sent to a trial (e.g. an evaluator defined
in ``__main__``) stops the experiment with a clear error before anything runs. Events from the service come
from its threads; they are dispatched under the engine lock, so one model's events are ordered and listeners
never run concurrently.
"""
from __future__ import annotations

import collections
import itertools
import os
import threading
import time
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Tuple

from nascore.engine import (Budget, BudgetExhaustedError, EngineStoppedError, ExecutionEngine, FinalMetricEvent,
                            IntermediateMetricEvent, TrainingEndEvent)
from nascore.space import ExecutableModelSpace, ModelStatus
from nascore.training_service import TrainingService, TrialEnd, TrialMetric, TrialRequest, build_payload

__all__ = ["TrainingServiceEngine", "BudgetExhaustedError", "EngineStoppedError"]


class TrainingServiceEngine(ExecutionEngine):
    """``config`` is the experiment config (``trial_concurrency``, budgets, ``max_trial_duration``,
    ``stop_on_failure``, ``training_service``). ``service`` overrides the configured training service.

    ``log_directory`` (set it before the first submit; the experiment does) is where trial logs go; by
    default ``<experiment_working_directory>/<experiment_name or ts-time-pid>/trials``.
    """

    def __init__(self, config: Any = None, service: Optional[TrainingService] = None) -> None:
        super().__init__()
        self.config = config
        self.budget = Budget.from_config(config)
        self.stop_on_failure = bool(getattr(config, "stop_on_failure", False))
        self.max_trial_duration: Optional[float] = getattr(config, "max_trial_duration", None)
        self.log_directory: Optional[Path] = None
        self._service = service
        self._started = False
        self._stopped: Optional[str] = None  # why, once stopped
        self._lock = threading.RLock()  # RLock: a listener may submit from inside an event callback
        self._models: List[ExecutableModelSpace] = []
        self._known: set = set()
        self._pending: Deque[Tuple[ExecutableModelSpace, Dict[str, Any]]] = collections.deque()
        self._running: Dict[str, ExecutableModelSpace] = {}
        self._ids = itertools.count(1)
        self._run_tag = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"

    # ---- lifecycle ------------------------------------------------------------------------------------------
    @property
    def service(self) -> TrainingService:
        if self._service is None:
            from nascore.plugins import get_plugin_manager
            settings = getattr(self.config, "training_service", None)
            name = getattr(settings, "name", None) or "local"
            self._service = get_plugin_manager().get_training_service(name).load()(self.config)
        return self._service

    def start(self) -> None:
        """Start the training service (warm workers begin importing); submit does it when needed."""
        with self._lock:
            if self._started:
                return
            if self.log_directory is None:
                root = Path(getattr(self.config, "experiment_working_directory", None) or "~/nascore-experiments")
                name = getattr(self.config, "experiment_name", None) or f"ts-{self._run_tag}"
                self.log_directory = root.expanduser() / name / "trials"
            self.service.start(self, Path(self.log_directory))
            self._started = True

    # ---- ExecutionEngine ------------------------------------------------------------------------------------
    def submit_models(self, *models: ExecutableModelSpace) -> None:
        """Queue ``models`` as trials; returns at once. Raises ``TrialPayloadError`` for a model that cannot
        be sent to a trial, :class:`BudgetExhaustedError` or :class:`EngineStoppedError`."""
        self.check_submittable(models)
        self.start()
        with self._lock:
            for model in models:
                if self._stopped:
                    raise EngineStoppedError(f"the ts engine was stopped ({self._stopped}); {model!r} was not run")
                if not self.budget.available():
                    raise self.budget.exhausted_error(model)
                payload = build_payload(model)  # raises TrialPayloadError with advice
                if id(model) not in self._known:
                    self._known.add(id(model))
                    self._models.append(model)
                else:  # a re-submission starts from clean metrics
                    model.metrics.clear()
                    model.failure_reason = None
                self.budget.consume()
                self._pending.append((model, payload))
            self._pump()

    def list_models(self, status: Optional[ModelStatus] = None) -> List[ExecutableModelSpace]:
        models = list(self._models)  # no lock: called under the wait condition (lock order)
        return models if status is None else [m for m in models if m.status is ModelStatus(status)]

    def idle_worker_available(self) -> bool:
        return not self._stopped and not self._pending and self._capacity() > 0

    def query_available_resources(self) -> int:
        return 0 if self._stopped else max(0, self._capacity() - len(self._pending))

    def budget_available(self) -> bool:
        return not self._stopped and self.budget.available()

    def shutdown(self) -> None:
        """Stop: queued models end Interrupted, running trials are killed (Interrupted), workers exit."""
        self._stop("shut down")

    def cancel_model(self, model: ExecutableModelSpace, reason: str = "cancelled") -> bool:
        """A queued model ends Interrupted at once; a running trial is cancelled on the service (its end
        arrives as Interrupted with ``reason``). False when the model is not in flight here."""
        with self._lock:
            for index, (queued, _) in enumerate(self._pending):
                if queued is model:
                    del self._pending[index]
                    self._end(model, ModelStatus.Interrupted, reason)
                    return True
            trial_id = next((t for t, m in self._running.items() if m is model), None)
        if trial_id is None:
            return False
        self.service.cancel(trial_id, reason)
        return True

    def _stop(self, why: str) -> None:
        with self._lock:
            if not self._stopped:
                self._stopped = why
            pending, self._pending = list(self._pending), collections.deque()
            for model, _ in pending:
                self._end(model, ModelStatus.Interrupted, f"the engine {why} before the model started")
        if self._started:
            self.service.shutdown()  # delivers the running trials' ends through on_trial_end
        self.notify_changed()

    # ---- TrialListener (called from the service's threads) --------------------------------------------------------
    def on_trial_started(self, trial_id: str, started: float, where: Optional[str] = None) -> None:
        """The trial began running its model at ``started`` (epoch seconds): its duration counts from there,
        not from the submission (a worker still starting up, importing torch, is not the trial's time).
        ``where`` (the service's words for its worker or machine) becomes the model's ``worker``, which the
        store records."""
        with self._lock:
            model = self._running.get(trial_id)
            timings = getattr(model, "timings", None)
            if timings is not None:
                timings["start"] = started
            if model is not None and where:
                model.worker = str(where)  # type: ignore[attr-defined]

    def on_trial_metric(self, event: TrialMetric) -> None:
        with self._lock:
            model = self._running.get(event.trial_id)
            if model is None:
                return  # the trial already ended (e.g. shut down while a metric was in flight)
            if event.kind == "intermediate":
                self.dispatch_model_event(IntermediateMetricEvent(model, event.metric, attempt=event.attempt))
            else:
                self.dispatch_model_event(FinalMetricEvent(model, event.metric))

    def on_trial_end(self, event: TrialEnd) -> None:
        with self._lock:
            model = self._running.pop(event.trial_id, None)
            if model is None:
                return
            try:
                self._end(model, event.status, event.reason)
            finally:  # a listener raising must not stall the queue
                self._after_end(model, event)

    def _after_end(self, model: ExecutableModelSpace, event: TrialEnd) -> None:
        with self._lock:
            if event.status is ModelStatus.Failed and self.stop_on_failure and not self._stopped:
                self._stopped = f"stopped: {model!r} failed ({event.reason}) and stop_on_failure is set"
                threading.Thread(target=self._stop, args=(self._stopped,), daemon=True).start()
            self._pump()

    # ---- internals ----------------------------------------------------------------------------------------------
    def _capacity(self) -> int:
        if not self._started:
            return int(getattr(self.config, "trial_concurrency", 1) or 1)
        return self.service.capacity()

    def _pump(self) -> None:
        """Hand queued models to the service while it has room (caller holds the lock)."""
        while self._pending and not self._stopped and self.service.capacity() > 0:
            model, payload = self._pending.popleft()
            trial_id = f"trial-{next(self._ids):05d}"
            self._running[trial_id] = model
            model.trial_id = trial_id  # type: ignore[attr-defined]
            model.log_path = str(Path(self.log_directory) / trial_id)  # type: ignore[attr-defined, arg-type]
            model.timings = {"start": time.time(), "end": None}  # type: ignore[attr-defined]
            self.mark_training(model)
            request = TrialRequest(trial_id, payload, timeout=self.max_trial_duration)
            try:
                self.service.submit(request)
            except Exception as exc:  # noqa: BLE001 - the service refused: this model fails, others go on
                self._running.pop(trial_id, None)
                self._end(model, ModelStatus.Failed, f"training service refused the trial: {exc}")
        self.notify_changed()

    def _end(self, model: ExecutableModelSpace, status: ModelStatus, reason: Optional[str]) -> None:
        timings = getattr(model, "timings", None) or {"start": None}
        timings["end"] = time.time()
        model.timings = timings  # type: ignore[attr-defined]
        self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus(status), reason=reason))
