import math
import random

import pytest

from nascore.mutable import (Categorical, CategoricalMultiple, Numerical, SampleMissingError,
                             SampleValidationError, label_scope)


def test_categorical_basics():
    with label_scope("layer1/conv"):
        k = Categorical([3, 5, 7], label="kernel")
    assert k.label == "layer1/conv/kernel"
    assert len(k) == 3 and k.values == [3, 5, 7]
    assert k.default() == 3 and list(k.grid()) == [3, 5, 7]
    assert k.freeze({"layer1/conv/kernel": 5}) == 5
    with pytest.raises(SampleValidationError) as e:
        k.freeze({"layer1/conv/kernel": 4})
    assert str(e.value) == "layer1/conv/kernel: 4 is not one of [3, 5, 7]"
    assert e.value.paths == ["layer1/conv/kernel"]
    with pytest.raises(SampleMissingError, match="missing label 'layer1/conv/kernel' in sample"):
        k.validate({})
    assert Categorical([1, 2], default=2, label="d").default() == 2
    assert not Categorical([0, 1], label="b").contains({"b": True})  # bools are not ints here
    with pytest.raises(ValueError):
        Categorical([1, 1], label="dup")


def test_categorical_random_and_memo():
    c = Categorical(["a", "b", "c"], label="x")
    seen = {c.random(random_state=i) for i in range(50)}
    assert seen == {"a", "b", "c"}
    memo = {"x": "c"}
    assert c.random(memo=memo, random_state=1) == "c" and c.default(memo) == "c"
    assert c.random(random_state=7) == c.random(random_state=random.Random(7))


def test_categorical_multiple():
    m = CategoricalMultiple([1, 2, 3, 4], n_chosen=2, label="m")
    assert m.default() == [1, 2]
    grid = list(m.grid())
    assert len(grid) == 6 and all(len(g) == 2 and g == sorted(g) for g in grid)
    for s in range(30):
        v = m.random(random_state=s)
        assert m.contains({"m": v})
    assert "order" in str(m.check_contains({"m": [2, 1]}))
    assert not m.contains({"m": [1]}) and not m.contains({"m": [1, 5]}) and not m.contains({"m": 1})
    free = CategoricalMultiple("abc", label="free")
    assert free.default() == ["a", "b", "c"]
    assert len(list(free.grid())) == 8 and free.contains({"free": []})


@pytest.mark.parametrize("kwargs", [
    dict(low=1, high=10),
    dict(low=1e-4, high=1.0, log_distributed=True),
    dict(low=-2, high=5, mu=1.0, sigma=3.0),
    dict(low=float("-inf"), high=float("inf"), mu=0.0, sigma=1.0),
    dict(low=0.0, high=1.0, quantize=0.25),
    dict(low=16, high=64, quantize=16),
])
def test_numerical_bounds(kwargs):
    n = Numerical(**kwargs, label="n")
    rng = random.Random(0)
    values = [n.random(random_state=rng) for _ in range(300)] + [n.default()]
    for g in range(1, 5):
        values += list(n.grid(granularity=g))
    for v in values:
        assert kwargs["low"] <= v <= kwargs["high"]
        assert n.contains({"n": v}), v
    if kwargs.get("quantize"):
        q = kwargs["quantize"]
        assert all(abs(v / q - round(v / q)) < 1e-9 for v in values)


def test_numerical_int_quantized_grid_is_full():
    n = Numerical(16, 64, quantize=16, label="w")
    assert list(n.grid()) == [16, 32, 48, 64]
    assert all(type(v) is int for v in n.grid())
    assert not n.contains({"w": 20}) and not n.contains({"w": 80})
    assert "not in [16, 64]" in str(n.check_contains({"w": 80}))


def test_numerical_grid_granularity_grows():
    for n in (Numerical(0, 1, label="u"), Numerical(1, 1000, log_distributed=True, label="l"),
              Numerical(-math.inf, math.inf, mu=0, sigma=1, label="g")):
        prev: set = set()
        for g in range(1, 6):
            pts = list(n.grid(granularity=g))
            assert len(pts) == 2 ** g - 1 and pts == sorted(pts)
            assert prev <= set(pts)
            prev = set(pts)
    assert list(Numerical(0, 1, label="u2").grid(granularity=1)) == [0.5]
    assert list(Numerical(0, 1, label="u3").grid(granularity=2)) == [0.25, 0.5, 0.75]


def test_numerical_defaults_and_distribution():
    assert Numerical(0, 10, label="a").default() == 5
    assert math.isclose(Numerical(1, 100, log_distributed=True, label="b").default(), 10)
    assert Numerical(-5, 5, mu=1, sigma=2, label="c").default() == 1
    log = Numerical(1e-3, 1e3, log_distributed=True, label="d")
    vals = [log.random(random_state=i) for i in range(400)]
    below_one = sum(v < 1 for v in vals) / len(vals)
    assert 0.4 < below_one < 0.6  # log-uniform: half the mass below the geometric midpoint
    with pytest.raises(ValueError):
        Numerical(0, 1, log_distributed=True, label="e")
    with pytest.raises(ValueError):
        Numerical(5, 1, label="f")
    assert not Numerical(0, 1, label="z").contains({"z": "0.5"})
