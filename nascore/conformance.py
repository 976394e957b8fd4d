"""The engine conformance suite: behaviour every execution engine must share, as a reusable test class.

An engine plugin's tests subclass :class:`EngineConformance` and say how to configure the engine::

    from nascore.conformance import EngineConformance

    class TestMyEngineConformance(EngineConformance):
        def make_config(self, directory, **settings):
            return NasExperimentConfig("my-engine", None, None, experiment_working_directory=str(directory),
                                       **settings)

pytest then runs every ``test_*`` method below against that engine: the same events in the same order with
the same values as every other engine, the submitted object in every event, a failing model keeping its
intermediates, budget and idle semantics. Models are :class:`ConformanceModel` objects, a tiny serializable
model format whose "module" is its sample and whose evaluator is a function named by import path, so the
suite runs on in-process engines and on training services alike. An engine that needs another format (CGO
needs graph models) overrides :meth:`EngineConformance.make_model`.

This module imports no pytest at import time, so trial processes can import its functions cheaply.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from nascore.engine import ExecutionEngine, ModelEvent, ModelEventType
from nascore.space import ExecutableModelSpace, ModelStatus
from nascore.specs import resolve_reference
from nascore.trial import report_final_result, report_intermediate_result

__all__ = ["EngineConformance", "ConformanceModel", "FunctionReference", "standard_trial"]

STANDARD = "nascore.conformance:standard_trial"


def standard_trial(sample: Dict[str, Any]) -> None:
    """Reports ``x``, ``2x``, ``3x`` then final ``10x``; with ``sample["fail"]`` raises after two reports."""
    x = sample["x"]
    for step in (1, 2, 3):
        if sample.get("fail") and step == 3:
            raise ValueError(f"conformance model x={x} fails on purpose")
        report_intermediate_result(x * step)
    report_final_result(x * 10)


def returning_trial(sample: Dict[str, Any]) -> float:
    """Reports nothing and returns ``x``: the engine records the returned number as the final metric."""
    return sample["x"]


class FunctionReference:
    """An evaluator calling the function ``"module:attr"`` with the model (here: the sample dict)."""

    def __init__(self, reference: str) -> None:
        self.reference = reference

    def evaluate(self, model: Any) -> Any:
        return resolve_reference(self.reference)(model)

    def to_payload(self) -> Dict[str, Any]:
        return {"function": self.reference}


class ConformanceModel(ExecutableModelSpace):
    """A frozen test model: ``executable_model()`` is the sample; the evaluator is a function reference."""

    format_name = "conformance"

    def __init__(self, sample: Dict[str, Any], function: str = STANDARD) -> None:
        super().__init__(FunctionReference(function))
        self._mark_frozen(self, sample)

    def simplify(self, is_leaf=None) -> dict:
        return {}

    def freeze(self, sample: Dict[str, Any]) -> "ConformanceModel":
        return ConformanceModel(sample, self.evaluator.reference)

    def executable_model(self) -> Dict[str, Any]:
        return dict(self.sample or {})

    def to_payload(self) -> Dict[str, Any]:
        return {"sample": self.sample, "evaluator": self.evaluator.to_payload()}

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "ConformanceModel":
        """Rebuild the model from what ``to_payload`` wrote (sample and function reference)."""
        return cls(payload["sample"], payload["evaluator"]["function"])


class EngineConformance:
    """Base test class; subclasses implement :meth:`make_config` (see the module docstring)."""

    #: seconds a test waits for its models
    wait_timeout: float = 120.0

    # ---- what a subclass provides ------------------------------------------------------------------------
    def make_config(self, directory: Path, **settings: Any) -> Any:
        """The experiment config selecting the engine under test; ``settings`` are experiment settings
        such as ``max_trial_number`` that the test needs."""
        raise NotImplementedError("subclass EngineConformance and implement make_config(directory, **settings)")

    def make_model(self, sample: Dict[str, Any], function: str = STANDARD) -> ExecutableModelSpace:
        return ConformanceModel(sample, function)

    def make_engine(self, **settings: Any) -> ExecutionEngine:
        from nascore.plugins import get_plugin_manager
        config = self.make_config(self.directory, **settings)
        engine = get_plugin_manager().get_execution_engine(config.execution_engine.name).load()(config)
        if hasattr(engine, "log_directory"):
            engine.log_directory = self.directory / "trials"
        self._engines.append(engine)
        return engine

    # ---- plumbing -------------------------------------------------------------------------------------------
    def setup_method(self, method: Any = None) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="nascore-conformance-"))
        self._engines: List[ExecutionEngine] = []

    def teardown_method(self, method: Any = None) -> None:
        for engine in self._engines:
            engine.shutdown()
        shutil.rmtree(self.directory, ignore_errors=True)

    def record(self, engine: ExecutionEngine) -> List[Tuple[str, ExecutableModelSpace, Any]]:
        """Every event the engine dispatches, as ``(kind, model, value)``."""
        events: List[Tuple[str, ExecutableModelSpace, Any]] = []

        def listener(event: ModelEvent) -> None:
            value = event.status.value if event.event_type is ModelEventType.TrainingEnd else event.metric
            events.append((event.event_type.value, event.model, value))

        for event_type in ModelEventType:
            engine.register_model_event_callback(event_type, listener)
        return events

    def run(self, engine: ExecutionEngine, *models: ExecutableModelSpace) -> None:
        engine.submit_models(*models)
        assert engine.wait_models(*models, timeout=self.wait_timeout), "models did not finish in time"

    @staticmethod
    def of(events: list, model: ExecutableModelSpace) -> List[Tuple[str, Any]]:
        return [(kind, value) for kind, m, value in events if m is model]

    # ---- the suite ------------------------------------------------------------------------------------------
    def test_events_in_order_with_values(self) -> None:
        engine = self.make_engine()
        events = self.record(engine)
        models = [self.make_model({"x": 1}), self.make_model({"x": 2})]
        self.run(engine, *models)
        for model, x in zip(models, (1, 2)):
            assert self.of(events, model) == [("intermediate_metric", x), ("intermediate_metric", 2 * x),
                                              ("intermediate_metric", 3 * x), ("final_metric", 10 * x),
                                              ("training_end", "trained")]
            assert model.metrics.intermediates == [x, 2 * x, 3 * x]
            assert model.metrics.final == 10 * x and model.status is ModelStatus.Trained
            assert model.failure_reason is None

    def test_event_model_is_the_submitted_object(self) -> None:
        engine = self.make_engine()
        events = self.record(engine)
        models = [self.make_model({"x": 3}), self.make_model({"x": 4})]
        self.run(engine, *models)
        assert events and all(any(m is s for s in models) for _, m, _ in events)
        assert list(engine.list_models()) == models
        assert all(len([e for e in self.of(events, m) if e[0] == "training_end"]) == 1 for m in models)

    def test_failing_model_keeps_intermediates(self) -> None:
        engine = self.make_engine()
        events = self.record(engine)
        bad, good = self.make_model({"x": 5, "fail": True}), self.make_model({"x": 6})
        self.run(engine, bad, good)
        assert self.of(events, bad) == [("intermediate_metric", 5), ("intermediate_metric", 10),
                                        ("training_end", "failed")]
        assert bad.metrics.intermediates == [5, 10] and bad.metrics.final is None
        assert bad.status is ModelStatus.Failed
        assert "ValueError" in (bad.failure_reason or "") and "fails on purpose" in (bad.failure_reason or "")
        assert good.status is ModelStatus.Trained and good.metrics.final == 60
        assert list(engine.list_models(ModelStatus.Failed)) == [bad]

    def test_returned_number_is_the_final_metric(self) -> None:
        engine = self.make_engine()
        model = self.make_model({"x": 7}, "nascore.conformance:returning_trial")
        self.run(engine, model)
        assert model.metrics.final == 7 and model.metrics.intermediates == []
        assert model.status is ModelStatus.Trained

    def test_budget_stops_submission(self) -> None:
        engine = self.make_engine(max_trial_number=2)
        assert engine.idle_worker_available() and engine.budget_available()
        models = [self.make_model({"x": 1}), self.make_model({"x": 2})]
        self.run(engine, *models)
        assert not engine.budget_available()
        extra = self.make_model({"x": 3})
        _assert_refused(engine, extra, "budget", "submitting past max_trial_number must raise")
        assert extra.status is ModelStatus.Frozen and list(engine.list_models()) == models
        assert all(m.status is ModelStatus.Trained for m in models)
        assert engine.idle_worker_available()  # idle, even though nothing more may run

    def test_shutdown_refuses_new_models(self) -> None:
        engine = self.make_engine()
        self.run(engine, self.make_model({"x": 1}))
        engine.shutdown()
        assert not engine.budget_available()
        late: Optional[ExecutableModelSpace] = self.make_model({"x": 2})
        _assert_refused(engine, late, "stop", "submitting after shutdown() must raise")


def _assert_refused(engine: ExecutionEngine, model: Any, word: str, what: str) -> None:
    """``engine.submit_models(model)`` must raise a RuntimeError whose message says ``word``."""
    try:
        engine.submit_models(model)
    except RuntimeError as exc:
        assert word in str(exc), str(exc)
    else:
        raise AssertionError(what)
