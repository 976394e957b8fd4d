"""Several objectives end to end on the tiny space: metric = width * 10 + depth (max), params = width + 1 (min).
The true front is depth 3 at every width."""
import pytest

from nascore.constraints import ConstraintError
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.pareto import dominates
from nascore.strategy import GridSearch, MORegularizedEvolution, NSGA2, Random, TPE

OBJECTIVES = {"default": "max", "params": "min"}
TRUE_FRONT = [(4, 3), (3, 3), (2, 3), (1, 3)]


def _pairs(samples):
    return [(s["width"], s["depth"]) for s in samples]


def test_grid_front_is_the_true_front_and_exports(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(objectives=OBJECTIVES))
    exp.run()
    assert _pairs(exp.pareto_front("dict")) == TRUE_FRONT  # best first by the first objective
    assert _pairs(exp.export_top_models(formatter="dict", pareto=True)) == TRUE_FRONT
    assert [m.metrics.profile["params"] for m in exp.pareto_front()] == [5, 4, 3, 2]
    assert ExperimentStore.open(exp.directory).objectives() == exp.objectives


def test_constraints_on_trained_metrics_filter_the_front(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(objectives=OBJECTIVES, constraints=["default >= 25", "params <= 4"]))
    exp.run()
    assert len(exp.list_models()) == 9  # params <= 4 rejected width 4 before training
    assert _pairs(exp.pareto_front("dict")) == [(3, 3)]  # width 2 reaches at most 23
    exp.config.constraints = ["defualt >= 25"]
    with pytest.raises(ConstraintError, match="names 'defualt'"):
        exp.pareto_front()


@pytest.mark.parametrize("strategy", [NSGA2(seed=0, population_size=4),
                                      MORegularizedEvolution(population_size=4, sample_size=2, seed=0),
                                      Random(seed=0)], ids=["nsga2", "mo_evolution", "random"])
def test_multi_objective_strategies_find_a_valid_front(tiny, make_config, strategy):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), strategy,
                        make_config(objectives=OBJECTIVES, max_trial_number=10))
    assert exp.run() == "done"
    models = exp.list_models()
    assert len(models) == 10 and len({tuple(sorted(m.sample.items())) for m in models}) == 10
    points = {(m.sample["width"], m.sample["depth"]): (m.metric, -m.metrics.profile["params"]) for m in models}
    front = _pairs(exp.pareto_front("dict"))
    assert front and all(not any(dominates(q, points[p]) for q in points.values()) for p in front)
    assert set(front) == {p for p in points if not any(dominates(q, points[p]) for q in points.values())}


def test_weights_let_a_single_objective_strategy_search_several(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), TPE(seed=0, n_startup_trials=3),
                        make_config(objectives=OBJECTIVES, objective_weights={"default": 1.0, "params": 20.0},
                                    max_trial_number=6))
    exp.run()
    # what TPE compares is the weighted sum, each objective oriented so that higher is better
    results = exp.strategy.results
    assert len(results) == 6
    for r in results:
        w, d = r["sample"]["width"], r["sample"]["depth"]
        assert r["metric"] == pytest.approx(10 * w + d - 20 * (w + 1))
        assert r["values"] == [10 * w + d, w + 1]


def test_commands_show_a_column_per_objective_and_the_front(tiny, make_config, capsys, tmp_path):
    import json

    from nascore.cli import main
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                        make_config(objectives=OBJECTIVES, constraints=["default >= 12"]))
    exp.run()
    capsys.readouterr()
    assert main(["view", str(exp.directory)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:6] == ["id", "status", "metric", "(max)", "params", "(min)"]
    assert len([line for line in lines if " trained " in line]) == 12
    assert main(["view", str(exp.directory), "--pareto"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if " trained " in line]
    assert [(r[2], r[3]) for r in rows] == [("43", "5"), ("33", "4"), ("23", "3"), ("13", "2")]
    assert "4 model(s) on the Pareto front of default (max), params (min)" in out
    assert main(["export", str(exp.directory), "--pareto"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [e["objectives"] for e in exported] == [{"default": 10 * w + 3, "params": w + 1} for w in (4, 3, 2, 1)]
    image = tmp_path / "front.png"
    assert main(["plot", str(exp.directory), "--pareto", "-o", str(image)]) == 0
    assert image.stat().st_size > 10_000


def test_plot_pareto_needs_two_objectives_and_draws_pairs_for_three(tiny, make_config, capsys, tmp_path):
    from nascore.cli import main
    single = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(), make_config())
    single.run()
    assert main(["plot", str(single.directory), "--pareto", "-o", str(tmp_path / "x.png")]) == 2
    assert "--pareto needs at least two objectives" in capsys.readouterr().err
    three = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.named), GridSearch(),
                          make_config(objectives={**OBJECTIVES, "depth_cost": "min"}))
    three.run()
    # each (width, depth) trades value against params and depth: nothing dominates anything
    assert len(three.pareto_front()) == 12
    assert main(["plot", str(three.directory), "--pareto", "-o", str(tmp_path / "three.png")]) == 0
    assert (tmp_path / "three.png").stat().st_size > 10_000
    typo = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), GridSearch(),
                         make_config(objectives={**OBJECTIVES, "depth_cost": "min"}, max_trial_number=2))
    typo.run()  # tiny.score reports no depth_cost: no model can be placed, each fails saying why
    assert all("objective 'depth_cost' has no value" in m.failure_reason for m in typo.list_models())
    assert typo.pareto_front() == []


def test_multi_objective_run_resumes_with_its_objectives_profiles_and_state(tiny, make_config):
    from nascore import hookimpl
    from nascore.plugins import get_plugin_manager

    class StopAfterThree:
        @hookimpl
        def nascore_experiment_started(self, experiment):
            self.experiment = experiment

        @hookimpl
        def nascore_model_finished(self, model):
            if model.model_id == 3:
                self.experiment.stop()

    get_plugin_manager().register(StopAfterThree(), "test-stop-three")
    try:
        exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), NSGA2(seed=0, population_size=4),
                            make_config(objectives=OBJECTIVES, constraints=["params <= 4"], max_trial_number=7))
        assert exp.run() == "stopped"
    finally:
        get_plugin_manager().unregister("test-stop-three")
    first = {r.id: (r.final, r.profile) for r in ExperimentStore.open(exp.directory).models()}
    assert len(first) == 3

    rejected_before = ExperimentStore.open(exp.directory).get_meta("models_rejected") or 0
    resumed = NasExperiment.resume(exp.directory, run=False)
    assert resumed.config.objectives == OBJECTIVES and type(resumed.strategy) is NSGA2
    assert resumed.run() == "done"
    total = ExperimentStore.open(exp.directory).get_meta("models_rejected") or 0
    assert total == rejected_before + resumed.strategy.rejected  # counted over both sessions
    records = ExperimentStore.open(exp.directory).models()
    assert len(records) == 7 and {r.id: (r.final, r.profile) for r in records if r.id in first} == first
    assert all(r.profile["params"] <= 4 for r in records)  # the constraint holds in the resumed session too
    assert len({tuple(sorted(r.sample.items())) for r in records}) == 7
    # the strategy's results carry each objective's value, earlier sessions included
    assert sorted(len(r["values"]) for r in resumed.strategy.results) == [2] * 7


def test_named_metrics_without_default_and_a_missing_objective_fails_the_model(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.named_only), GridSearch(),
                        make_config(objectives={"val": "max", "params": "min"}))
    exp.run()
    assert all(m.status.value == "trained" for m in exp.list_models())
    assert _pairs(exp.pareto_front("dict")) == TRUE_FRONT
    typo = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.named_only), GridSearch(),
                         make_config(objectives={"value": "max", "params": "min"}, max_trial_number=2))
    typo.run()
    failed = typo.list_models()
    assert [m.status.value for m in failed] == ["failed", "failed"]
    assert "objective 'value' has no value (named metrics: depth_cost, params, val)" in \
        failed[0].failure_reason


def test_one_declared_objective_ranks_the_export_and_drives_the_strategy(tiny, make_config, capsys):
    import json

    from nascore.cli import main
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), TPE(seed=0, n_startup_trials=2),
                        make_config(objectives={"params": "min"}, max_trial_number=5))
    exp.run()
    assert [r["metric"] for r in exp.strategy.results] == [r["sample"]["width"] + 1 for r in exp.strategy.results]
    top = exp.export_top_models(top_k=2, formatter="dict")
    widths = sorted(m.sample["width"] for m in exp.list_models())
    assert [s["width"] for s in top] == widths[:2]  # fewest parameters first, not the evaluator's metric
    capsys.readouterr()
    assert main(["export", str(exp.directory), "--top-k", "2"]) == 0
    assert [e["sample"] for e in json.loads(capsys.readouterr().out)] == top
