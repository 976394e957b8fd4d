import math

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.metric import Objective, ObjectiveConflictError, is_valid_metric, rank, resolve_objective


def test_objective_modes_and_aliases():
    assert Objective("mse", "minimize") == Objective("mse", "min")
    assert Objective().mode == "max" and Objective().direction == "maximize"
    assert Objective("loss", "min").direction == "minimize"
    assert Objective.parse("min", name="mse") == Objective("mse", "min")
    assert Objective.parse(("acc", "max")) == Objective.parse({"name": "acc", "mode": "max"}) == Objective("acc")
    with pytest.raises(ValueError, match="direction must be 'max' or 'min'"):
        Objective("x", "up")
    with pytest.raises(ValueError, match="non-empty string"):
        Objective("", "max")


def test_values_of_numbers_and_named_dicts():
    objective = Objective("acc", "max")
    assert objective.value(0.5) == 0.5
    assert objective.value({"acc": 0.7, "default": 0.1}) == 0.7
    assert objective.value({"default": 0.1}) == 0.1
    assert objective.value({"loss": 3}) is None and objective.value(None) is None and objective.value(True) is None


def test_infinite_and_missing_metrics_are_never_best():
    low = Objective("loss", "min")
    assert not is_valid_metric(math.inf) and not is_valid_metric(math.nan) and not is_valid_metric(None)
    assert low.better(1.0, 2.0) and not low.better(2.0, 1.0)
    assert not low.better(-math.inf, 1.0) and not Objective().better(math.inf, 1.0)
    assert low.score(None) == low.score(math.inf) == -math.inf
    values = [3.0, math.inf, None, 1.0, math.nan, 2.0, 1.0]
    assert rank(values, Objective("m", "max")) == [3.0, 2.0, 1.0, 1.0]
    assert rank(values, low) == [1.0, 1.0, 2.0, 3.0]
    items = [{"id": 1, "v": 5}, {"id": 2, "v": 4}, {"id": 3, "v": 5}]
    assert [i["id"] for i in rank(items, low, lambda i: i["v"])] == [2, 1, 3]  # ties keep their order


def test_resolve_objective_config_fills_in_or_contradicts():
    def fit(model):
        return 0.0

    open_evaluator = FunctionalEvaluator(fit)
    assert open_evaluator.objective is None
    assert resolve_objective(open_evaluator) == Objective("default", "max")
    assert resolve_objective(open_evaluator, "minimize") == Objective("default", "min")
    declared = FunctionalEvaluator(fit, objective=("mse", "min"))
    assert resolve_objective(declared, "min") == resolve_objective(declared) == Objective("mse", "min")
    with pytest.raises(ObjectiveConflictError, match=r"reports 'mse', where lower is better.*metric_direction"):
        resolve_objective(declared, "maximize")


def test_functional_evaluator_objective_travels_as_json():
    import json

    from nascore.evaluator import Evaluator
    evaluator = FunctionalEvaluator(math.fabs, objective=Objective("err", "min"))
    payload = json.loads(json.dumps(evaluator.to_payload()))
    again = Evaluator.from_payload(payload)
    assert again.objective == Objective("err", "min") and again == evaluator
    with pytest.raises(ValueError, match=r"FunctionalEvaluator\(objective=...\).*'max' or 'min'"):
        FunctionalEvaluator(math.fabs, objective="upwards")
