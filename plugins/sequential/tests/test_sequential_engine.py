"""The sequential engine: runs real models in this process, through events, within the experiment budget."""
from __future__ import annotations

import logging

import pytest
import torch
import torch.nn as tnn

import nascore.nn as nn
from nascore.engine import Budget, ModelEventType
from nascore.experiment.config import NasExperimentConfig
from nascore.plugins import get_plugin_manager
from nascore.space import ModelStatus
from nascore.trial import get_sample, report_final_result, report_intermediate_result
from nascore_sequential.engine import (BudgetExhaustedError, EngineStoppedError, SequentialExecutionEngine,
                                       TrialFailedError)

raw = pytest.importorskip("nascore_raw.space")

try:  # the real one when the evaluator package is there; else the same contract in a few lines
    from nascore.evaluator import FunctionalEvaluator
except ImportError:
    class FunctionalEvaluator:  # type: ignore[no-redef]
        def __init__(self, function, **kwargs):
            self.function, self.kwargs = function, kwargs

        def evaluate(self, model):
            return self.function(model, **self.kwargs)


class Net(nn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.op = nn.LayerChoice([tnn.Linear(4, 2), tnn.Sequential(tnn.Linear(4, 2), tnn.Tanh())], label="op")

    def forward(self, x):
        return self.op(x)


def fit(model, epochs: int = 3):
    """Train on a tiny synthetic regression task; report the loss each epoch, the final score at the end."""
    torch.manual_seed(0)
    x, y = torch.randn(32, 4), torch.randn(32, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(epochs):
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        report_intermediate_result(loss.item())
    report_final_result(-loss.item())


def broken(model):
    report_intermediate_result(0.5)
    raise ValueError("boom in evaluator")


def interrupted(model):
    report_intermediate_result(0.25)
    raise KeyboardInterrupt


def _models(evaluator, n=2):
    space = raw.RawModelSpace.from_model(Net(), evaluator)
    return [space.freeze({"op": i % 2}) for i in range(n)]


def test_runs_models_and_records_metrics_through_events():
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", "raw"))
    seen = []
    for event_type in ModelEventType:
        engine.register_model_event_callback(event_type, lambda e: seen.append((e.event_type, e.model)))
    a, b = _models(FunctionalEvaluator(fit, epochs=3))
    engine.submit_models(a, b)
    for model in (a, b):
        assert model.status is ModelStatus.Trained
        assert len(model.metrics.intermediates) == 3
        assert model.metrics.final == -model.metrics.intermediates[-1]
        assert model.timings["start"] <= model.timings["end"]
    assert [t for t, m in seen if m is a] == [ModelEventType.IntermediateMetric] * 3 + [
        ModelEventType.FinalMetric, ModelEventType.TrainingEnd]
    assert engine.list_models() == [a, b] and engine.list_models(ModelStatus.Trained) == [a, b]
    assert engine.list_models(ModelStatus.Failed) == []
    assert engine.wait_models(timeout=0) and engine.idle_worker_available()


def test_returned_number_is_the_final_metric_and_the_sample_is_visible():
    def score(model):
        assert get_sample() == {"op": 1}
        return 0.75

    model = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(score)).freeze({"op": 1})
    SequentialExecutionEngine().submit_models(model)
    assert model.metrics.final == 0.75 and model.status is ModelStatus.Trained


def test_worker_is_busy_while_a_model_runs():
    engine = SequentialExecutionEngine()
    states = []
    model = raw.RawModelSpace.from_model(
        Net(), FunctionalEvaluator(lambda m: states.append(engine.idle_worker_available()) or 1.0)).freeze({"op": 0})
    assert engine.idle_worker_available()
    engine.submit_models(model)
    assert states == [False] and engine.idle_worker_available()
    assert model.status is ModelStatus.Trained


def test_listener_can_stop_propagation():
    engine = SequentialExecutionEngine()
    engine.register_model_event_callback(ModelEventType.IntermediateMetric, lambda e: e.stop_propagation())
    (model,) = _models(FunctionalEvaluator(fit, epochs=2), n=1)
    engine.submit_models(model)
    assert model.metrics.intermediates == [] and model.metrics.final is not None


def test_failure_is_recorded_and_the_experiment_goes_on(caplog):
    engine = SequentialExecutionEngine()
    bad = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(broken)).freeze({"op": 0})
    (good,) = _models(FunctionalEvaluator(fit), n=1)
    with caplog.at_level(logging.ERROR, logger="nascore_sequential.engine"):
        engine.submit_models(bad, good)
    assert bad.status is ModelStatus.Failed
    assert bad.failure_reason == "ValueError: boom in evaluator"
    assert bad.metrics.intermediates == [0.5] and bad.metrics.final is None
    assert "Traceback" in caplog.text and "boom in evaluator" in caplog.text
    assert good.status is ModelStatus.Trained
    assert engine.budget_available()


def test_stop_on_failure_raises_after_recording():
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", stop_on_failure=True))
    bad = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(broken)).freeze({"op": 0})
    (good,) = _models(FunctionalEvaluator(fit), n=1)
    with pytest.raises(TrialFailedError, match="boom in evaluator") as info:
        engine.submit_models(bad, good)
    assert info.value.model is bad and bad.status is ModelStatus.Failed
    assert good.status is ModelStatus.Frozen  # never started
    assert not engine.budget_available()
    with pytest.raises(EngineStoppedError):
        engine.submit_models(good)


def test_keyboard_interrupt_marks_interrupted_and_stops_cleanly():
    engine = SequentialExecutionEngine()
    model = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(interrupted)).freeze({"op": 1})
    with pytest.raises(KeyboardInterrupt):
        engine.submit_models(model)
    assert model.status is ModelStatus.Interrupted
    assert model.metrics.intermediates == [0.25]
    assert not engine.budget_available() and engine.idle_worker_available()
    (other,) = _models(FunctionalEvaluator(fit), n=1)
    with pytest.raises(EngineStoppedError, match="stopped"):
        engine.submit_models(other)
    assert engine.list_models() == [model]


def test_max_trial_number_is_enforced():
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", max_trial_number=2))
    a, b, c = _models(FunctionalEvaluator(lambda m: 1.0), n=3)
    engine.submit_models(a, b)
    assert not engine.budget_available()
    with pytest.raises(BudgetExhaustedError, match="max_trial_number=2"):
        engine.submit_models(c)
    assert c.status is ModelStatus.Frozen and engine.list_models() == [a, b]


def test_max_experiment_duration_is_enforced():
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", max_experiment_duration="1h"))
    assert engine.budget.max_duration == 3600 and engine.budget_available()
    # as if resumed with the whole hour already spent
    engine.budget = Budget(max_duration=3600, already_used_seconds=3600)
    (model,) = _models(FunctionalEvaluator(lambda m: 1.0), n=1)
    assert not engine.budget_available()
    with pytest.raises(BudgetExhaustedError, match="max_experiment_duration=3600s"):
        engine.submit_models(model)


def reports_forever(model):
    step = 0
    while True:  # only the engine's time limit ends this trial
        step += 1
        report_intermediate_result(float(step))


def test_max_trial_duration_fails_the_trial_at_its_next_report_and_keeps_its_metrics():
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", max_trial_duration=0.2))
    endless = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(reports_forever)).freeze({"op": 0})
    (quick,) = _models(FunctionalEvaluator(fit), n=1)
    engine.submit_models(endless, quick)
    assert endless.status is ModelStatus.Failed
    assert endless.failure_reason == "exceeded max_trial_duration (0.2s)"
    reported = endless.metrics.intermediates
    assert len(reported) > 1 and reported == [float(i) for i in range(1, len(reported) + 1)]
    assert endless.timings["end"] - endless.timings["start"] >= 0.2
    assert quick.status is ModelStatus.Trained  # the next trial gets its own full allowance


def test_unfrozen_space_is_refused():
    space = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(fit))
    with pytest.raises(ValueError, match="not frozen"):
        SequentialExecutionEngine().submit_models(space)
    with pytest.raises(TypeError, match="freeze a sample"):
        SequentialExecutionEngine().submit_models(Net())


def test_missing_evaluator_fails_the_model():
    model = raw.RawModelSpace.from_model(Net()).freeze({"op": 0})
    SequentialExecutionEngine().submit_models(model)
    assert model.status is ModelStatus.Failed and "no evaluator" in model.failure_reason


def test_shutdown_refuses_further_models():
    engine = SequentialExecutionEngine()
    engine.shutdown()
    (model,) = _models(FunctionalEvaluator(fit), n=1)
    assert not engine.budget_available()
    with pytest.raises(EngineStoppedError):
        engine.submit_models(model)


def test_registered_through_entry_point():
    spec = get_plugin_manager().get_execution_engine("sequential")
    assert spec.uses_training_service is False
    engine = spec.load()(NasExperimentConfig("sequential", "raw", max_trial_number=5))
    assert isinstance(engine, SequentialExecutionEngine) and engine.budget.max_trial_number == 5


def test_hooks_module_is_light():
    import subprocess
    import sys
    code = "import sys, nascore_sequential.hooks; print(sorted(m for m in ('torch', 'paramiko') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_listener_submitting_the_next_model_runs_it_after_the_current_one():
    """A strategy reacting to TrainingEnd by submitting again must neither deadlock nor nest trials."""
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", max_trial_number=30))
    space = raw.RawModelSpace.from_model(Net(), FunctionalEvaluator(lambda m: 1.0))
    order = []
    submitted = [0]

    def next_one(event):
        order.append(("end", event.model.model_id))
        assert engine.idle_worker_available()
        if engine.budget_available() and submitted[0] < 29:
            submitted[0] += 1
            model = space.freeze({"op": submitted[0] % 2})
            model.model_id = submitted[0]
            order.append(("submit", model.model_id))
            engine.submit_models(model)

    engine.register_model_event_callback(ModelEventType.TrainingEnd, next_one)
    first = space.freeze({"op": 0})
    first.model_id = 0
    engine.submit_models(first)
    assert len(engine.list_models(ModelStatus.Trained)) == 30
    # strictly alternating: each model ended before the next one was even started
    assert order[:4] == [("end", 0), ("submit", 1), ("end", 1), ("submit", 2)]
    with pytest.raises(BudgetExhaustedError):
        engine.submit_models(space.freeze({"op": 0}))


def test_a_batch_over_the_trial_budget_is_refused_before_anything_runs():
    engine = SequentialExecutionEngine(NasExperimentConfig("sequential", max_trial_number=2))
    models = _models(FunctionalEvaluator(lambda m: 1.0), n=3)
    with pytest.raises(BudgetExhaustedError, match="1 queued|2 queued"):
        engine.submit_models(*models)
    assert all(m.status is ModelStatus.Frozen for m in models) and engine.list_models() == []
    engine.submit_models(*models[:2])
    assert engine.list_models(ModelStatus.Trained) == models[:2]
