import random

import pytest

import nascore.mutable as nm
from nascore.mutable import (Categorical, CategoricalMultiple, ConstraintViolation, ExpressionConstraint,
                             MutableDict, MutableList, Numerical, SampleValidationError, label_scope)


def build_space():
    with label_scope("model"):
        a = Categorical([1, 2, 3])
        b = Categorical([2, 4, 8], label="b")
        with label_scope("inner"):
            n = Numerical(0, 1, quantize=0.5)
            m = CategoricalMultiple(["x", "y", "z"], n_chosen=2)
        c = ExpressionConstraint(a * b <= 8, label="small")
        space = MutableDict({
            "width": a * 16 + 1,
            "ratio": -n,
            "pair": MutableList([a, b, "const", m]),
            "deep": MutableDict({"k": b // 2, "p": b ** 2, "gt": a > 1}),
            "check": c,
        })
    return space


def test_labels_reproducible_and_scoped():
    s1, s2 = build_space(), build_space()
    assert list(s1.simplify()) == list(s2.simplify())
    assert sorted(s1.simplify()) == [
        "model/1", "model/b", "model/inner/1", "model/inner/2", "model/small"]
    assert all(x.equals(y) for x, y in zip(s1.simplify().values(), s2.simplify().values()))
    with label_scope("outer"):
        first = nm.auto_label()
        with label_scope():  # unnamed nested scope takes the parent's next auto label
            inner = nm.auto_label()
        assert nm.current_label_scope().path == "outer"
    assert (first, inner) == ("outer/1", "outer/2/1")
    assert nm.current_label_scope() is None


def test_random_samples_validate_and_freeze():
    space = build_space()
    leaves = space.simplify()
    rng = random.Random(0)
    for _ in range(300):
        memo: dict = {}
        value = space.random(memo=memo, random_state=rng)
        assert set(memo) == {k for k, v in leaves.items() if not isinstance(v, ExpressionConstraint)}
        space.validate(memo)
        assert space.freeze(memo) == value
        a, b = memo["model/1"], memo["model/b"]
        assert a * b <= 8
        assert value["width"] == a * 16 + 1 and value["ratio"] == -memo["model/inner/1"]
        assert value["pair"] == [a, b, "const", memo["model/inner/2"]]
        assert value["deep"] == {"k": b // 2, "p": b ** 2, "gt": a > 1}


def test_errors_name_the_path():
    space = build_space()
    sample = {"model/1": 1, "model/b": 2, "model/inner/1": 0.5, "model/inner/2": ["x", "y"]}
    assert space.contains(sample)
    bad = dict(sample, **{"model/b": 5})
    err = space.check_contains(bad)
    assert isinstance(err, SampleValidationError)
    assert err.paths == ["width", "model/b"] or err.paths[-1] == "model/b"
    assert str(err).startswith("model/b: 5 is not one of [2, 4, 8]")
    err = space.check_contains(dict(sample, **{"model/1": 3, "model/b": 8}))
    assert "model/small" in str(err) and "not satisfied" in str(err)
    with pytest.raises(nm.SampleMissingError, match="missing label 'model/inner/1'"):
        space.freeze({k: v for k, v in sample.items() if k != "model/inner/1"})


def test_grid_complete_and_filtered():
    space = build_space()
    memo: dict = {}
    values = list(space.grid(memo=memo))
    # 3*3 (a, b) pairs filtered by a*b <= 8 -> 6; times 3 quantized ratios; times 3 subsets
    assert len(values) == 6 * 3 * 3
    assert len({repr(v) for v in values}) == len(values)
    assert memo and space.contains(memo)


def test_default_and_shared_labels_in_memo():
    with label_scope("s"):
        c = Categorical([3, 5], label="k")
    same = Categorical([3, 5], label="s/k")
    lst = MutableList([c, same, c + 1])
    assert list(lst.simplify()) == ["s/k"]
    for _ in range(20):
        memo: dict = {}
        v = lst.random(memo=memo)
        assert v[0] == v[1] == memo["s/k"] and v[2] == v[0] + 1
    assert lst.default() == [3, 3, 4]
    memo = {"s/k": 5}
    assert lst.default(memo) == [5, 5, 6]
    assert [g for g in lst.grid(memo={"s/k": 3})] == [[3, 3, 4]]
    conflict = MutableList([c, Categorical([3, 7], label="s/k")])
    with pytest.raises(ValueError, match="s/k"):
        conflict.simplify()


def test_expressions():
    x = Categorical([2, 4], label="x")
    e = (x * 16 + 1) // 3
    assert e.freeze({"x": 4}) == 65 // 3 and e.evaluate({"x": 2}) == 11
    assert list(e.simplify()) == ["x"]
    assert (10 - x).freeze({"x": 4}) == 6 and (2 ** x).freeze({"x": 4}) == 16
    assert abs(-x).freeze({"x": 2}) == 2
    assert nm.condition(x > 3, "big", "small").freeze({"x": 4}) == "big"
    assert nm.maximum(x, 3).freeze({"x": 2}) == 3 and nm.minimum(x, 3).freeze({"x": 2}) == 2
    assert e.equals((x * 16 + 1) // 3) and not e.equals((x * 16 + 2) // 3)
    with pytest.raises(TypeError):
        bool(x > 3)
    assert sorted(e.grid()) == [11, 21]


def test_unsatisfiable_random_raises():
    x = Categorical([1, 2], label="x")
    space = MutableList([x, ExpressionConstraint(x > 5, label="never")])
    with pytest.raises(ConstraintViolation):
        space.random(random_state=0)
    assert list(space.grid()) == []


def test_ensure_frozen_and_context():
    x = Categorical([1, 2], label="x")
    assert nm.ensure_frozen(3) == 3
    assert nm.ensure_frozen(x) is x and nm.ensure_frozen(x, default=True) == 1
    assert nm.current_frozen_sample() is None
    with nm.frozen_context({"x": 2}) as s:
        assert nm.current_frozen_sample() is s
        assert nm.ensure_frozen(x) == 2 and nm.ensure_frozen(x * 10) == 20
        with pytest.raises(SampleValidationError):
            nm.ensure_frozen(Categorical([5], label="y"))
    assert nm.current_frozen_sample() is None


def test_no_torch_import():
    import subprocess
    import sys
    code = "import sys, nascore.mutable; assert 'torch' not in sys.modules"
    import os
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root,
                   env={**os.environ, "PYTHONPATH": root})
