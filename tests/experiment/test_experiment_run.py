import math

import pytest
import torch.nn as nn

from nascore import hookimpl
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.plugins import get_plugin_manager
from nascore.space import ExecutableModelSpace, ModelStatus
from nascore.strategy import GridSearch, Random


def _expected(width, depth):
    return float(width * 10 + depth)


def _run_with_plugin(plugin, tiny, make_config, *components, **fields):
    """Run a Random search of the tiny space with ``plugin`` registered on the process-wide manager (the config
    is made after registering: it validates component names against the registry)."""
    pm = get_plugin_manager()
    pm.register(plugin, "test-plugin")
    try:
        exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=0),
                            make_config(*components, **fields))
        exp.run()
    finally:
        pm.unregister("test-plugin")
    return exp


def test_run_ranks_and_exports(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(), make_config())
    assert exp.status == "created"
    assert exp.run() == "done"
    assert exp.status == "done"
    models = exp.list_models()
    assert len(models) == 12 and all(m.status is ModelStatus.Trained for m in models)
    # every metric is what the evaluator computed for that sample
    assert all(m.metric == _expected(m.sample["width"], m.sample["depth"]) for m in models)

    top = exp.export_top_models(top_k=3, formatter="dict")
    assert top == [{"width": 4, "depth": 3}, {"width": 4, "depth": 2}, {"width": 4, "depth": 1}]
    best = exp.export_top_models()
    assert len(best) == 1 and isinstance(best[0], ExecutableModelSpace) and best[0].metric == 43.0
    module = exp.export_top_models(formatter="instance")[0]
    assert isinstance(module, nn.Module) and module.lin.in_features == 4
    code = exp.export_top_models(formatter="code")[0]  # a simplified model, turned into code by the graph format
    assert "def build()" in code and "def load_trained(" in code
    with pytest.raises(ValueError, match="unknown formatter"):
        exp.export_top_models(formatter="yaml")


def test_minimize_direction(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(metric_direction="minimize"))
    exp.run()
    assert exp.export_top_models(2, "dict") == [{"width": 1, "depth": 1}, {"width": 1, "depth": 2}]


def test_store_contents_after_run(tiny, make_config, workdir):
    exp = NasExperiment(tiny.Tiny(scale=2), FunctionalEvaluator(tiny.score), Random(seed=3),
                        make_config(max_trial_number=5, experiment_name="my run"))
    exp.run()
    assert exp.id == "my-run" and exp.directory == (workdir / "my-run").resolve()
    with ExperimentStore.open(exp.directory) as store:
        assert store.status() == "done"
        assert store.get_meta("start_time") <= store.get_meta("end_time")
        assert store.config()["max_trial_number"] == 5
        assert store.config()["execution_engine"]["name"] == "sequential"
        records = store.models()
        assert [r.id for r in records] == [m.model_id for m in exp.list_models()]
        assert len(records) == 5 and len({json_key(r.sample) for r in records}) == 5
        for r in records:
            value = 2 * _expected(r.sample["width"], r.sample["depth"])
            assert r.status == "trained" and r.final == value and r.intermediates == [value / 2]
            assert r.payload is not None  # simplified models are serializable
            assert r.start_time <= r.end_time and r.duration >= 0
        assert store.get_meta("space_recipe")["kwargs"] == {"scale": 2}
        assert store.strategy_state()["results"]  # the strategy checkpoint was written
    # a second experiment with the same name gets its own directory
    again = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=3),
                          make_config(max_trial_number=1, experiment_name="my run"))
    again.run()
    assert again.id.startswith("my-run-") and again.directory != exp.directory


def json_key(sample):
    return tuple(sorted(sample.items()))


@pytest.mark.parametrize("mode", ["raise", "nan", "silent"])
def test_bad_evaluators(tiny, make_config, mode):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score, mode=mode), GridSearch(), make_config())
    assert exp.run() == "done"
    with ExperimentStore.open(exp.directory) as store:
        records = {(r.sample["width"], r.sample["depth"]): r for r in store.models()}
    assert len(records) == 12
    broken_width = {"raise": 2, "nan": 3, "silent": 4}[mode]
    for (width, depth), r in records.items():
        if width != broken_width:
            assert r.status == "trained" and r.metric == _expected(width, depth)
        elif mode == "raise":
            assert r.status == "failed" and "width 2 is broken" in r.failure_reason and r.final is None
        elif mode == "nan":  # kept, but a trial without a finite final metric is not "trained"
            assert r.status == "failed" and math.isnan(r.final) and r.metric is None
            assert r.failure_reason.startswith("no usable final metric: the final metric is nan")
        else:
            assert r.status == "failed" and r.final is None
            assert r.failure_reason.startswith("no usable final metric: the trial reported none")
    # models without a usable metric never rank
    top = exp.export_top_models(12, "dict")
    assert all(s["width"] != broken_width for s in top) and len(top) == 9


def test_keyboard_interrupt_leaves_store_consistent(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score, mode="interrupt"), GridSearch(), make_config())
    assert exp.run() == "interrupted"
    with ExperimentStore.open(exp.directory) as store:
        assert store.status() == "interrupted"
        statuses = [r.status for r in store.models()]
    assert statuses[-1] == "interrupted" and "training" not in statuses
    assert statuses.count("trained") == len(statuses) - 1


@pytest.mark.parametrize("mode", ["exit", "own_interrupt"])
def test_trial_raising_system_exit_fails_alone(tiny, make_config, mode):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score, mode=mode), GridSearch(), make_config())
    assert exp.run() == "done"
    records = ExperimentStore.open(exp.directory).models()
    failed = [r for r in records if r.status == "failed"]
    assert len(records) == 12 and {r.sample["width"] for r in failed} == {3} and len(failed) == 3
    expected = "SystemExit(3) raised by the trial" if mode == "exit" else "KeyboardInterrupt() raised by the trial"
    assert all(r.failure_reason.startswith(expected) for r in failed)


class _Observer:
    def __init__(self, stop_after=None):
        self.calls = []
        self.stop_after = stop_after

    @hookimpl
    def nascore_experiment_started(self, experiment):
        self.calls.append(("started", experiment.id))
        self.experiment = experiment

    @hookimpl
    def nascore_model_submitted(self, model):
        self.calls.append(("submitted", model.model_id))

    @hookimpl
    def nascore_model_finished(self, model):
        self.calls.append(("finished", model.model_id, model.status.value, model.metric))
        finished = sum(1 for c in self.calls if c[0] == "finished")
        if self.stop_after is not None and finished >= self.stop_after:
            self.experiment.stop()

    @hookimpl
    def nascore_experiment_finished(self, experiment):
        self.calls.append(("finished-experiment", experiment.status))


@pytest.fixture
def observer():
    made = []

    def make(**kwargs):
        obs = _Observer(**kwargs)
        get_plugin_manager().register(obs, f"test-observer-{len(made)}")
        made.append(f"test-observer-{len(made)}")
        return obs
    yield make
    for name in made:
        get_plugin_manager().unregister(name)


def test_observer_hooks(tiny, make_config, observer):
    obs = observer()
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=0), make_config(max_trial_number=3))
    exp.run()
    kinds = [c[0] for c in obs.calls]
    assert kinds == ["started"] + ["submitted", "finished"] * 3 + ["finished-experiment"]
    assert obs.calls[0] == ("started", exp.id)
    finished = [c for c in obs.calls if c[0] == "finished"]
    assert [c[1] for c in finished] == [1, 2, 3] and all(c[2] == "trained" and c[3] for c in finished)
    assert obs.calls[-1] == ("finished-experiment", "done")


def test_stop_from_observer(tiny, make_config, observer):
    observer(stop_after=2)
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(seed=0), make_config())
    assert exp.run() == "stopped"
    with ExperimentStore.open(exp.directory) as store:
        assert store.status() == "stopped"
        assert [r.status for r in store.models()] == ["trained", "trained"]


def test_secrets_are_not_stored(tiny, make_config, workdir):
    from nascore.experiment.config import ComponentConfig
    from nascore.specs import EngineSpec

    class SecretiveConfig(ComponentConfig):
        name: str = "secretive"
        password: str = "hunter2"
        api_secret: str = "s3cr3t-value"
        ssh_passphrase: str = "open sesame"
        retries: int = 3

    class Plugin:
        @hookimpl
        def nascore_execution_engines(self):
            return [EngineSpec("secretive", "nascore_sequential.engine:SequentialExecutionEngine",
                               config_model=SecretiveConfig)]

    exp = _run_with_plugin(Plugin(), tiny, make_config, "secretive", "simplified", max_trial_number=2)
    raw = b"".join(p.read_bytes() for p in exp.directory.iterdir() if p.is_file())
    for secret in (b"hunter2", b"s3cr3t-value", b"open sesame"):
        assert secret not in raw
    with ExperimentStore.open(exp.directory) as store:
        assert store.config()["execution_engine"] == {"name": "secretive", "retries": 3}


def test_middleware_engine_is_built(tiny, make_config):
    from nascore.engine import Middleware
    from nascore.specs import MiddlewareSpec

    built = []

    class Passthrough(Middleware):
        def __init__(self, config):
            super().__init__()
            built.append(config)

    class Plugin:
        @hookimpl
        def nascore_middlewares(self):
            return [MiddlewareSpec("passthrough", Passthrough, engine="sequential")]

    exp = _run_with_plugin(Plugin(), tiny, make_config, "passthrough", "simplified", max_trial_number=2)
    assert built == [exp.config]
    assert [m.status for m in exp.list_models()] == [ModelStatus.Trained] * 2


@pytest.mark.slow
def test_ts_engine_records_trials_from_worker_processes(tiny, make_config):
    pytest.importorskip("nascore_training_service")
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score, mode="raise"), Random(seed=2),
                        make_config("ts", "simplified", max_trial_number=6, trial_concurrency=2))
    assert exp.config.training_service.name == "local"
    assert exp.run() == "done"
    with ExperimentStore.open(exp.directory) as store:
        records = store.models()
    assert len(records) == 6
    for r in records:
        if r.sample["width"] == 2:
            assert r.status == "failed" and "width 2 is broken" in r.failure_reason
        else:
            value = _expected(r.sample["width"], r.sample["depth"])
            assert r.status == "trained" and r.final == value and r.intermediates == [value / 2]
        assert r.log_path and r.log_path.startswith(str(exp.directory))
