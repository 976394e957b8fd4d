"""The recording middleware: the outermost engine of every experiment.

It gives each submitted model an id, writes submissions and events to the store as they happen, fires the
observer hooks, and — when an experiment is resumed — answers a sample that already finished in an earlier
session by replaying its stored metrics and status, without running it again.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Dict, List, Optional

from nascore.constraints import InfeasibleModelError
from nascore.engine import (ExecutionEngine, FinalMetricEvent, IntermediateMetricEvent, Middleware, ModelEvent,
                            TrainingEndEvent)
from nascore.experiment.gate import ModelGate
from nascore.experiment.store import ExperimentStore, ModelRecord, StoreError, sample_key
from nascore.metric import Objective, final_metric_problem
from nascore.objectives import objectives_problem
from nascore.experiment.size import parameter_count
from nascore.seeding import data_seed, trial_seed
from nascore.weights import weights_file
from nascore.plugins import get_plugin_manager
from nascore.profilers.runner import ProfilerError
from nascore.space import ExecutableModelSpace, ModelStatus, NotSerializableError

__all__ = ["RecordingMiddleware"]

_logger = logging.getLogger(__name__)

# Statuses that count as a used trial when an experiment is resumed (Interrupted models are re-run).
_COUNTED = (ModelStatus.Trained.value, ModelStatus.Failed.value, ModelStatus.Invalid.value,
            ModelStatus.EarlyStopped.value)


class RecordingMiddleware(Middleware):
    def __init__(self, engine: ExecutionEngine, store: ExperimentStore, session: int,
                 serializable: bool, max_trial_number: Optional[int] = None,
                 on_model_finished: Optional[Callable[[ExecutableModelSpace], None]] = None,
                 gate: Optional[ModelGate] = None,
                 on_store_error: Optional[Callable[[Exception], None]] = None,
                 objective: Optional[Objective] = None, objectives: Optional[List[Objective]] = None,
                 keep_weights: Optional[int] = 0, seed: Optional[int] = None) -> None:
        super().__init__(engine)
        #: objectives the experiment declares (None: just the evaluator's); a model ending Trained without a
        #: finite value for each of them (reported, or measured before training) ends Failed instead
        self.objectives = objectives
        #: told when the store cannot record an event (a full disk): the experiment stops cleanly
        self.on_store_error = on_store_error
        #: profiles and checks models before their trial (None: every model goes straight to its trial)
        self.gate = gate
        #: a model ending Trained without a finite final metric for this objective ends Failed instead
        self.objective = objective or Objective()
        #: how many models' trained weights to keep (None: all, 0: none); trials save them in the store's folder
        self.keep_weights = keep_weights
        #: the experiment seed: each model gets a trial seed derived from it and its sample
        self.seed = seed
        self.store = store
        self.session = session
        self.serializable = serializable
        self.max_trial_number = max_trial_number
        self.on_model_finished = on_model_finished
        self._lock = threading.RLock()
        self._models: List[ExecutableModelSpace] = []
        self._replaying: set = set()
        # Finished models of earlier sessions, by sample: answered from the store on resume.
        self._previous: Dict[str, ModelRecord] = {}
        self._used = 0  # trials counted against max_trial_number (earlier sessions included)
        self._stopped = False

    def load_previous(self, records: List[ModelRecord], count: bool = True) -> None:
        """Answer these finished models' samples from the store; ``count``: they used trials of the budget."""
        for record in records:
            if record.status in _COUNTED:
                self._previous.setdefault(sample_key(record.sample), record)
                self._used += 1 if count else 0

    # ---- submission ---------------------------------------------------------------------------------------
    def submit_models(self, *models: ExecutableModelSpace) -> None:
        """Record and run ``models``; one that breaks a constraint is refused before anything is spent
        (:class:`~nascore.constraints.InfeasibleModelError`, raised once the others are submitted)."""
        fresh, rejected = [], []
        for model in models:
            if not isinstance(model, ExecutableModelSpace) or not model.status.frozen():
                raise TypeError(f"submit_models() takes frozen models (space.freeze(sample)), got {model!r}")
            record = self._previous.get(sample_key(model.sample or {}))
            if record is not None:
                with self._lock:
                    self._models.append(model)
                self._replay(model, record)
                continue
            unmeasurable = None
            if self.gate is not None:
                try:
                    self.gate.admit(model)
                except InfeasibleModelError as exc:
                    rejected.append(exc)
                    continue
                except ProfilerError as exc:  # this model cannot be measured: it fails alone, like a crashed trial
                    unmeasurable = str(exc)
            with self._lock:
                self._models.append(model)
                if self._stopped:
                    raise RuntimeError("the experiment was stopped; no more models are accepted")
                self._used += 1
            self.record_submission(model)
            if unmeasurable is not None:
                _logger.warning("model #%s failed before its trial: %s", model.model_id, unmeasurable)
                self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus.Failed, reason=unmeasurable))
                continue
            fresh.append(model)
        if fresh:
            self.engine.submit_models(*fresh)
        if rejected:
            self.store.set_meta("models_rejected", self.gate.rejected if self.gate else len(rejected))
            if len(rejected) == 1:
                raise rejected[0]
            raise InfeasibleModelError("; ".join(str(e) for e in rejected),
                                       [m for e in rejected for m in e.models], [r for e in rejected for r in e.reasons])

    def record_submission(self, model: ExecutableModelSpace, model_id: Optional[int] = None) -> None:
        """Write the model to the store (a new row, or ``model_id``'s row for a re-run) and tell observers."""
        payload = None
        if self.serializable:
            try:
                payload = model.to_payload()
            except NotSerializableError:
                payload = None
            except Exception:  # noqa: BLE001 - a payload is a convenience for export; the run goes on
                _logger.debug("could not serialize %r for the store", model, exc_info=True)
        if model_id is None:
            model.model_id = self.store.add_model(model.sample or {}, payload, session=self.session,
                                                  log_path=getattr(model, "log_path", None))
        else:
            model.model_id = model_id
            self.store.restart_model(model_id, self.session)
        if model.metrics.profile:
            self.store.set_profile(model.model_id, model.metrics.profile)
        if self.keep_weights != 0:
            model.weights_path = str(weights_file(self.store.directory, model.model_id))
        if self.seed is not None:
            model.seed = trial_seed(self.seed, model.sample or {})
            model.data_seed = data_seed(self.seed)
        model._nascore_submitted = time.time()  # type: ignore[attr-defined]
        get_plugin_manager().notify("nascore_model_submitted", model=model)

    def resubmit(self, model: ExecutableModelSpace, model_id: int) -> None:
        """Re-run a model whose earlier run died with its process, keeping its id. (It passed the gate when first
        submitted; only its profile is taken again, from the cache where possible.)"""
        if self.gate is not None and self.gate.profile_metrics:
            model.metrics.profile.update(self.gate.profiler.profile(model, self.gate.profile_metrics))
        with self._lock:
            self._models.append(model)
            self._used += 1
        self.record_submission(model, model_id)
        self.engine.submit_models(model)

    def _replay(self, model: ExecutableModelSpace, record: ModelRecord) -> None:
        model.model_id = record.id
        model.metrics.profile.update(record.profile)
        self._replaying.add(id(model))
        try:
            for metric in record.intermediates:
                self.dispatch_model_event(IntermediateMetricEvent(model, metric))
            if record.final is not None:
                self.dispatch_model_event(FinalMetricEvent(model, record.final))
            self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus(record.status),
                                                       reason=record.failure_reason))
        finally:
            self._replaying.discard(id(model))

    # ---- events -------------------------------------------------------------------------------------------
    def dispatch_model_event(self, event: ModelEvent) -> None:
        model = event.model
        recording = id(model) not in self._replaying and model.model_id is not None
        if recording and isinstance(event, TrainingEndEvent) and ModelStatus(event.status) is ModelStatus.Trained:
            # every engine's models pass here: "trained" means a usable final metric, whoever ran the trial
            problem = (final_metric_problem(model.metrics.final, self.objective) if not self.objectives
                       else objectives_problem(model.metrics, self.objectives, self.objective.name))
            if problem is not None:
                _logger.warning("model #%s %s", model.model_id, problem)
                event.status, event.reason = ModelStatus.Failed, problem
        if recording:
            try:
                self._record(event)
            except Exception as exc:  # noqa: BLE001 - never let bookkeeping kill the engine's worker thread
                _logger.exception("could not record %s of %r in the store", type(event).__name__, model)
                if isinstance(exc, StoreError) and self.on_store_error is not None:
                    self.on_store_error(exc)
        super().dispatch_model_event(event)
        if isinstance(event, TrainingEndEvent):
            if not model.status.completed():  # a listener stopped the event; the store has the truth
                model.status = event.status
            if recording:  # a model answered from the store was reported to observers when it ran
                get_plugin_manager().notify("nascore_model_finished", model=model)
            if self.on_model_finished is not None:
                self.on_model_finished(model)

    def _record(self, event: ModelEvent) -> None:
        model_id = event.model.model_id
        worker = getattr(event.model, "worker", None)
        if worker and getattr(event.model, "_nascore_worker_recorded", None) != worker:
            # written with the trial's first event, so a live page shows where a running trial is
            self.store.set_worker(model_id, worker)
            event.model._nascore_worker_recorded = worker  # type: ignore[attr-defined]
        if isinstance(event, IntermediateMetricEvent):
            self.store.add_intermediate(model_id, event.metric, attempt=event.attempt)
        elif isinstance(event, FinalMetricEvent):
            self.store.set_final(model_id, event.metric)
        elif isinstance(event, TrainingEndEvent):
            profile = event.model.metrics.profile
            if "params" not in profile:  # every model's size: counted by its trial here, else built on meta
                params = parameter_count(event.model)
                if params is not None:
                    profile["params"] = params
            if "params" in profile:
                self.store.set_profile(model_id, profile)
            timings = getattr(event.model, "timings", None) or {}
            self.store.end_model(model_id, ModelStatus(event.status).value, event.reason,
                                 start_time=timings.get("start"), end_time=timings.get("end"),
                                 log_path=getattr(event.model, "log_path", None))

    # ---- engine interface ---------------------------------------------------------------------------------
    def list_models(self, status: Optional[ModelStatus] = None) -> List[ExecutableModelSpace]:
        with self._lock:
            models = list(self._models)
        if status is None:
            return models
        status = ModelStatus(status)
        return [m for m in models if m.status is status]

    def budget_available(self) -> bool:
        if self._stopped:
            return False
        if self.max_trial_number is not None and self._used >= self.max_trial_number:
            return False
        return self.engine.budget_available()

    def wait_models(self, *models: ExecutableModelSpace, timeout: Optional[float] = None) -> bool:
        # Replayed models never reach the inner engine; they are complete already.
        flush = getattr(self.engine, "flush", None)  # a batching engine (CGO): whoever waits adds nothing now
        if callable(flush):
            flush()
        return ExecutionEngine.wait_models(self, *models, timeout=timeout)

    def stop(self) -> None:
        self._stopped = True
        self.engine.stop()
        self.notify_changed()

    def shutdown(self) -> None:
        self._stopped = True
        self.engine.shutdown()
        self.notify_changed()

    @property
    def trials_used(self) -> int:
        """Trials submitted so far, earlier sessions included (what the trial budget counts)."""
        return self._used
