"""The files ``nascore new-plugin KIND NAME`` writes, per plugin kind (``$name``, ``$package``, ``$dist``, ``$Class``
are filled in). Each template is a pip-installable distribution whose test passes as generated; replace the
body of the generated class with your own logic and keep the test green."""
from __future__ import annotations

from typing import Dict

from nascore.plugin_templates_base import COMMON, hooks_with_config
from nascore.plugin_templates_more import FORMAT, MIDDLEWARE, OPTIMIZER, PROFILER

__all__ = ["COMMON", "KINDS"]

_STRATEGY = {
    "$package/hooks.py": '''"""Entry point of $dist: registers strategy "$name"."""
from nascore import hookimpl
from nascore.specs import StrategySpec


@hookimpl
def nascore_strategies():
    return [StrategySpec(name="$name", factory="$package.strategy:$Class", kind="multi-trial",
                         description="$summary")]
''',
    "$package/strategy.py": '''"""$Class: random draws without repeats. Replace ``propose`` with your search (see nascore.strategy.multi_trial
for what a MultiTrialStrategy gets: ``self.space``, ``self.results``, ``self.lock``, JSON state for resume)."""
import random
from typing import Optional

from nascore.strategy import MultiTrialStrategy


class $Class(MultiTrialStrategy):
    """$summary."""

    def __init__(self, seed: Optional[int] = None, dedup: bool = True) -> None:
        super().__init__(dedup=dedup)
        self.seed = seed  # kept under its parameter's name: resume rebuilds the strategy from it
        self.rng = random.Random(seed)

    def propose(self):
        """The next sample, or None when the space is exhausted."""
        return self.draw_untried(self.rng)
''',
    "tests/test_$name.py": '''from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.testkit import ToySpace, make_space, search, toy_evaluator

from $package.strategy import $Class


def test_draws_distinct_samples():
    models = search($Class(seed=0), trials=10, space=make_space(n=3, k=4))
    assert len({tuple(sorted(m.sample.items())) for m in models}) == 10


def test_runs_in_an_experiment_by_its_registered_name():
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=5)
    exp = NasExperiment(ToySpace(), toy_evaluator(), "$name", config)
    assert exp.run() == "done" and isinstance(exp.strategy, $Class)
    assert len(exp.list_models()) == 5
''',
}

_ENGINE = {
    "$package/hooks.py": hooks_with_config("EngineSpec", "nascore_execution_engines", "engine"),
    "$package/engine.py": '''"""$Class: runs each model in this process when it is submitted. Replace ``_train`` with where your models
run; report through events only (engines never set metrics or statuses themselves)."""
from nascore.engine import (Budget, EngineStoppedError, ExecutionEngine, FinalMetricEvent, IntermediateMetricEvent,
                            TrainingEndEvent)
from nascore.space import ModelStatus
from nascore.trial import run_model


class $Class(ExecutionEngine):
    """$summary."""

    def __init__(self, config=None) -> None:
        super().__init__()
        self.budget = Budget.from_config(config)
        self.models = []
        self.stopped = False

    def submit_models(self, *models) -> None:
        self.check_submittable(models)
        for model in models:
            if self.stopped:
                raise EngineStoppedError(f"engine '$name' was stopped; {model!r} was not run")
            if not self.budget.available():
                raise self.budget.exhausted_error(model)
            self.budget.consume()
            self.models.append(model)
            self.mark_training(model)
            self._train(model)

    def _train(self, model) -> None:
        def intermediate(metric):
            self.dispatch_model_event(IntermediateMetricEvent(model, metric))

        def final(metric):
            self.dispatch_model_event(FinalMetricEvent(model, metric))

        try:
            run_model(model, intermediate, final)
        except Exception as exc:  # noqa: BLE001 - the model fails, the engine goes on
            self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus.Failed,
                                                       reason=f"{type(exc).__name__}: {exc}"))
        else:
            self.dispatch_model_event(TrainingEndEvent(model, status=ModelStatus.Trained))
        self.notify_changed()

    def list_models(self, status=None):
        return [m for m in self.models if status is None or m.status is ModelStatus(status)]

    def idle_worker_available(self) -> bool:
        return True

    def budget_available(self) -> bool:
        return not self.stopped and self.budget.available()

    def shutdown(self) -> None:
        self.stopped = True
        self.notify_changed()
''',
    "tests/test_$name.py": '''from nascore.conformance import EngineConformance
from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.strategy import Random
from nascore.testkit import ToySpace, toy_evaluator


class TestConformance(EngineConformance):
    """nascore's engine conformance suite, run against this engine."""

    def make_config(self, directory, **settings):
        return NasExperimentConfig("$name", None, None, experiment_working_directory=str(directory), **settings)


def test_runs_an_experiment():
    exp = NasExperiment(ToySpace(), toy_evaluator(), Random(seed=0),
                        NasExperimentConfig("$name", "simplified", max_trial_number=4))
    assert exp.run() == "done" and len(exp.list_models()) == 4
''',
}

_SERVICE = {
    "$package/hooks.py": hooks_with_config("TrainingServiceSpec", "nascore_training_services", "service"),
    "$package/service.py": '''"""$Class: each trial in a fresh process on this machine (``python -m nascore.training_service``), events read
back over a pipe. The contract is nascore.training_service's module docstring; the test runs nascore's
training-service conformance suite. Replace the process start with where your trials should run."""
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from nascore.process_tree import kill_tree
from nascore.space import ModelStatus
from nascore.training_service import TrainingService, TrialEnd, TrialLogs, TrialMetric, event_from_json


class _Running:
    def __init__(self, proc):
        self.proc = proc
        self.ending = None  # (status, reason) when we end it: timeout, cancel, shutdown
        self.thread = None


class $Class(TrainingService):
    """$summary."""

    def __init__(self, config=None) -> None:
        self.slots = max(1, int(getattr(config, "trial_concurrency", 1) or 1))
        self._lock = threading.Lock()
        self._running = {}
        self._closed = False

    def start(self, listener, log_directory) -> None:
        self.listener = listener
        self.log_directory = Path(log_directory)
        self.log_directory.mkdir(parents=True, exist_ok=True)

    def capacity(self) -> int:
        with self._lock:
            return 0 if self._closed else self.slots - len(self._running)

    def log_paths(self, trial_id: str) -> TrialLogs:
        return TrialLogs(self.log_directory / f"{trial_id}.stdout", self.log_directory / f"{trial_id}.stderr")

    def submit(self, trial) -> str:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"training service '$name' is shut down; trial {trial.trial_id} was not run")
            if len(self._running) >= self.slots:
                raise RuntimeError(f"training service '$name' has no free slot; check capacity() first")
            payload = self.log_directory / f"{trial.trial_id}.json"
            payload.write_text(json.dumps(trial.payload))
            logs = self.log_paths(trial.trial_id)
            read_end, write_end = os.pipe()
            with open(logs.stdout, "wb") as out, open(logs.stderr, "wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "nascore.training_service", "--payload", str(payload),
                     "--trial-id", trial.trial_id, "--events-fd", str(write_end)],
                    pass_fds=(write_end,), stdout=out, stderr=err, env={**os.environ, **trial.env},
                    start_new_session=True)  # its own process group: a kill takes everything it started
            os.close(write_end)
            running = self._running[trial.trial_id] = _Running(proc)
            running.thread = threading.Thread(target=self._follow, args=(trial, running, read_end), daemon=True)
            running.thread.start()
        if trial.timeout:
            timer = threading.Timer(trial.timeout, self._end_early, (trial.trial_id, ModelStatus.Failed,
                                    f"exceeded max_trial_duration ({trial.timeout:g}s)"))
            timer.daemon = True
            timer.start()
        return trial.trial_id

    def _follow(self, trial, running, read_end) -> None:
        end = None
        with os.fdopen(read_end, "rb") as events:
            for line in events:
                event = event_from_json(line)
                if isinstance(event, TrialMetric):
                    self.listener.on_trial_metric(event)
                else:
                    end = event
        code = running.proc.wait()
        kill_tree(running.proc.pid)  # whatever the trial left running, setsid'd children included
        if running.ending is not None:
            end = TrialEnd(trial.trial_id, *running.ending)
        elif end is None:
            end = TrialEnd(trial.trial_id, ModelStatus.Failed, f"the trial process ended with exit code {code}")
        with self._lock:  # the slot is free before the end is delivered
            self._running.pop(trial.trial_id, None)
        self.listener.on_trial_end(end)

    def _end_early(self, trial_id: str, status: ModelStatus, reason: str) -> None:
        with self._lock:
            running = self._running.get(trial_id)
            if running is None or running.ending is not None:
                return
            running.ending = (status, reason)
        kill_tree(running.proc.pid)

    def cancel(self, trial_id: str, reason: str = "cancelled") -> None:
        self._end_early(trial_id, ModelStatus.Interrupted, reason)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            running = dict(self._running)
        for trial_id in running:
            self._end_early(trial_id, ModelStatus.Interrupted, "the training service shut down")
        for item in running.values():
            item.thread.join()  # every end is delivered before shutdown() returns
''',
    "tests/test_$name.py": '''from nascore.experiment import NasExperimentConfig
from nascore.service_conformance import TrainingServiceConformance

from $package.service import $Class


class TestConformance(TrainingServiceConformance):
    """nascore's training-service conformance suite, run against this service."""

    def make_service(self, directory, concurrency):
        config = NasExperimentConfig("ts", None, "$name", trial_concurrency=concurrency,
                                     experiment_working_directory=str(directory))
        return $Class(config)
''',
}

_OBSERVER = {
    "$package/hooks.py": '''"""Entry point of $dist: an observer writing one JSON line per finished model to
``<experiment dir>/$name.jsonl``."""
import json
from pathlib import Path

from nascore import hookimpl

_files = {}


@hookimpl
def nascore_experiment_started(experiment):
    _files[experiment.id] = Path(experiment.directory) / "$name.jsonl"


@hookimpl
def nascore_model_finished(model):
    for path in _files.values():
        with open(path, "a") as f:
            f.write(json.dumps({"id": model.model_id, "sample": model.sample, "status": model.status.value,
                                "metric": model.metric}) + "\\n")


@hookimpl
def nascore_experiment_finished(experiment):
    _files.pop(experiment.id, None)
''',
    "tests/test_$name.py": '''import json
from pathlib import Path

from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.strategy import Random
from nascore.testkit import ToySpace, toy_evaluator


def test_writes_one_line_per_finished_model():
    exp = NasExperiment(ToySpace(), toy_evaluator(), Random(seed=0),
                        NasExperimentConfig("sequential", "simplified", max_trial_number=3))
    assert exp.run() == "done"
    lines = [json.loads(line) for line in (Path(exp.directory) / "$name.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == [1, 2, 3] and all(line["status"] == "trained" for line in lines)
''',
}


def _kinds() -> Dict[str, tuple]:
    return {  # kind: (files, summary, extra dependencies)
        "strategy": (_STRATEGY, "a multi-trial search strategy", ""),
        "engine": (_ENGINE, "an execution engine running models in this process", ""),
        "service": (_SERVICE, "a training service running each trial in a fresh local process", ""),
        "format": (FORMAT, "a model format rebuilding the space's class under each sample", ""),
        "middleware": (MIDDLEWARE, "a middleware counting the models it passes to the sequential engine", ""),
        "optimizer": (OPTIMIZER, "a cross-graph optimizer for CGO ordering models by input", ', "nascore-cgo"'),
        "observer": (_OBSERVER, "an observer logging every finished model as a JSON line", ""),
        "profiler": (PROFILER, "a profiler counting a model's state tensors", ""),
    }


KINDS = _kinds()
