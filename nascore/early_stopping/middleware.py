"""``EarlyStoppingMiddleware``: asks an early stopper after each intermediate metric and stops trials for real
through the engine below (``cancel_model``), so it works on every engine and training service."""
from __future__ import annotations

import dataclasses
import logging
from typing import Any, Dict, Iterable, List, Optional, Set

from nascore.engine import ExecutionEngine, IntermediateMetricEvent, Middleware, ModelEvent, TrainingEndEvent
from nascore.metric import Objective
from nascore.space import ExecutableModelSpace, ModelStatus

from .base import EarlyStopper

__all__ = ["EarlyStoppingMiddleware"]

_logger = logging.getLogger(__name__)


class EarlyStoppingMiddleware(Middleware):
    """Wraps ``engine``; ``objective`` says which metric the stopper reads and its direction.

    A trial the stopper stops is cancelled through ``engine.cancel_model``; its end (Interrupted, as every
    cancel ends) is re-dispatched as ``early_stopped`` with the stopper's reason. An engine that cannot stop one
    model alone (``cancel_model`` returns False, e.g. a model merged with others into one CGO trial) lets that
    trial run to its end: the stopper skips it, and says so once in the log.
    """

    def __init__(self, engine: ExecutionEngine, stopper: EarlyStopper, objective: Optional[Objective] = None) -> None:
        super().__init__(engine)
        self.stopper = stopper
        self.objective = objective or Objective()
        self._ids: Dict[int, int] = {}
        self._next_id = 0
        self._stopping: Dict[int, str] = {}
        self._skipped: Set[int] = set()
        self._warned = False
        #: steps (intermediate reports) each finished trial ran, and how many were early-stopped
        self.steps_run: List[int] = []
        self.early_stopped = 0

    def replay(self, records: Iterable[Any]) -> None:
        """Feed finished trials of earlier sessions (store records: ``status``, ``intermediates``) to the stopper
        as if it had watched them, so rungs and medians carry over a resume."""
        for record in records:
            if record.status not in (ModelStatus.Trained.value, ModelStatus.EarlyStopped.value):
                continue
            self._next_id += 1
            scores = [self.objective.score(self.objective.value(m)) for m in record.intermediates]
            for step, score in enumerate(scores, 1):
                self.stopper.report(self._next_id, step, score)
            self.stopper.trial_ended(self._next_id, scores, record.status)

    def _trial(self, model: ExecutableModelSpace) -> int:
        if id(model) not in self._ids:
            self._next_id += 1
            self._ids[id(model)] = self._next_id
        return self._ids[id(model)]

    def _scores(self, model: ExecutableModelSpace) -> List[float]:
        return [self.objective.score(self.objective.value(m)) for m in model.metrics.intermediates]

    def handle_inner_event(self, event: ModelEvent) -> None:
        event.stop_propagation()
        event = dataclasses.replace(event)
        model = event.model
        if isinstance(event, TrainingEndEvent):
            reason = self._stopping.pop(id(model), None)
            if reason is not None and event.status in (ModelStatus.Interrupted, ModelStatus.Failed):
                event.status, event.reason = ModelStatus.EarlyStopped, reason
            self.dispatch_model_event(event)
            self._ended(model, ModelStatus(event.status))
            return
        self.dispatch_model_event(event)
        if isinstance(event, IntermediateMetricEvent):
            self._check(model)

    def _check(self, model: ExecutableModelSpace) -> None:
        key = id(model)
        if key in self._stopping or key in self._skipped:
            return
        scores = self._scores(model)
        if not scores:
            return
        reason = self.stopper.report(self._trial(model), len(scores), scores[-1])
        if reason is None:
            return
        self._stopping[key] = reason
        if self.engine.cancel_model(model, f"early stopped: {reason}"):
            _logger.info("early stopping %r: %s", model, reason)
            return
        self._stopping.pop(key, None)
        self._skipped.add(key)
        if not self._warned:
            self._warned = True
            _logger.warning("%s cannot stop %r alone (e.g. it shares a merged trial with other models); the stopper "
                            "lets such trials run to their end", type(self.engine).__name__, model)

    def _ended(self, model: ExecutableModelSpace, status: ModelStatus) -> None:
        key = id(model)
        self._skipped.discard(key)
        scores = self._scores(model)
        if status in (ModelStatus.Trained, ModelStatus.EarlyStopped):
            self.steps_run.append(len(scores))
            self.early_stopped += status is ModelStatus.EarlyStopped
        self.stopper.trial_ended(self._trial(model), scores, status.value)
        self._ids.pop(key, None)
