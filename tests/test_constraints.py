import pytest

from nascore.constraints import Constraint, ConstraintError, parse_constraints


def test_string_constraints_read_and_check():
    c = Constraint("params <= 1_000_000")
    assert c.names == ["params"] and c.violation({"params": 1e6}) is None
    assert c.violation({"params": 1_000_001}) == "params = 1000001, wanted <= 1000000"
    assert Constraint("latency_ms < 2.5").violation({"latency_ms": 3.25}) == "latency_ms = 3.25, wanted < 2.5"
    flipped = Constraint("5 > latency_ms")
    assert flipped.violation({"latency_ms": 4.9}) is None and flipped.violation({"latency_ms": 5}) is not None
    assert Constraint("model/width != 8").violation({"model/width": 8}) is not None


def test_stage_follows_the_names():
    model_names = {"params", "width"}
    assert Constraint("params < 3").resolve_stage(model_names) == "model"
    assert Constraint("val_acc >= 0.9").resolve_stage(model_names) == "trained"
    assert Constraint(lambda v: True).resolve_stage(model_names) == "model"
    assert Constraint(lambda v: True, stage="trained").resolve_stage(model_names) == "trained"


def test_bad_or_missing_inputs_are_errors_not_guesses():
    with pytest.raises(ConstraintError, match="cannot read constraint 'params <<= 3'"):
        Constraint("params <<= 3")
    with pytest.raises(ConstraintError, match="names 'parms'.*known names: params"):
        Constraint("parms < 3").violation({"params": 1})
    with pytest.raises(ConstraintError, match="read 'depth'"):
        Constraint(lambda v: v["depth"] < 2, name="shallow").violation({"width": 1})
    with pytest.raises(ConstraintError, match="a constraint is a string"):
        parse_constraints([3])


def test_callables_and_lists():
    items = parse_constraints(["a < 1", lambda v: v["a"] > -1])
    assert [c.violation({"a": 0}) for c in items] == [None, None]
    assert items[1].violation({"a": -5}).endswith("is not met")
