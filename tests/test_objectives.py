import math

import pytest

from nascore.objectives import Objective, named_metrics, objective_scores, objective_values, parse_objectives


def test_parse_objectives_forms_and_default():
    assert parse_objectives({"val_acc": "max", "params": "min"}) == [Objective("val_acc", "max"),
                                                                      Objective("params", "min")]
    assert parse_objectives([("loss", "minimise")]) == [Objective("loss", "min")]
    assert parse_objectives(None, default=Objective("mse", "min")) == [Objective("mse", "min")]
    assert parse_objectives("mse", default=Objective("mse", "min")) == [Objective("mse", "min")]


def test_bad_objectives_name_the_culprit():
    with pytest.raises(ValueError, match="'params': direction must be 'max' or 'min'"):
        parse_objectives({"params": "smallest"})
    with pytest.raises(ValueError, match="declared twice"):
        parse_objectives(["a", "a"])


def test_named_metrics_merge_profile_and_report():
    assert named_metrics(0.9, {"params": 10}, default_name="accuracy") == \
        {"params": 10.0, "accuracy": 0.9, "default": 0.9}
    merged = named_metrics({"default": 0.8, "val_acc": 0.7, "params": 3, "note": "x"}, {"params": 10})
    assert merged == {"params": 3.0, "default": 0.8, "val_acc": 0.7}  # the trial's own number wins; text dropped


def test_values_and_scores_follow_direction_and_refuse_missing():
    objectives = parse_objectives({"acc": "max", "params": "min"})
    assert objective_values(objectives, {"acc": 0.5, "params": 7}) == (0.5, 7.0)
    assert objective_scores(objectives, {"acc": 0.5, "params": 7}) == (0.5, -7.0)
    assert objective_values(objectives, {"acc": 0.5}) is None
    assert objective_values(objectives, {"acc": math.nan, "params": 1}) is None
