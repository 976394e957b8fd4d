"""Constraints and profiles in real runs of the tiny space (params of Linear(width, 1) = width + 1)."""
import pytest

from nascore.constraints import InfeasibleSpaceError
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ConfigError, ExperimentStore, NasExperiment
from nascore.strategy import GridSearch, Random, RegularizedEvolution, TPE


@pytest.mark.parametrize("strategy", [Random(seed=1), TPE(seed=1, n_startup_trials=2),
                                      RegularizedEvolution(population_size=3, sample_size=2, seed=1)],
                         ids=["random", "tpe", "evolution"])
def test_infeasible_models_cost_no_trial_and_never_train(tiny, make_config, strategy):
    config = make_config(max_trial_number=4, constraints=["params <= 3", "depth != 3"])
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), strategy, config)
    assert exp.run() == "done"
    records = ExperimentStore.open(exp.directory).models()
    assert len(records) == 4  # the budget went to feasible models only
    for r in records:
        assert r.status == "trained" and r.profile == {"params": r.sample["width"] + 1}
        assert r.profile["params"] <= 3 and r.sample["depth"] != 3


def test_a_constraint_that_looks_like_a_typo_is_warned_about(tiny, make_config, caplog):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(constraints=["parms <= 3"], max_trial_number=1))
    exp.run()
    assert "names 'parms', which is known only after training" in caplog.text and "did you mean 'params'" in caplog.text


def test_grid_trains_exactly_the_feasible_models(tiny, make_config, capsys):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(constraints=["params <= 3", lambda v: v["depth"] >= 2]))
    exp.run()
    samples = sorted((m.sample["width"], m.sample["depth"]) for m in exp.list_models())
    assert samples == [(1, 2), (1, 3), (2, 2), (2, 3)]
    assert all(m.metrics.profile == {"params": m.sample["width"] + 1} for m in exp.list_models())
    assert ExperimentStore.open(exp.directory).get_meta("models_rejected") == 8
    from nascore.cli import main
    assert main(["view", str(exp.directory)]) == 0
    assert "4 trial(s): 4 trained; 4 distinct architecture(s); 8 model(s) rejected before training by constraints" \
        in capsys.readouterr().out


@pytest.mark.parametrize("strategy", [GridSearch(), Random(seed=0)], ids=["grid", "random"])
def test_a_space_without_feasible_models_is_a_clear_error(tiny, make_config, strategy):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), strategy,
                        make_config(constraints=["params < 2"]))
    with pytest.raises(InfeasibleSpaceError, match="broke a constraint \\(last: params = \\d, wanted < 2\\)"):
        exp.run()
    assert exp.status == "failed" and exp.list_models() == []


def test_profiles_requested_without_constraints_are_stored(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(profilers=["params"], max_trial_number=3))
    exp.run()
    assert [r.profile for r in ExperimentStore.open(exp.directory).models()] == \
        [{"params": m.sample["width"] + 1} for m in exp.list_models()]


def test_bad_settings_are_reported_before_anything_runs(tiny, make_config):
    with pytest.raises(ConfigError, match="TPE optimises one objective.*objective_weights=.*NSGA2"):
        NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), TPE(),
                      make_config(objectives={"default": "max", "params": "min"})).run()
    with pytest.raises(ValueError, match="profile_input_shape"):
        NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(),
                      make_config(constraints=["latency_ms < 5"])).run()
    with pytest.raises(ValueError, match="unknown profiler 'parms'"):
        NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(), make_config(profilers=["parms"])).run()


@pytest.mark.slow
def test_trial_processes_get_only_feasible_models_and_profiles_stay_in_the_store(tiny, make_config):
    pytest.importorskip("nascore_training_service")
    from nascore.strategy import NSGA2
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), NSGA2(seed=0, population_size=4),
                        make_config("ts", "simplified", max_trial_number=6, trial_concurrency=2,
                                    objectives={"default": "max", "params": "min"}, constraints=["params <= 4"]))
    assert exp.run() == "done"
    records = ExperimentStore.open(exp.directory).models()
    assert len(records) == 6 and all(r.status == "trained" for r in records)
    assert all(r.profile == {"params": r.sample["width"] + 1} and r.profile["params"] <= 4 for r in records)
    assert all(r.final == r.sample["width"] * 10 + r.sample["depth"] for r in records)  # trained elsewhere
    assert exp.pareto_front()


def test_a_model_a_profiler_cannot_measure_fails_alone(tiny, make_config):
    from nascore import hookimpl
    from nascore.plugins import get_plugin_manager
    from nascore.specs import ProfilerSpec

    def fragile(module, context):
        if module.width == 2:
            raise RuntimeError("cannot measure width 2")
        return {"fragility": float(module.width)}

    class Fragile:
        @hookimpl
        def nascore_profilers(self):
            return [ProfilerSpec(name="fragile", factory=fragile, metrics=("fragility",))]

    get_plugin_manager().register(Fragile(), "test-fragile")
    try:
        exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                            make_config(profilers=["fragile"], max_trial_number=12))
        assert exp.run() == "done"
    finally:
        get_plugin_manager().unregister("test-fragile")
    by_width = {}
    for r in ExperimentStore.open(exp.directory).models():
        by_width.setdefault(r.sample["width"], set()).add(r.status)
    assert by_width == {1: {"trained"}, 2: {"failed"}, 3: {"trained"}, 4: {"trained"}}
    failed = exp.list_models("failed")[0]
    assert "profiler 'fragile' (test-fragile) failed" in failed.failure_reason and "width 2" in failed.failure_reason
