"""Results of a merged trial map back by model identity, whatever order an optimizer leaves the plan in; an
optimizer that drops or invents models is rejected, naming it (issue 13 items 1 and 7). No training: the inner
engine reports, for each merged sub-model in the merged model's order, a metric computed from its own sample."""
import time

import pytest

from nascore import hookimpl
from nascore.engine import ExecutionEngine, FinalMetricEvent, IntermediateMetricEvent, TrainingEndEvent
from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore.space import ModelStatus
from nascore.specs import OptimizerSpec
from nascore_cgo.config import CgoConfig
from nascore_cgo.middleware import CgoMiddleware
from nascore_cgo.plan import PlanModel
from nascore_graph.space import GraphModelSpace

import cgo_helpers as h


class MergedEcho(ExecutionEngine):
    """Runs a merged model at once: sub-model i reports 100 + its own fc1 choice."""

    def __init__(self):
        super().__init__()
        self.models = []

    def submit_models(self, *models):
        for merged in models:
            self.models.append(merged)
            values = [100 + m.sample["fc1"] for m in merged.models]
            self.dispatch_model_event(IntermediateMetricEvent(merged, {"per_model": values}))
            self.dispatch_model_event(FinalMetricEvent(merged, {"default": values[0], "per_model": values}))
            self.dispatch_model_event(TrainingEndEvent(merged, status=ModelStatus.Trained))

    def list_models(self, status=None):
        return list(self.models)

    def idle_worker_available(self):
        return True

    def budget_available(self):
        return True

    def shutdown(self):
        pass


class Reverse:
    def __init__(self, times: int = 1):
        self.times = times

    def convert(self, plan):
        for _ in range(self.times):
            plan.models.reverse()


class Drop:
    def convert(self, plan):
        plan.models.pop()


class Invent:
    def convert(self, plan):
        plan.models.append(PlanModel(object(), plan.models[0].info, 0))


class Optimizers:
    @hookimpl
    def nascore_optimizers(self):
        return [OptimizerSpec(name="reverse", factory=Reverse), OptimizerSpec(name="drop", factory=Drop),
                OptimizerSpec(name="invent", factory=Invent)]


@pytest.fixture
def optimizers(nascore_installed_plugins):
    nascore_installed_plugins.register(Optimizers(), "test-optimizers")  # beside the installed cgo, graph, ts


def _run(optimizer_entries):
    middleware = CgoMiddleware(CgoConfig(optimizers=optimizer_entries, devices=["cpu"], batch_waiting_time=0,
                                         max_concurrency_cgo=3))
    middleware.set_engine(MergedEcho())
    space = GraphModelSpace.from_model(h.DigitsNet(), h.classification())
    models = [space.freeze({"fc1": c}) for c in range(3)]
    middleware.submit_models(*models)
    deadline = time.monotonic() + 30
    while not all(m.status.completed() for m in models):
        assert time.monotonic() < deadline, "the batch did not finish"
        middleware.wait_models(*models, timeout=0.5)
    middleware.shutdown()
    return models


def test_reordering_optimizer_keeps_each_model_its_own_metric(optimizers):
    models = _run(["dedup_input", "reverse"])
    assert [m.status for m in models] == [ModelStatus.Trained] * 3
    assert [m.metric for m in models] == [100, 101, 102]
    assert [m.metrics.intermediates for m in models] == [[100], [101], [102]]


@pytest.mark.parametrize("name, words", [("drop", "dropped 1 model"), ("invent", "added 1 model")])
def test_optimizer_that_loses_or_invents_models_is_rejected(optimizers, name, words):
    models = _run([name])
    assert [m.status for m in models] == [ModelStatus.Failed] * 3
    assert all(m.metric is None for m in models)
    reason = models[0].failure_reason
    assert f"optimizer '{name}'" in reason and words in reason


def test_optimizer_settings_come_from_the_config(optimizers):
    models = _run([{"name": "reverse", "times": 2}])
    assert [m.metric for m in models] == [100, 101, 102]
    config = NasExperimentConfig("cgo", "graph", "local")
    config.optimizers = ["dedup_input", {"name": "reverse", "times": 3}]
    assert config.execution_engine.optimizers[1] == {"name": "reverse", "times": 3}
    with pytest.raises(ValueError, match="registered name"):
        config.optimizers = [{"times": 3}]
    with pytest.raises(ValueError, match=r"optimizer 'reverse' cannot take \['tims'\].*times"):
        CgoMiddleware(CgoConfig(optimizers=[{"name": "reverse", "tims": 2}]))
    config.optimizers = ["nosuch"]
    with pytest.raises(ConfigError, match="nosuch"):
        config.check()
