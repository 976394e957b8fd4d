"""Several objectives on the NAS-Bench-Graph table through the public API: the evaluator's table costs act before
training, so a constraint on them is never broken by a trained model, and the front matches brute force."""
import pytest

from nascore import NasExperiment, NasExperimentConfig
from nascore.objectives import objective_scores
from nascore.pareto import pareto_indices
from nascore.strategy import MORegularizedEvolution, NSGA2

nasbench = pytest.importorskip("nascore_nasbench")


@pytest.mark.parametrize("strategy", [NSGA2(seed=1, population_size=8),
                                      MORegularizedEvolution(population_size=8, sample_size=3, seed=1)],
                         ids=["nsga2", "mo_evolution"])
def test_table_costs_constrain_before_training_and_the_front_is_exact(tmp_path, strategy):
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=30,
                                 experiment_working_directory=str(tmp_path),
                                 objectives={"valid_accuracy": "max", "latency": "min"},
                                 constraints=["params <= 0.9"])
    exp = NasExperiment(nasbench.NasBenchGraphSpace(), nasbench.NasBenchGraphEvaluator("cora"), strategy, config)
    exp.run()
    table = nasbench.load_table("cora")
    models = exp.list_models()
    assert len(models) == 30
    for m in models:  # zero violations among trained models: the table's params were known before training
        record = table.query_sample(m.sample)
        assert record.params <= 0.9 and m.metrics.profile == {"params": record.params, "latency": record.latency}
    # the front equals brute force over what was tried
    metrics = [m.metrics.final for m in models]
    points = [objective_scores(exp.objectives, x) for x in metrics]
    expected = sorted(models[i].model_id for i in pareto_indices(points))
    assert sorted(m.model_id for m in exp.pareto_front()) == expected
