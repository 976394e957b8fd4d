"""The ``cgo`` middleware: queues graph models, merges batches of them into one trial on the inner ``ts``
engine, and turns the merged trial's events back into ordinary per-model events.

Flow: ``submit_models`` queues (returns at once). A background thread flushes a batch when it holds
``max_concurrency_cgo`` models, when the oldest has waited ``batch_waiting_time``, when the budget is used up
or when someone waits for queued models -- and only while the inner engine has an idle worker, so batches
fill up while trials run. A batch becomes a logical plan, the configured optimizers rewrite it, models are
placed on devices, and the merged model is submitted. Its metrics are ``{"default", "per_model": [...]}``
dicts; each original model gets its own value. Intermediate results are held back until the merged trial
succeeds, so a failed merged run leaves nothing behind: every model of it is then re-run alone.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any, Dict, List, Optional

from nascore.engine import (Budget, ExecutionEngine, FinalMetricEvent, IntermediateMetricEvent, Middleware,
                            ModelEvent, TrainingEndEvent)
from nascore.plugins import get_plugin_manager
from nascore.space import ExecutableModelSpace, ModelStatus

from .config import CgoConfig, resolve_devices
from .evaluators import CgoEvaluatorError, merge_info
from .merged import MergedModelSpace
from .plan import LogicalPlan, load_optimizers

__all__ = ["CgoMiddleware", "CgoStoppedError"]

_logger = logging.getLogger(__name__)
_POLL = 0.5  # seconds between re-checks of the inner engine's capacity (events also wake the thread)


class CgoStoppedError(RuntimeError):
    """A model was submitted after the middleware was stopped."""


@dataclasses.dataclass
class _MergedRun:
    originals: List[ExecutableModelSpace]
    intermediates: List[List[Any]]
    finals: List[Any]


class CgoMiddleware(Middleware):
    """``factory(config)`` of the ``cgo`` middleware; ``config`` is the experiment config (or a bare
    :class:`CgoConfig` for tests). The inner engine comes from ``set_engine``."""

    def __init__(self, config: Any = None) -> None:
        super().__init__()
        self.config = config
        settings = getattr(config, "execution_engine", None)
        self.settings: CgoConfig = settings if isinstance(settings, CgoConfig) else \
            (config if isinstance(config, CgoConfig) else CgoConfig())
        self.devices: List[str] = resolve_devices(config) if config is not None and \
            not isinstance(config, CgoConfig) else list(self.settings.devices or ["cpu"])
        self.optimizers = load_optimizers(self.settings.optimizers)
        self.budget = Budget.from_config(config)  # counts original models, not trials
        self._prepare_remote(config)
        self._cv = threading.Condition()
        self._queue: List[tuple] = []  # (model, time queued)
        self._models: List[ExecutableModelSpace] = []
        self._originals: Dict[int, ExecutableModelSpace] = {}
        self._runs: Dict[int, _MergedRun] = {}
        self._flush_count = 0  # models to send without waiting for company (flush() / wait_models())
        self._stopped = False
        self._checked = False
        self._thread: Optional[threading.Thread] = None

    @staticmethod
    def _prepare_remote(config: Any) -> None:
        # A merged trial places models on every GPU of its machine, so it must get them all.
        service = getattr(config, "training_service", None)
        if getattr(service, "name", None) == "remote" and getattr(service, "trial_gpu_number", 0) is None:
            if any(m.gpu_indices for m in service.machine_list):
                service.trial_gpu_number = -1

    def set_engine(self, engine: ExecutionEngine) -> None:
        super().set_engine(engine)
        # The inner engine runs merged trials and re-runs; the trial budget is counted here, per model.
        if isinstance(getattr(engine, "budget", None), Budget):
            engine.budget = Budget(None, None)

    # ---- submission -------------------------------------------------------------------------------------
    def submit_models(self, *models: ExecutableModelSpace) -> None:
        for model in models:
            self._check_model(model)
        now = time.monotonic()
        with self._cv:
            for model in models:
                if self._stopped:
                    raise CgoStoppedError(f"the cgo middleware was stopped; {model!r} was not run")
                if not self.budget.available():
                    raise RuntimeError(f"experiment budget used up; {model!r} was not run. Check "
                                       "budget_available() before submitting")
                self.budget.consume()
                if id(model) not in self._originals:
                    self._originals[id(model)] = model
                    self._models.append(model)
                else:
                    model.metrics.clear()
                    model.failure_reason = None
                self._queue.append((model, now))
            self._ensure_thread()
            self._cv.notify_all()

    def _check_model(self, model: ExecutableModelSpace) -> None:
        if not isinstance(model, ExecutableModelSpace) or not model.status.frozen():
            raise TypeError(f"submit_models() takes frozen models (space.freeze(sample)), got {model!r}")
        if model.format_name != "graph":
            raise ValueError(f"execution engine 'cgo' merges graph models; {model!r} is format "
                             f"'{model.format_name}'. Use NasExperimentConfig('cgo', 'graph', ...)")
        if not self._checked:
            merge_info(model.evaluator)  # CgoEvaluatorError says which evaluators fit
            self._checked = True

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._flush_loop, name="nascore-cgo-batcher", daemon=True)
            self._thread.start()

    # ---- batching ---------------------------------------------------------------------------------------
    def _ready(self) -> bool:
        """Whether the queue should be flushed now (caller holds the condition)."""
        if not self._queue:
            return False
        if not self.engine.idle_worker_available():
            return False
        if len(self._queue) >= self.settings.max_concurrency_cgo or self._flush_count > 0 or \
                not self.budget.available():
            return True
        return time.monotonic() - self._queue[0][1] >= self.settings.batch_waiting_time

    def _flush_loop(self) -> None:
        while True:
            with self._cv:
                while not self._stopped and not self._ready():
                    timeout = _POLL
                    if self._queue:
                        left = self.settings.batch_waiting_time - (time.monotonic() - self._queue[0][1])
                        timeout = max(0.01, min(_POLL, left))
                    self._cv.wait(timeout)
                if self._stopped:
                    return
                batch = [m for m, _ in self._queue[:self.settings.max_concurrency_cgo]]
                del self._queue[:len(batch)]
                self._flush_count = max(0, self._flush_count - len(batch))
            try:
                self._launch(batch)
            except Exception as exc:  # noqa: BLE001 - a batch that cannot be built fails its models, not CGO
                _logger.exception("cgo could not launch a batch of %d model(s)", len(batch))
                for model in batch:
                    self._end(model, ModelStatus.Failed, f"cgo could not launch the model: {exc}")
            self.notify_changed()

    def _launch(self, batch: List[ExecutableModelSpace]) -> None:
        """Group the batch by training loop; merge each group of two or more, run singletons plainly."""
        groups: Dict[str, List[ExecutableModelSpace]] = {}
        for model in batch:
            try:
                key = merge_info(model.evaluator).trial_key
            except CgoEvaluatorError:
                key = f"alone-{id(model)}"
            groups.setdefault(key, []).append(model)
        for models in groups.values():
            if len(models) == 1:
                self._submit_plain(models[0])
                continue
            merged = self.build_merged(models)
            # results come back in the merged model's order, which an optimizer may have changed
            run = _MergedRun(list(merged.models), [[] for _ in models], [None] * len(models))
            with self._cv:
                self._runs[id(merged)] = run
            started = time.time()
            for model in models:
                model.timings = {"start": started, "end": None}  # type: ignore[attr-defined]
                self.mark_training(model)
            try:
                self.engine.submit_models(merged)
            except Exception:
                with self._cv:
                    self._runs.pop(id(merged), None)
                raise

    def build_merged(self, models: List[ExecutableModelSpace]) -> MergedModelSpace:
        """Logical plan → optimizers → placement → merged model (public for tests and tools)."""
        plan = LogicalPlan.from_models(models)
        for name, optimizer in self.optimizers:
            optimizer.convert(plan)
            plan.check(models, f"'{name}' ({type(optimizer).__name__})")
        plan.place(self.devices)
        return plan.to_merged()

    def _submit_plain(self, model: ExecutableModelSpace) -> None:
        try:
            self.engine.submit_models(model)
        except Exception as exc:  # noqa: BLE001 - e.g. the inner engine was stopped meanwhile
            self._end(model, ModelStatus.Interrupted if self._stopped else ModelStatus.Failed,
                      f"{type(exc).__name__}: {exc}")

    # ---- events of the inner engine -----------------------------------------------------------------------
    def handle_inner_event(self, event: ModelEvent) -> None:
        event.stop_propagation()  # the inner default handler never applies; this engine decides
        run = self._runs.get(id(event.model))
        if run is None:
            self.dispatch_model_event(dataclasses.replace(event))  # a model running on its own
        elif isinstance(event, IntermediateMetricEvent):
            for i, value in enumerate(_split(event.metric, len(run.originals))):
                if value is not None:
                    run.intermediates[i].append(value)
        elif isinstance(event, FinalMetricEvent):
            run.finals = _split(event.metric, len(run.originals))
        elif isinstance(event, TrainingEndEvent):
            with self._cv:
                self._runs.pop(id(event.model), None)
            self._merged_ended(event, run)
        with self._cv:
            self._cv.notify_all()

    def _merged_ended(self, event: TrainingEndEvent, run: _MergedRun) -> None:
        merged = event.model
        for model in run.originals:
            model.trial_id = getattr(merged, "trial_id", None)  # type: ignore[attr-defined]
            model.log_path = getattr(merged, "log_path", None)  # type: ignore[attr-defined]
            timings = getattr(model, "timings", None) or {}
            model.timings = {"start": timings.get("start"), "end": time.time()}  # type: ignore[attr-defined]
        if event.status is ModelStatus.Trained:
            for i, model in enumerate(run.originals):
                for value in run.intermediates[i]:
                    self.dispatch_model_event(IntermediateMetricEvent(model, value))
                if run.finals[i] is not None:
                    self.dispatch_model_event(FinalMetricEvent(model, run.finals[i]))
                self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus.Trained))
        elif event.status is ModelStatus.Failed and not self._stopped:
            _logger.warning("merged trial of %d models failed (%s); re-running each model alone",
                            len(run.originals), event.reason)
            pm = get_plugin_manager()
            for model in run.originals:
                model.metrics.clear()
                model.status = ModelStatus.Frozen
                model.failure_reason = None
                pm.notify("nascore_model_submitted", model=model)  # observers see the re-run
                self._submit_plain(model)
        else:
            for model in run.originals:
                self._end(model, event.status, event.reason)

    def _end(self, model: ExecutableModelSpace, status: ModelStatus, reason: Optional[str]) -> None:
        self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus(status), reason=reason))

    # ---- engine interface ---------------------------------------------------------------------------------
    def list_models(self, status: Optional[ModelStatus] = None) -> List[ExecutableModelSpace]:
        models = list(self._models)
        return models if status is None else [m for m in models if m.status is ModelStatus(status)]

    def idle_worker_available(self) -> bool:
        return not self._stopped and len(self._queue) < self.settings.max_concurrency_cgo and \
            self.engine.budget_available()

    def query_available_resources(self) -> int:
        return 0 if self._stopped else max(0, self.settings.max_concurrency_cgo - len(self._queue))

    def budget_available(self) -> bool:
        return not self._stopped and self.budget.available() and self.engine.budget_available()

    def flush(self) -> None:
        """Merge what is queued now, as soon as the inner engine has an idle worker, without waiting for
        more models (the experiment calls this when it waits for results: nothing more comes meanwhile)."""
        with self._cv:
            self._flush_count = len(self._queue)
            self._cv.notify_all()

    def wait_models(self, *models: ExecutableModelSpace, timeout: Optional[float] = None) -> bool:
        self.flush()
        return ExecutionEngine.wait_models(self, *models, timeout=timeout)

    def wait_for_idle_worker(self, timeout: Optional[float] = None) -> bool:
        return ExecutionEngine.wait_for_idle_worker(self, timeout)

    def stop(self) -> None:
        self._halt()
        self.engine.stop()
        self.notify_changed()

    def shutdown(self) -> None:
        self._halt()
        self.engine.shutdown()
        self.notify_changed()

    def _halt(self) -> None:
        with self._cv:
            self._stopped = True
            queued, self._queue = [m for m, _ in self._queue], []
            self._cv.notify_all()
        for model in queued:
            self._end(model, ModelStatus.Interrupted, "the engine stopped before the model started")
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)


def _split(metric: Any, n: int) -> List[Any]:
    """One value per model from a merged metric (``{"per_model": [...]}`` or a list)."""
    values = metric.get("per_model") if isinstance(metric, dict) else metric
    if not isinstance(values, (list, tuple)) or len(values) != n:
        _logger.warning("a merged trial reported %r, expected %d per-model values; ignored", metric, n)
        return [None] * n
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in values]
