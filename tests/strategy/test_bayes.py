"""BayesOpt on a real in-process engine: search quality, isomorphic duplicates, bounded GP data, bad settings."""
from __future__ import annotations

import math

import pytest

from nascore.mutable import Categorical, MutableDict, Numerical
from nascore.strategy import Random
from nascore.strategy.bayes import BayesOpt
from nascore.strategy.sampling import sample_key

from strategy_kit import DictSpace, FunctionEngine, make_space, mean_best, peak


def test_beats_random_search_on_a_seeded_objective():
    random_mean = mean_best(lambda s: Random(seed=s), budget=50, seeds=range(3))
    bayes_mean = mean_best(lambda s: BayesOpt(seed=s), budget=50, seeds=range(3))
    assert bayes_mean > random_mean + 3.0, (bayes_mean, random_mean)  # the optimum is 0; random lands near -10


def test_mixed_space_with_numerical_leaves_improves_on_its_random_start():
    space = make_space(n=4, numerical=True)
    engine = FunctionEngine(peak, max_trials=40)
    BayesOpt(initial_samples=8, seed=0)(space, engine)
    assert len(engine.models) == 40
    start = max(m.metric for m in engine.models[:8])
    assert max(m.metric for m in engine.models) > start + 2.0
    assert all(0.0 <= m.sample["lr"] <= 1.0 for m in engine.models)


class _Symmetric:
    """x0 and x1 are interchangeable (like two parallel branches of a graph): sorted, they name the network."""

    @staticmethod
    def canonical_sample(sample):
        low, high = sorted((sample["x0"], sample["x1"]))
        return {**sample, "x0": low, "x1": high}


def _symmetric_space():
    space = DictSpace(MutableDict({f"x{i}": Categorical([0, 1, 2, 3], label=f"x{i}") for i in range(2)}
                                  | {"x2": Categorical([0, 1], label="x2")}))
    space.keep_structure(_Symmetric())
    return space


def test_isomorphic_samples_are_evaluated_once_and_the_space_is_exhausted():
    engine = FunctionEngine(lambda s: float(s["x0"] * s["x1"] + s["x2"]), max_trials=100)
    strategy = BayesOpt(initial_samples=3, seed=0)
    strategy(_symmetric_space(), engine)
    keys = [sample_key(m.sample) for m in engine.models]
    assert len(keys) == len(set(keys)) == 20  # 10 unordered pairs x 2 values of x2, not 32 labellings
    assert all(m.sample["x0"] <= m.sample["x1"] for m in engine.models)
    assert strategy.exhausted


def test_bounded_gp_data_still_searches():
    engine = FunctionEngine(peak, max_trials=40)
    BayesOpt(initial_samples=5, max_points=8, seed=1)(make_space(), engine)
    keys = [sample_key(m.sample) for m in engine.models]
    assert len(keys) == len(set(keys)) == 40
    assert max(m.metric for m in engine.models) > max(m.metric for m in engine.models[:5]) + 2.0


def test_initial_samples_follow_the_budget():
    assert BayesOpt()._initial() == 10  # no engine yet: no budget known
    strategy = BayesOpt(seed=0)
    engine = FunctionEngine(peak, max_trials=300)
    strategy.initialize(make_space(), engine)
    assert strategy._initial() == 20


@pytest.mark.parametrize("kwargs, culprit", [({"initial_samples": 0}, "initial_samples"), ({"top_k": 0}, "top_k"),
                                             ({"max_points": 1}, "max_points"),
                                             ({"random_candidates": -1}, "random_candidates")])
def test_bad_settings_name_the_culprit(kwargs, culprit):
    with pytest.raises(ValueError, match=culprit):
        BayesOpt(**kwargs)


def test_a_numerical_leaf_without_bounds_is_compared_by_value():
    space = DictSpace(MutableDict({"op": Categorical(["a", "b", "c"], label="op"),
                                   "w": Numerical(-math.inf, math.inf, mu=0.5, sigma=0.1, label="w")}))
    engine = FunctionEngine(lambda s: (1.0 if s["op"] == "b" else 0.0) - abs(s["w"] - 0.5), max_trials=15)
    BayesOpt(initial_samples=3, seed=0)(space, engine)
    assert len(engine.models) == 15
