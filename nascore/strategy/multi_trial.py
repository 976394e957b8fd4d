"""``MultiTrialStrategy``: the public base of strategies that sample models and submit them one by one.

**What a subclass writes.** :meth:`MultiTrialStrategy.propose` returns the next sample (a dict ``{label:
value}``) or None when nothing new is left; optionally :meth:`~MultiTrialStrategy.on_result` (a model finished),
:meth:`~MultiTrialStrategy.rebuild` (recompute the search state from :attr:`~MultiTrialStrategy.results`) and
:meth:`~MultiTrialStrategy.load_extra_state` / ``state_dict`` for state of its own. The base runs the loop: wait
for an idle worker, check the budget, ``propose``, :meth:`~MultiTrialStrategy.submit_sample`, and at the end wait
for what is still running.

**What it gets.** ``self.space`` is a :class:`~nascore.strategy.sampling.SpaceView` of the model space's mutables
(``draw(rng)``, ``grid()``, ``size()``, ``satisfies_checks(sample)``, the leaves by label); ``self.results`` every
known result (``{"sample", "metric", "status"}``, metric oriented by :meth:`~nascore.strategy.Strategy.score`);
dedup helpers :meth:`~MultiTrialStrategy.is_tried` and :meth:`~MultiTrialStrategy.draw_untried`;
:meth:`~MultiTrialStrategy.wait_for_result` to block until a result arrives.

**Threads.** ``on_result`` is called from the engine's threads, with :attr:`~MultiTrialStrategy.lock` held (a
re-entrant lock), while ``propose`` runs in the strategy's thread without it: hold it (``with self.lock:``) in
``propose`` or anywhere else you read or write state that ``on_result`` touches.

**State and resume.** ``state_dict()`` must return JSON data (dicts, lists, str, numbers, bool, None); the
experiment stores it as JSON, never pickled, every few seconds and at the end. On resume the experiment rebuilds
the strategy by this rule: the same class, constructed with the arguments it was built with, read back from
``nascore.trace`` (a traced class), from ``trace_args``/``trace_kwargs`` attributes, or from attributes named like
the constructor's parameters (``self.population_size = population_size``, or ``self._population_size``). A
parameter that cannot be read back is never guessed: the experiment warns when it starts and resume raises
``ResumeError`` saying which parameter, unless the strategy is passed (``NasExperiment.resume(dir,
strategy=...)``). Then ``load_state_dict(saved_state, models=finished_models)`` runs before ``initialize``:
samples with a result (in the state or among ``models``) are never submitted again; samples that were still
running (no result, or interrupted) may run again. Completed models already listed by the engine at
``initialize`` are taken in the same way.
"""
from __future__ import annotations

import logging
import random as _random
import threading
from abc import abstractmethod
from typing import Any, Dict, Iterable, List, Optional

from nascore.constraints import InfeasibleModelError, InfeasibleSpaceError
from nascore.engine import ExecutionEngine, ModelEvent, ModelEventType
from nascore.metric import is_valid_metric
from nascore.mutable import Sample
from nascore.space import ExecutableModelSpace, ModelStatus
from nascore.strategy.base import Strategy
from nascore.strategy.sampling import SpaceView, sample_key

__all__ = ["MultiTrialStrategy"]

_logger = logging.getLogger(__name__)

#: default bound on consecutive proposals that break a constraint (see ``MultiTrialStrategy.max_rejections``)
MAX_REJECTIONS = 500

#: statuses that are a result of the sample (never re-run); Interrupted is not one
RESULT_STATUSES = (ModelStatus.Trained, ModelStatus.Failed, ModelStatus.Invalid, ModelStatus.EarlyStopped)
#: statuses whose result has a usable metric (an early-stopped model's is its best intermediate metric)
SCORED_STATUSES = (ModelStatus.Trained.value, ModelStatus.EarlyStopped.value)


class MultiTrialStrategy(Strategy):
    """Base of strategies that sample models and submit them to an engine one by one."""

    kind = "multi-trial"
    #: seconds between checks of stop() while waiting on the engine
    poll_interval: float = 0.2

    def __init__(self, dedup: bool = True, max_duplicate_draws: int = 100) -> None:
        super().__init__()
        self.dedup = dedup
        #: proposals in a row that break a constraint after which the space counts as having no feasible model
        self.max_rejections = MAX_REJECTIONS
        #: models refused before training because they break a constraint (they cost no trial)
        self.rejected = 0
        self._rejected_in_a_row = 0
        self._last_rejection: Optional[str] = None
        #: consecutive random draws of already tried samples after which the space counts as exhausted
        self.max_duplicate_draws = max_duplicate_draws
        self.space: Optional[SpaceView] = None
        self.exhausted = False
        self._lock = threading.RLock()
        self._result_arrived = threading.Condition(self._lock)
        self._tried: Dict[str, Sample] = {}          # key -> sample, in submission order
        self._results: List[Dict[str, Any]] = []      # {"sample", "metric", "status"}, in finishing order
        self._result_keys: set = set()
        self._submitted: List[ExecutableModelSpace] = []
        self._listening_to: Optional[ExecutionEngine] = None

    # ---- lifecycle -----------------------------------------------------------------------------------
    def initialize(self, model_space: ExecutableModelSpace, engine: ExecutionEngine, **kwargs: Any) -> None:
        super().initialize(model_space, engine, **kwargs)
        self.space = SpaceView(model_space.simplify())
        self.exhausted = False
        self._submitted = []
        if self._listening_to is not engine:
            if self._listening_to is not None:
                self._listening_to.unregister_model_event_callback(ModelEventType.TrainingEnd, self._on_training_end)
            engine.register_model_event_callback(ModelEventType.TrainingEnd, self._on_training_end)
            self._listening_to = engine
        with self._lock:
            for model in engine.list_models():
                if model.sample is None:
                    continue
                if model.status in RESULT_STATUSES:
                    self._add_model_result(model, replayed=True)
                elif not model.status.completed():  # still running in this engine: wait for its result
                    self._tried.setdefault(self.key(model.sample), dict(model.sample))
                    self._submitted.append(model)
            self.rebuild()

    def run(self) -> None:
        """Wait for an idle worker, check the budget, propose, submit; then wait for the submitted models."""
        engine = self.engine
        while not self.stopped and engine.budget_available():
            if not engine.wait_for_idle_worker(timeout=self.poll_interval):
                continue
            if self.stopped or not engine.budget_available():
                break
            sample = self.propose()
            if sample is None:
                if not self.stopped:
                    self.exhausted = True
                    _logger.info("%s: the search space is exhausted after %d samples", type(self).__name__,
                                 len(self._tried))
                    self._check_some_feasible()
                break
            self.submit_sample(sample)
            if self._rejected_in_a_row >= self.max_rejections:
                raise InfeasibleSpaceError(
                    f"{type(self).__name__}: {self._rejected_in_a_row} proposals in a row broke a constraint "
                    f"(last: {self._last_rejection}); the constraints leave (almost) no model in this space. "
                    f"Loosen them, or raise strategy.max_rejections (now {self.max_rejections})")
        while not self.stopped and self._submitted:
            if engine.wait_models(*self._submitted, timeout=self.poll_interval):
                break

    # ---- what subclasses implement -------------------------------------------------------------------
    @abstractmethod
    def propose(self) -> Optional[Sample]:
        """The next sample to submit, or None when nothing new is left."""

    def on_result(self, sample: Sample, metric: Optional[float], status: str, replayed: bool) -> None:
        """A result arrived (``replayed``: from a resumed state / earlier models). Called under the lock."""

    def on_record(self, record: Dict[str, Any], replayed: bool) -> None:
        """A result arrived, as the whole record (``sample``, ``metric``, ``status`` and ``values``: each
        objective's value, or None). Called under the lock; by default calls :meth:`on_result`."""
        self.on_result(record["sample"], record["metric"], record["status"], replayed)

    def rebuild(self) -> None:
        """Recompute the search state from ``self.results`` (after initialize / load_state_dict)."""

    # ---- helpers for subclasses ----------------------------------------------------------------------
    @property
    def lock(self) -> threading.RLock:
        """The re-entrant lock held while ``propose`` and ``on_result`` run; hold it for state they share."""
        return self._lock

    @property
    def tried_samples(self) -> List[Sample]:
        """Every sample submitted or with a result, in submission order (copies)."""
        with self._lock:
            return [dict(s) for s in self._tried.values()]

    @property
    def num_tried(self) -> int:
        """How many distinct samples were submitted or have a result."""
        return len(self._tried)

    @property
    def results(self) -> List[Dict[str, Any]]:
        """Every known result in finishing order: dicts with ``sample``, ``metric`` and ``status``."""
        return self._results

    def trial_budget(self) -> Optional[int]:
        """The experiment's ``max_trial_number`` as the engine (or the middleware over it) counts it; None when
        unlimited or unknown. Strategies size their defaults with it (population, start-up trials)."""
        engine: Any = self._engine
        while engine is not None:
            budget = getattr(engine, "budget", None)
            if budget is not None and getattr(budget, "max_trial_number", None) is not None:
                return int(budget.max_trial_number)
            engine = getattr(engine, "engine", None)  # a middleware: look at the engine below
        return None

    def is_tried(self, sample: Sample) -> bool:
        """True when ``sample`` was submitted or has a result (compared by :meth:`key`)."""
        return self.key(sample) in self._tried

    def key(self, sample: Sample) -> str:
        """The dedup key of ``sample``: that of its canonical form (``model_space.canonical_sample``), so two
        samples that differ only in choices the built model does not use are the same architecture."""
        return sample_key(self.canonical(sample))

    def canonical(self, sample: Sample) -> Sample:
        """``sample`` in canonical form (unchanged when the model space cannot say)."""
        canonical = getattr(self.model_space, "canonical_sample", None)
        return canonical(sample) if callable(canonical) else sample

    def num_pending(self) -> int:
        """How many submitted models have not finished yet."""
        return sum(1 for m in self._submitted if not m.status.completed())

    def draw_untried(self, rng: _random.Random) -> Optional[Sample]:
        """A random sample not tried yet (any sample when ``dedup`` is off); None when the space is exhausted:
        every point of a finite space was tried, or ``max_duplicate_draws`` draws in a row were repeats."""
        assert self.space is not None
        if not self.dedup:
            return self.space.draw(rng)
        size = self.space.size()
        if size is not None and len(self._tried) >= size:
            return None
        for _ in range(self.max_duplicate_draws):
            sample = self.space.draw(rng)
            if self.key(sample) not in self._tried:
                return sample
        if size is not None:  # a countable space with a few points left: find them rather than guess
            return next((s for s in self.space.grid(None, rng) if self.key(s) not in self._tried), None)
        return None

    def wait_for_result(self, timeout: float) -> None:
        """Block until a result arrives, ``timeout`` passes or ``stop()`` is called."""
        with self._result_arrived:
            if not self.stopped:
                self._result_arrived.wait(timeout)

    def submit_sample(self, sample: Sample) -> Optional[ExecutableModelSpace]:
        """Freeze ``sample`` and submit it; a sample the format rejects becomes an Invalid result."""
        sample = self.canonical(sample)  # what the store and dedup see: one sample per architecture
        key = sample_key(sample)
        with self._lock:
            self._tried[key] = dict(sample)
        try:
            model = self.model_space.freeze(sample)  # type: ignore[union-attr]
        except ValueError as exc:  # SampleValidationError is a ValueError
            _logger.warning("%s: sample %s is rejected by the model space: %s", type(self).__name__, sample, exc)
            with self._lock:
                self._add_result(sample, None, ModelStatus.Invalid.value, replayed=False)
            return None
        self._submitted.append(model)
        try:
            self.engine.submit_models(model)
        except InfeasibleModelError as exc:
            self._submitted.remove(model)
            with self._lock:
                self.rejected += 1
                self._rejected_in_a_row += 1
                self._last_rejection = exc.reasons[0] if exc.reasons else str(exc)
                self.on_rejected(sample, self._last_rejection)
            _logger.debug("%s: %s", type(self).__name__, exc)
            return None
        self._rejected_in_a_row = 0
        return model

    def on_rejected(self, sample: Sample, reason: str) -> None:
        """``sample`` was refused before training: it breaks a constraint (it is not proposed again; it has no
        result). Called under the lock."""

    def _check_some_feasible(self) -> None:
        if self.rejected and not self._results and not self._submitted:
            raise InfeasibleSpaceError(
                f"{type(self).__name__}: every one of the {self.rejected} models of the space that were tried broke "
                f"a constraint (last: {self._last_rejection}); no model can be trained. Loosen the constraints")

    # ---- results -------------------------------------------------------------------------------------
    def _on_training_end(self, event: ModelEvent) -> None:
        model = event.model
        if model.sample is None:
            return
        status = ModelStatus(getattr(event, "status", ModelStatus.Trained))
        with self._lock:
            self._add_model_result(model, replayed=False, status=status)

    def _add_model_result(self, model: ExecutableModelSpace, replayed: bool,
                          status: Optional[ModelStatus] = None) -> None:
        status = status or model.status
        trained = status is ModelStatus.Trained
        metric = self.metric_of(model) if trained else \
            self.best_intermediate(model) if status is ModelStatus.EarlyStopped else None
        self._add_result(model.sample, metric, status.value, replayed,
                         values=self.objective_values(model) if trained else None)

    def best_intermediate(self, model: ExecutableModelSpace) -> Optional[float]:
        """The best of a model's intermediate metrics by the objective (None when it reported none): what an
        early-stopped model is ranked by."""
        objective = self.objective
        values = [objective.value(m) for m in model.metrics.intermediates]
        valid = [v for v in values if is_valid_metric(v)]
        return max(valid, key=objective.score) if valid else None

    def _add_result(self, sample: Sample, metric: Optional[float], status: str, replayed: bool,
                    values: Optional[List[float]] = None) -> None:
        key = self.key(sample)
        if replayed and key in self._result_keys:
            return
        self._tried.setdefault(key, dict(sample))
        record = {"sample": dict(sample), "metric": metric, "status": status, "values": values}
        self._results.append(record)
        self._result_keys.add(key)
        try:
            self.on_record(record, replayed)
        finally:
            self._result_arrived.notify_all()

    # ---- resume --------------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        with self._lock:
            return {"strategy": type(self).__name__, "version": 1,
                    "tried": list(self._tried.values()),
                    "results": [dict(r) for r in self._results]}

    def load_state_dict(self, state: Optional[Dict[str, Any]],
                        models: Iterable[ExecutableModelSpace] = ()) -> None:
        state = state or {}
        if state.get("strategy", type(self).__name__) != type(self).__name__:
            raise ValueError(f"this state was saved by strategy {state['strategy']!r}, not "
                             f"{type(self).__name__!r}; resume with the strategy the experiment was started with")
        with self._lock:
            self._tried, self._results, self._result_keys = {}, [], set()
            for record in state.get("results", []):
                if ModelStatus(record["status"]) in RESULT_STATUSES:
                    self._add_result(record["sample"], record.get("metric"), record["status"], replayed=True,
                                     values=record.get("values"))
            for model in models:
                if model.sample is not None and model.status in RESULT_STATUSES:
                    self._add_model_result(model, replayed=True)
            self.load_extra_state(state)
            if self._engine is not None:
                self.rebuild()

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        """Subclasses restore their own entries of ``state`` here (rng, granularity ...)."""
