"""A small kit for testing strategies (part of :mod:`nascore.testing`'s offer to plugin authors).

Two levels:

* No plugins at all: :class:`DictSpace` is an ExecutableModelSpace over a ``nascore.mutable`` structure (a frozen
  model's value is the frozen structure), :class:`FunctionEngine` evaluates ``objective(sample)`` for each
  submitted model (at once, or in worker threads) and dispatches real model events; :func:`make_space` and
  :func:`peak` (a separable objective with a known optimum) make a search problem; :func:`search` runs a
  strategy on them and returns the models.
* A real experiment: :class:`ToySpace` (a ``nascore.nn.ModelSpace`` with three choices, no training needed) and
  :func:`toy_evaluator` (a FunctionalEvaluator scoring a model by its choices), both importable by module path, so
  they run on every engine and format: ``NasExperiment(ToySpace(), toy_evaluator(), MyStrategy(), config)``.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional

from nascore.engine import (Budget, ExecutionEngine, FinalMetricEvent, IntermediateMetricEvent,
                            TrainingEndEvent)
from nascore.mutable import Categorical, Mutable, MutableDict, Numerical, ensure_frozen
from nascore.nn import ModelSpace
from nascore.space import ExecutableModelSpace, ModelStatus

__all__ = ["DictSpace", "FunctionEngine", "make_space", "peak", "TARGET", "search", "ToySpace", "toy_score",
           "toy_evaluator", "toy_curve", "toy_curve_evaluator", "read_toy_log",
           "check_early_stopped_run"]


class DictSpace(ExecutableModelSpace):
    format_name = "test-dict"

    def __init__(self, space: Mutable, evaluator: Any = None) -> None:
        super().__init__(evaluator)
        self.space = space
        self.value: Any = None

    def simplify(self, is_leaf=None):
        return self.space.simplify(is_leaf)

    def freeze(self, sample):
        self.validate(sample)
        return self._freeze(sample)

    def _freeze(self, sample):
        frozen = DictSpace(self.space, self.evaluator)
        frozen.value = self.space.freeze(sample)
        return self._mark_frozen(frozen, sample)

    def executable_model(self):
        return self.value


class FunctionEngine(ExecutionEngine):
    """``objective(sample)`` returns the final metric (None: no metric); raising makes the model Failed."""

    def __init__(self, objective: Callable[[dict], Optional[float]], max_trials: Optional[int] = None,
                 workers: int = 0) -> None:
        super().__init__()
        self.objective = objective
        self.budget = Budget(max_trial_number=max_trials)
        self.models: List[ExecutableModelSpace] = []
        self.workers = workers
        self._running = 0
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(workers) if workers else None

    def submit_models(self, *models):
        for model in models:
            if not self.budget.available():
                raise RuntimeError("budget exhausted: the strategy submitted past budget_available()")
            self.budget.consume()
            self.models.append(model)
            self.mark_training(model)
            if self._pool is None:
                self._train(model)
            else:
                with self._lock:
                    self._running += 1
                self._pool.submit(self._train, model)

    def _train(self, model):
        try:
            value = self.objective(model.sample)
            if value is not None:
                self.dispatch_model_event(IntermediateMetricEvent(model, metric=value))
                self.dispatch_model_event(FinalMetricEvent(model, metric=value))
            self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus.Trained))
        except Exception as exc:  # noqa: BLE001 - an objective failure is the model's failure
            self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus.Failed, reason=repr(exc)))
        finally:
            if self._pool is not None:
                with self._lock:
                    self._running -= 1
                self.notify_changed()

    def list_models(self, status=None):
        return [m for m in self.models if status is None or m.status == status]

    def idle_worker_available(self):
        return self._pool is None or self._running < self.workers

    def budget_available(self):
        return self.budget.available()

    def shutdown(self):
        if self._pool is not None:
            self._pool.shutdown(wait=True)


def make_space(n: int = 6, k: int = 10, numerical: bool = False) -> DictSpace:
    """A DictSpace of ``n`` categorical choices ``x0..`` with ``k`` values each (plus ``lr`` in [0, 1] when
    ``numerical``)."""
    items = {f"x{i}": Categorical(list(range(k)), label=f"x{i}") for i in range(n)}
    if numerical:
        items["lr"] = Numerical(0.0, 1.0, label="lr")
    return DictSpace(MutableDict(items))


TARGET = [7, 2, 9, 4, 0, 5, 3, 8]


def peak(sample: dict) -> float:
    """A separable objective with its maximum 0 at TARGET (and lr = 0.3)."""
    score = -sum(abs(sample[f"x{i}"] - TARGET[i]) for i in range(8) if f"x{i}" in sample)
    if "lr" in sample:
        score -= abs(sample["lr"] - 0.3)
    return float(score)


def search(strategy: Any, trials: int = 30, workers: int = 0, space: Optional[DictSpace] = None,
           objective: Callable[[dict], Optional[float]] = None) -> List[ExecutableModelSpace]:
    """Run ``strategy`` on ``space`` (default :func:`make_space`) with a :class:`FunctionEngine` for ``trials``
    models of ``objective`` (default :func:`peak`); returns the engine's models in submission order."""
    engine = FunctionEngine(objective or peak, max_trials=trials, workers=workers)
    try:
        strategy(space or make_space(), engine)
    finally:
        engine.shutdown()
    return engine.models


class ToySpace(ModelSpace):
    """27 models: ``a``, ``b``, ``c`` each in 0..2; nothing to train."""

    def __init__(self) -> None:
        super().__init__()
        self.a = ensure_frozen(Categorical([0, 1, 2], label="a"))
        self.b = ensure_frozen(Categorical([0, 1, 2], label="b"))
        self.c = ensure_frozen(Categorical([0, 1, 2], label="c"))

    def forward(self, x: Any) -> Any:
        """The input, unchanged (the kit scores choices, not outputs)."""
        return x


def toy_score(model: Any) -> float:
    """The best model is a=2, b=0, c=1 (score 0); each step away costs 1."""
    return -float(abs(model.a - 2) + abs(model.b - 0) + abs(model.c - 1))


def toy_evaluator() -> Any:
    """A FunctionalEvaluator of :func:`toy_score` (importable by module path: runs in trial processes too)."""
    from nascore.evaluator import FunctionalEvaluator
    return FunctionalEvaluator(toy_score)


def toy_curve(model: Any, epochs: int = 10, seconds_per_epoch: float = 0.0, log: Optional[str] = None) -> float:
    """A learning curve for early-stopping tests: one intermediate metric per "epoch", rising towards
    ``7 + toy_score(model)`` (better models are better at every epoch), optionally sleeping per epoch; the
    final metric is the last epoch's.

    ``log``: a file every trial appends its life to (``start``, one ``epoch`` line per epoch, ``end``), with
    its process id and the processes of earlier unfinished trials still alive when it started, so a test sees
    which process ran each trial and whether a stopped trial's process was gone (or free) before the next began
    (:func:`read_toy_log` reads it back).
    """
    import time

    from nascore.trial import report_final_result, report_intermediate_result
    sample = f"{model.a},{model.b},{model.c}"
    if log:
        busy = [t["pid"] for t in read_toy_log(log) if not t["ended"] and _alive(t["pid"])]
        _log_line(log, f"start {os.getpid()} {time.time():.6f} {sample} "
                  + ",".join(str(p) for p in busy if p != os.getpid()))
    value = 0.0
    for epoch in range(1, epochs + 1):
        if seconds_per_epoch:
            time.sleep(seconds_per_epoch)
        value = (7.0 + toy_score(model)) * (1.0 - 0.7 ** epoch)
        if log:
            _log_line(log, f"epoch {os.getpid()} {epoch}")
        report_intermediate_result(value)
    report_final_result(value)
    if log:
        _log_line(log, f"end {os.getpid()}")
    return value


def _log_line(path: str, line: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())  # one write per line: concurrent trials never interleave within one
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie, killed but not yet reaped, is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): ask the kernel
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True


def read_toy_log(path: str) -> List[Dict[str, Any]]:
    """The trials a :func:`toy_curve` ``log`` recorded, in start order: ``{"pid", "time" (of its start),
    "sample" ("a,b,c"), "epochs" (run), "ended" (reached its end), "busy" (pids of earlier unfinished trials
    alive at its start)}``."""
    trials: List[Dict[str, Any]] = []
    current: Dict[int, Dict[str, Any]] = {}  # a process's latest trial (a warm worker runs several in turn)
    if not os.path.exists(path):
        return trials
    with open(path) as f:
        for line in f.read().splitlines():
            kind, pid, *rest = line.split(" ")
            if kind == "start":
                busy = [int(p) for p in rest[2].split(",") if p] if len(rest) > 2 else []
                current[int(pid)] = {"pid": int(pid), "time": float(rest[0]), "sample": rest[1], "epochs": 0,
                                     "ended": False, "busy": busy}
                trials.append(current[int(pid)])
            elif kind == "epoch":
                current[int(pid)]["epochs"] = int(rest[0])
            elif kind == "end":
                current[int(pid)]["ended"] = True
    return trials


def toy_curve_evaluator(epochs: int = 10, seconds_per_epoch: float = 0.0, log: Optional[str] = None) -> Any:
    """A FunctionalEvaluator of :func:`toy_curve` (runs on every engine)."""
    from nascore.evaluator import FunctionalEvaluator
    return FunctionalEvaluator(toy_curve, epochs=epochs, seconds_per_epoch=seconds_per_epoch,
                               log=None if log is None else str(log))


def check_early_stopped_run(exp: Any, log: str, epochs: int, one_at_a_time: bool = True) -> List[Any]:
    """Assert what early stopping promises of a finished experiment of :func:`toy_curve_evaluator` trials that
    wrote ``log``; the early-stopped store records. Every model ended trained or early_stopped; an early-stopped one
    kept its intermediate metrics (fewer than ``epochs``), has no final metric, and its process never reached the
    trial's end; the strategy scored it by its best intermediate metric. ``one_at_a_time`` (one trial at a time):
    no earlier unfinished trial's process was still busy when a trial started (a stopped trial freed its slot).
    """
    records = exp.store.models()
    statuses = sorted({r.status for r in records})
    assert set(statuses) <= {"trained", "early_stopped"}, [(r.id, r.status, r.failure_reason) for r in records]
    stopped = [r for r in records if r.status == "early_stopped"]
    assert stopped, f"nothing was early-stopped: {[(r.id, r.status, len(r.intermediates)) for r in records]}"
    trials = {t["sample"]: t for t in read_toy_log(log)}  # the latest trial of each sample
    results = {tuple(sorted(r["sample"].items())): r for r in exp.strategy.results}
    for record in stopped:
        key = ",".join(str(record.sample[k]) for k in "abc")
        assert record.final is None and 1 <= len(record.intermediates) < epochs, (record.id, record.intermediates)
        assert record.failure_reason, f"model {record.id} has no early-stopping reason"
        trial = trials[key]
        assert not trial["ended"] and len(record.intermediates) <= trial["epochs"] < epochs, (record.id, trial)
        result = results[tuple(sorted(record.sample.items()))]
        assert (result["status"], result["metric"]) == ("early_stopped", max(record.intermediates)), result
    if one_at_a_time:
        busy = [t for t in read_toy_log(log) if t["busy"]]
        assert not busy, f"trials started while an earlier trial's process was still running: {busy}"
    return stopped
