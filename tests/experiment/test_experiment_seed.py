"""A seed in the config makes a run reproducible: the same samples and the same metrics on every engine."""
import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.seeding import trial_seed
from nascore.strategy import Random


def _run(tiny, make_config, engine, seed):
    config = make_config(engine, "simplified", max_trial_number=4, seed=seed)
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.noisy), Random(), config)
    exp.run()
    return [(m.sample, m.metrics.final) for m in exp.list_models()]


def test_same_seed_same_samples_and_metrics_on_sequential_and_ts(tiny, make_config):
    sequential = _run(tiny, make_config, "sequential", 7)
    assert len(sequential) == 4 and len({m for _, m in sequential}) == 4
    assert _run(tiny, make_config, "ts", 7) == sequential  # another process, warm workers, same numbers
    other = _run(tiny, make_config, "sequential", 8)
    assert other != sequential


def test_trial_seed_follows_the_architecture_not_the_order():
    assert trial_seed(7, {"a": 1, "b": 2}) == trial_seed(7, {"b": 2, "a": 1})
    assert trial_seed(7, {"a": 1}) != trial_seed(8, {"a": 1}) != trial_seed(7, {"a": 2})
    assert 0 <= trial_seed(123, {"x": [1, 2]}) < 2 ** 31


@pytest.mark.slow
def test_lightning_trials_are_reproducible_across_engines(tiny, make_config):
    """Shuffled data loaders, dropout and initial weights all follow the trial seed."""
    def run(engine):
        config = make_config(engine, "simplified", max_trial_number=2, seed=3)
        exp = NasExperiment(tiny.DigitsTiny(), tiny.digits_classification(), Random(), config)
        exp.run()
        return {m.sample["hidden"]: m.metrics.final for m in exp.list_models()}

    sequential = run("sequential")
    assert len(sequential) == 2 and all(v is not None for v in sequential.values())
    assert run("ts") == sequential
