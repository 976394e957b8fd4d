"""Strategies given by registered name work wherever an instance does (issue 13 item 4)."""
import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment, NasExperimentConfig
from nascore.experiment.config import ConfigError
from nascore.strategy import NSGA2, BayesOpt, GridSearch, Random, RegularizedEvolution


def _trained(exp):
    with ExperimentStore.open(exp.directory) as store:
        return [r for r in store.models() if r.status == "trained"]


def test_strategy_by_name(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), "random", make_config(max_trial_number=3))
    assert isinstance(exp.strategy, Random)
    assert exp.run() == "done" and len(_trained(exp)) == 3


def test_strategy_by_name_with_arguments(tiny, make_config):
    spec = {"name": "evolution", "population_size": 2, "sample_size": 2}
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), spec, make_config(max_trial_number=4))
    assert isinstance(exp.strategy, RegularizedEvolution) and exp.strategy.population_size == 2
    assert exp.run() == "done" and len(_trained(exp)) == 4


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_strategy_from_a_config_file(tiny, make_config, tmp_path, suffix):
    config = make_config(max_trial_number=2, strategy={"name": "grid"})
    config.save(tmp_path / f"exp.{suffix}")
    loaded = NasExperimentConfig.load(tmp_path / f"exp.{suffix}")
    assert loaded.strategy == "grid"
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), config=tmp_path / f"exp.{suffix}")
    assert isinstance(exp.strategy, GridSearch)
    assert exp.run() == "done" and len(_trained(exp)) == 2


def test_bad_strategy_names_and_arguments(tiny, make_config):
    space, evaluator = tiny.Tiny(), FunctionalEvaluator(tiny.score)
    with pytest.raises(ConfigError, match=r"strategy 'evolution' cannot take \['populaton_size'\].*population_size"):
        NasExperiment(space, evaluator, {"name": "evolution", "populaton_size": 5}, make_config())
    with pytest.raises(ConfigError, match=r"unknown strategy 'nosuch'; available: .*evolution.*random"):
        NasExperiment(space, evaluator, "nosuch", make_config())
    with pytest.raises(ValueError, match="registered name"):
        make_config(strategy={"population_size": 3})


def test_an_experiment_without_a_strategy_gets_the_default(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), config=make_config(max_trial_number=4))
    assert isinstance(exp.strategy, BayesOpt)
    assert exp.run() == "done" and len(_trained(exp)) == 4


def test_the_default_for_several_objectives_is_multi_objective(tiny, make_config):
    config = make_config(objectives={"default": "max", "params": "min"})
    assert isinstance(NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), config=config).strategy, NSGA2)
    config = make_config(objectives={"default": "max", "params": "min"}, objective_weights={"default": 1.0})
    assert isinstance(NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), config=config).strategy, BayesOpt)
