"""One-shot search with a cost: DARTS's expected-parameter penalty and constraints on exported subnets.

XorNet's useful candidate (an MLP, 552 parameters) beats Identity (0 parameters) on accuracy; a cost or a
constraint on parameters must turn the choice around."""
import pytest
import torch

from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import Classification
from nascore_oneshot import DARTS, RandomOneShot, SupernetTrainer
from nascore_oneshot.cost import ExpectedCost

from oneshot_xor import XorNet, xor_data as _data, xor_loader

HEAD = 8 * 2 + 2
MLP = 8 * 32 + 32 + 32 * 8 + 8


def _params_of(space):
    def cost(sample):
        return float(sum(p.numel() for p in space.freeze(sample).parameters()))
    return cost


def test_expected_cost_is_exact_for_a_layer_choice_and_differentiable():
    space = XorNet()
    trainer = SupernetTrainer(space, _data(1), "darts", cost_fn=_params_of(space), cost_weight=1.0, seed=0)
    cost = trainer.cost
    with torch.no_grad():
        trainer.context.alphas["body"].copy_(torch.tensor([0.0, 2.0]))
    p = torch.softmax(torch.tensor([0.0, 2.0]), -1)
    assert cost.expected().item() == pytest.approx(HEAD + p[1].item() * MLP, rel=1e-5)
    cost.penalty().backward()
    assert trainer.context.alphas["body"].grad[1] > 0  # more weight on the MLP costs more


def test_darts_with_a_parameter_cost_picks_the_cheap_candidate():
    torch.manual_seed(0)
    space = XorNet()
    trainer = SupernetTrainer(space, _data(4), "darts", arch_learning_rate=3e-2, seed=0,
                              cost_fn=_params_of(space), cost_weight=5.0)
    trainer.fit()
    assert trainer.export()[0] == {"body": 0}  # without the cost it picks 1 (test_oneshot_search)


def test_constraint_keeps_random_paths_and_exports_allowed():
    torch.manual_seed(0)
    space = XorNet()
    seen = []

    def small(sample):
        seen.append(sample["body"])
        return _params_of(space)(sample) <= 100

    trainer = SupernetTrainer(space, _data(2), "random", sample_filter=small, seed=0)
    trainer.fit()
    assert trainer.export()[0] == {"body": 0}
    assert {trainer.random_sample()["body"] for _ in range(20)} == {0}


@pytest.mark.parametrize("strategy", [DARTS(arch_learning_rate=3e-2, seed=0), RandomOneShot(seed=0)],
                         ids=["darts", "random_oneshot"])
def test_experiment_constraint_holds_for_the_exported_subnet(tmp_path, strategy):
    torch.manual_seed(0)
    evaluator = Classification(train_dataloaders=xor_loader(512, 0), val_dataloaders=xor_loader(256, 1),
                               learning_rate=1e-2, max_epochs=3)
    config = NasExperimentConfig(experiment_working_directory=str(tmp_path), constraints=["params <= 100"])
    exp = NasExperiment(XorNet(), evaluator, strategy, config)
    exp.run()
    [model] = exp.list_models()
    assert model.sample == {"body": 0} and model.metrics.profile == {"params": HEAD}
    assert sum(p.numel() for p in exp.export_top_models(formatter="instance")[0].parameters()) == HEAD


def test_darts_cost_runs_through_the_experiment_profilers(tmp_path):
    torch.manual_seed(0)
    evaluator = Classification(train_dataloaders=xor_loader(1024, 0), val_dataloaders=xor_loader(512, 1),
                               learning_rate=1e-2, max_epochs=4)
    config = NasExperimentConfig(experiment_working_directory=str(tmp_path))
    exp = NasExperiment(XorNet(), evaluator, DARTS(arch_learning_rate=3e-2, seed=0, cost_weight=5.0), config)
    exp.run()
    assert exp.list_models()[0].sample == {"body": 0}
    assert isinstance(exp.strategy.trainer.cost, ExpectedCost) and exp.strategy.trainer.cost.base_cost == HEAD


def test_several_objectives_for_a_one_shot_strategy_say_what_to_do(tmp_path):
    from nascore.experiment import ConfigError
    evaluator = Classification(train_dataloaders=xor_loader(64, 0), max_epochs=1)
    config = NasExperimentConfig(experiment_working_directory=str(tmp_path),
                                 objectives={"val_acc": "max", "params": "min"}, objective_weights={"params": 1.0})
    with pytest.raises(ConfigError, match="cannot search 2 objectives.*DARTS\\(cost_weight=1.0"):
        NasExperiment(XorNet(), evaluator, DARTS(), config).run()

