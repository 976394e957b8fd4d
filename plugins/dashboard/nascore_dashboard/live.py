"""The experiment running in this process, as the observer hooks show it: its object (to stop it, cancel a trial)
and its model objects (to show a live model's module tree and parameter count)."""
from __future__ import annotations

import threading
import weakref
from typing import Any, Dict, Optional

__all__ = ["LiveExperiment", "track", "LIVE"]


class LiveExperiment:
    """One experiment run by this process while a dashboard serves it."""

    def __init__(self, experiment: Any) -> None:
        self.experiment = experiment
        self._models: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return str(self.experiment.directory.name)

    @property
    def running(self) -> bool:
        return self.experiment.status == "running"

    def add_model(self, model: Any) -> None:
        if getattr(model, "model_id", None) is None:
            return
        with self._lock:
            try:
                self._models[int(model.model_id)] = model
            except TypeError:  # an object that cannot be weakly referenced: not worth keeping alive
                pass

    def model(self, model_id: int) -> Optional[Any]:
        with self._lock:
            return self._models.get(int(model_id))

    def stop(self) -> bool:
        if not self.running:
            return False
        # stop() joins trials and waits for the engine; the request returns at once and the page follows the
        # status through the event stream
        threading.Thread(target=self.experiment.stop, name="nascore-dashboard-stop", daemon=True).start()
        return True

    def cancel(self, model_id: int) -> bool:
        return bool(self.experiment.cancel_trial(int(model_id), "cancelled from the dashboard"))


class _Registry:
    """Live experiments by their object, fed by the observer hooks."""

    def __init__(self) -> None:
        self._by_experiment: Dict[int, LiveExperiment] = {}
        self._current: Optional[LiveExperiment] = None
        self._lock = threading.Lock()

    def get(self, experiment: Any) -> LiveExperiment:
        with self._lock:
            live = self._by_experiment.get(id(experiment))
            if live is None or live.experiment is not experiment:
                live = self._by_experiment[id(experiment)] = LiveExperiment(experiment)
            return live

    def started(self, experiment: Any) -> None:
        self._current = self._by_experiment.get(id(experiment))

    def model(self, model: Any) -> None:
        current = self._current  # models belong to the experiment that is running in this process
        if current is not None:
            current.add_model(model)

    def finished(self, experiment: Any) -> None:
        if self._current is not None and self._current.experiment is experiment:
            self._current = None


LIVE = _Registry()


def track(experiment: Any) -> LiveExperiment:
    """Follow ``experiment`` (a dashboard serves it); the hooks then fill in its models."""
    live = LIVE.get(experiment)
    if experiment.status == "running":  # served after it started (a dashboard attached mid-run)
        LIVE.started(experiment)
    return live
