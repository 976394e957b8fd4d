"""The config path of early stopping: a stopper by name, mapping or object; the objective's direction taken from
the evaluator; a bad name, argument or value refused when the config is made, naming the culprit."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.strategy import GridSearch
from nascore.testkit import ToySpace, toy_curve


def _config(tmp_path, stopper, **fields):
    return NasExperimentConfig("sequential", "simplified", max_trial_number=27, early_stopping=stopper,
                               experiment_working_directory=str(tmp_path), **fields)


def test_a_minimizing_evaluator_makes_the_stopper_keep_the_lowest_curves(tmp_path):
    # toy curves rise higher for better toy models; an evaluator whose objective is "min" wants the lowest instead
    evaluator = FunctionalEvaluator(toy_curve, epochs=9, objective="min")
    exp = NasExperiment(ToySpace(), evaluator, GridSearch(), _config(tmp_path, {"name": "asha", "max_resource": 9}))
    exp.run()
    records = {tuple(r.sample[k] for k in "abc"): r for r in exp.store.models()}
    assert records[(2, 0, 1)].status == "early_stopped"  # the highest curve: the worst model here
    assert exp.export_top_models(1, formatter="dict") == [{"a": 0, "b": 2, "c": 0}]  # one of the lowest curves
    results = {tuple(r["sample"][k] for k in "abc"): r for r in exp.strategy.results}
    stopped = [key for key, r in records.items() if r.status == "early_stopped"]
    assert stopped and all(results[key]["metric"] == min(records[key].intermediates) for key in stopped)


def test_the_config_direction_applies_when_the_evaluator_declares_none(tmp_path):
    from nascore.testkit import toy_curve_evaluator
    exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=9), GridSearch(),
                        _config(tmp_path, "median", metric_direction="minimize"))
    exp.run()
    records = {tuple(r.sample[k] for k in "abc"): r for r in exp.store.models()}
    assert records[(2, 0, 1)].status == "early_stopped"


@pytest.mark.parametrize("stopper, words", [
    ("hyperband", "unknown early_stopper 'hyperband'; available: asha, median"),
    ({"name": "asha", "max_resorce": 9}, "early_stopper 'asha' cannot take ['max_resorce']"),
    ({"name": "asha", "reduction_factor": 1}, "ASHA: reduction_factor must be a number > 1, got 1"),
    ({"name": "asha", "reduction_factor": "3"}, "ASHA: reduction_factor must be a number > 1, got '3'"),
    ({"name": "asha", "min_resource": 4, "max_resource": 2}, "ASHA: max_resource (2) must be above min_resource (4)"),
    ({"name": "median", "grace_period": 2.5}, "MedianStop: grace_period must be an integer >= 1, got 2.5"),
    ({"name": "median", "min_trials": 0}, "MedianStop: min_trials must be an integer >= 1, got 0"),
    (3, "early_stopping takes a registered stopper's name ('asha', 'median')"),
])
def test_a_bad_stopper_is_refused_when_the_config_is_made(stopper, words):
    with pytest.raises(ValidationError) as error:
        NasExperimentConfig("sequential", "simplified", early_stopping=stopper)
    assert "early_stopping" in str(error.value) and words in str(error.value), str(error.value)
    config = NasExperimentConfig("sequential", "simplified")
    with pytest.raises(ValidationError, match="early_stopping"):  # set by attribute: checked the same way
        config.early_stopping = stopper
