"""Random, GridSearch, RegularizedEvolution and TPE on a real in-process engine."""
from __future__ import annotations

import json

import pytest

from nascore.mutable import (Categorical, CategoricalMultiple, ExpressionConstraint, MutableDict, Numerical)
from nascore.space import ModelStatus
from nascore.strategy import TPE, GridSearch, LocalSearch, PolicyBasedRL, Random, RegularizedEvolution
from nascore.strategy.bayes import BayesOpt
from nascore.strategy.sampling import sample_key

from strategy_kit import DictSpace, FunctionEngine, make_space, mean_best, peak


def _keys(engine):
    return [sample_key(m.sample) for m in engine.models]


def _small_space():
    return DictSpace(MutableDict({"a": Categorical([1, 2, 3], label="a"), "b": Categorical(["x", "y", "z"], label="b")}))


STRATEGIES = {
    "random": lambda seed: Random(seed=seed),
    "grid": lambda seed: GridSearch(shuffle=True, seed=seed),
    "evolution": lambda seed: RegularizedEvolution(population_size=4, sample_size=2, mutation_prob=0.3, seed=seed),
    "tpe": lambda seed: TPE(seed=seed, n_startup_trials=3),
    "local_search": lambda seed: LocalSearch(initial_samples=3, seed=seed),
    "policy_rl": lambda seed: PolicyBasedRL(samples_per_update=4, seed=seed),
    "bayes": lambda seed: BayesOpt(initial_samples=3, random_candidates=50, seed=seed),
}


# ---- Random -----------------------------------------------------------------------------------------------
def test_random_is_reproducible_with_a_seed():
    runs = []
    for seed in (1, 1, 2):
        engine = FunctionEngine(peak, max_trials=15)
        Random(seed=seed)(make_space(), engine)
        runs.append(_keys(engine))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert len(runs[0]) == 15


def test_random_dedup_exhausts_a_finite_space_once():
    engine = FunctionEngine(lambda s: s["a"], max_trials=100)
    strategy = Random(seed=0)
    strategy(_small_space(), engine)
    keys = _keys(engine)
    assert len(keys) == 9 and len(set(keys)) == 9
    assert strategy.exhausted
    assert engine.budget_available()  # it stopped for exhaustion, not for the budget


def test_random_without_dedup_repeats_and_stops_on_budget():
    engine = FunctionEngine(lambda s: s["a"], max_trials=30)
    strategy = Random(dedup=False, seed=0)
    strategy(_small_space(), engine)
    assert len(engine.models) == 30
    assert len(set(_keys(engine))) < 30
    assert not strategy.exhausted


# ---- GridSearch -------------------------------------------------------------------------------------------
def test_grid_enumerates_a_constrained_finite_space_exactly_once():
    a, b = Categorical([1, 2, 3], label="a"), Categorical([1, 2, 3, 4], label="b")
    space = DictSpace(MutableDict({"a": a, "b": b, "c": ExpressionConstraint(a + b <= 5, label="small")}))
    engine = FunctionEngine(lambda s: s["a"] * s["b"], max_trials=1000)
    strategy = GridSearch()
    strategy(space, engine)
    got = [(m.sample["a"], m.sample["b"]) for m in engine.models]
    expected = [(x, y) for x in (1, 2, 3) for y in (1, 2, 3, 4) if x + y <= 5]
    assert got == expected  # in grid order, once each, constraint respected
    assert strategy.exhausted


def test_grid_grows_granularity_on_numerical_leaves():
    space = DictSpace(MutableDict({"a": Categorical([0, 1], label="a"), "lr": Numerical(0.0, 1.0, label="lr")}))
    engine = FunctionEngine(lambda s: s["lr"], max_trials=14)
    strategy = GridSearch()
    strategy(space, engine)
    lrs = [m.sample["lr"] for m in engine.models]
    assert lrs[:2] == [0.5, 0.5]                               # granularity 1: the median
    assert sorted(set(lrs[2:6])) == [0.25, 0.75]               # granularity 2 adds the quartiles
    assert sorted(set(lrs[6:])) == [0.125, 0.375, 0.625, 0.875]  # granularity 3 adds the eighths
    assert len(set(_keys(engine))) == 14
    assert strategy.current_granularity == 3 and not strategy.exhausted


def test_grid_exhausts_quantized_numerical_with_every_value():
    space = DictSpace(MutableDict({"n": Numerical(0, 10, quantize=1, label="n")}))
    engine = FunctionEngine(lambda s: s["n"], max_trials=500)
    strategy = GridSearch()
    strategy(space, engine)
    assert sorted(m.sample["n"] for m in engine.models) == list(range(11))
    assert strategy.exhausted


def test_grid_shuffle_is_a_permutation_and_reproducible():
    orders = []
    for seed in (3, 3):
        engine = FunctionEngine(lambda s: 0.0, max_trials=100)
        GridSearch(shuffle=True, seed=seed)(_small_space(), engine)
        orders.append(_keys(engine))
    engine = FunctionEngine(lambda s: 0.0, max_trials=100)
    GridSearch()(_small_space(), engine)
    assert orders[0] == orders[1] and sorted(orders[0]) == sorted(_keys(engine)) and len(orders[0]) == 9


# ---- search quality ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["evolution", "tpe"])
def test_beats_random_search(name):
    factories = {
        "evolution": lambda s: RegularizedEvolution(population_size=20, sample_size=5, mutation_prob=0.2, seed=s),
        "tpe": lambda s: TPE(seed=s),
    }
    random_mean = mean_best(lambda s: Random(seed=s))
    assert mean_best(factories[name]) > random_mean + 2.0  # the optimum is 0; random lands around -7


def test_minimize_direction_is_respected():
    engine = FunctionEngine(lambda s: -peak(s), max_trials=100)  # a loss: lower is better
    strategy = RegularizedEvolution(population_size=20, sample_size=5, mutation_prob=0.2, seed=0)
    strategy.metric_direction = "minimize"
    strategy(make_space(), engine)
    best = strategy.list_models(limit=1)[0]
    assert best.metric == min(m.metric for m in engine.models) <= 3.0


# ---- exhaustion, budget, failures, constraints --------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_stops_when_the_space_is_exhausted(name):
    engine = FunctionEngine(lambda s: float(s["a"]), max_trials=200)
    strategy = STRATEGIES[name](0)
    strategy(_small_space(), engine)
    assert sorted(_keys(engine)) == sorted(set(_keys(engine))) and len(engine.models) == 9
    assert strategy.exhausted


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_stops_on_budget(name):
    engine = FunctionEngine(peak, max_trials=7)
    strategy = STRATEGIES[name](0)
    strategy(make_space(numerical=True), engine)
    assert len(engine.models) == 7 and not strategy.exhausted


@pytest.mark.parametrize("name", ["evolution", "tpe", "random"])
def test_failed_models_count_as_worst(name):
    def objective(sample):
        if sample["x0"] == TARGET0:
            raise RuntimeError("diverged")
        return peak(sample)

    engine = FunctionEngine(objective, max_trials=40)
    strategy = STRATEGIES[name](1)
    strategy(make_space(), engine)
    failed = [m for m in engine.models if m.status is ModelStatus.Failed]
    assert len(engine.models) == 40 and failed, "the objective should have failed some models"
    assert all("diverged" in m.failure_reason for m in failed)
    ranked = strategy.list_models()
    assert all(m.metric is None for m in ranked[-len(failed):])
    assert ranked[0].metric == max(m.metric for m in engine.models if m.metric is not None)
    assert all(r["metric"] is None for r in strategy.state_dict()["results"] if r["status"] == "failed")


TARGET0 = 7


@pytest.mark.parametrize("name", ["evolution", "tpe", "random"])
def test_constraints_are_never_violated(name):
    x0, x1 = Categorical(list(range(10)), label="x0"), Categorical(list(range(10)), label="x1")
    space = DictSpace(MutableDict({"x0": x0, "x1": x1, "x2": Categorical(list(range(10)), label="x2"),
                                   "cap": ExpressionConstraint(x0 + x1 <= 6, label="cap")}))
    engine = FunctionEngine(peak, max_trials=40)
    STRATEGIES[name](2)(space, engine)
    assert len(engine.models) == 40
    assert all(m.sample["x0"] + m.sample["x1"] <= 6 for m in engine.models)


def test_tpe_maps_every_leaf_kind_to_valid_samples():
    space = DictSpace(MutableDict({
        "op": Categorical(["conv", "pool", ("skip", 1)], label="op"),
        "lr": Numerical(1e-4, 1e-1, log_distributed=True, label="lr"),
        "width": Numerical(16, 128, quantize=16, label="width"),
        "drop": Numerical(0.0, 0.5, mu=0.2, sigma=0.1, label="drop"),
        "any": CategoricalMultiple(["a", "b", "c"], label="any"),
        "two": CategoricalMultiple(list(range(5)), n_chosen=2, label="two"),
        "many": CategoricalMultiple(list(range(30)), n_chosen=10, label="many"),
    }))
    engine = FunctionEngine(lambda s: -abs(s["width"] - 64) - len(s["any"]) + (s["op"] == "pool"), max_trials=25)
    TPE(seed=0, n_startup_trials=5)(space, engine)
    assert len(engine.models) == 25
    for model in engine.models:
        assert space.contains(model.sample), model.sample
        assert isinstance(model.sample["width"], int) and model.sample["width"] % 16 == 0
    assert {m.sample["op"] for m in engine.models} <= {"conv", "pool", ("skip", 1)}


def test_parallel_workers_keep_the_budget_and_finish_every_model():
    for name in sorted(STRATEGIES):
        engine = FunctionEngine(peak, max_trials=24, workers=4)
        try:
            STRATEGIES[name](0)(make_space(), engine)
        finally:
            engine.shutdown()
        assert len(engine.models) == 24, name
        assert all(m.status is ModelStatus.Trained for m in engine.models), name
        assert len(set(_keys(engine))) == 24, name


def test_stop_makes_run_return():
    strategy = Random(seed=0)

    def objective(sample):
        if len(engine.models) == 5:
            strategy.stop()
        return peak(sample)

    engine = FunctionEngine(objective, max_trials=100)
    strategy(make_space(), engine)
    assert len(engine.models) == 5 and strategy.stopped and not strategy.exhausted


def test_bad_metric_direction_is_rejected():
    with pytest.raises(ValueError, match="direction must be 'max' or 'min'"):
        Random().metric_direction = "up"
    with pytest.raises(ValueError, match="sample_size"):
        RegularizedEvolution(population_size=5, sample_size=10)


# ---- resume -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_state_dict_round_trip_resumes_without_repeating(name):
    space = make_space(n=3, k=4)  # 64 points
    first = FunctionEngine(peak, max_trials=20)
    strategy = STRATEGIES[name](5)
    strategy(space, first)
    state = json.loads(json.dumps(strategy.state_dict()))  # must be JSON

    resumed = STRATEGIES[name](5)
    resumed.load_state_dict(state, models=first.models)
    second = FunctionEngine(peak, max_trials=30)
    resumed(space, second)
    before, after = set(_keys(first)), _keys(second)
    assert len(after) == 30 and len(set(after)) == 30
    assert not before & set(after), "a resumed strategy submitted a sample that already has a result"
    assert len(resumed.results) == 50


def test_resume_from_models_alone_and_from_state_alone():
    space = _small_space()
    first = FunctionEngine(lambda s: float(s["a"]), max_trials=4)
    strategy = Random(seed=0)
    strategy(space, first)
    for state, models in ((None, first.models), (strategy.state_dict(), ())):
        resumed = Random(seed=1)
        resumed.load_state_dict(state, models=models)
        second = FunctionEngine(lambda s: float(s["a"]), max_trials=100)
        resumed(space, second)
        assert sorted(_keys(first) + _keys(second)) == sorted(set(_keys(first) + _keys(second)))
        assert len(second.models) == 5 and resumed.exhausted


def test_evolution_resume_restores_the_population():
    space = make_space()
    first = FunctionEngine(peak, max_trials=30)
    strategy = RegularizedEvolution(population_size=10, sample_size=3, seed=0)
    strategy(space, first)
    resumed = RegularizedEvolution(population_size=10, sample_size=3, seed=0)
    resumed.load_state_dict(json.loads(json.dumps(strategy.state_dict())))
    resumed.initialize(space, FunctionEngine(peak, max_trials=5))
    assert list(resumed.population) == list(strategy.population)
    assert len(resumed.population) == 10


def test_loading_another_strategys_state_is_rejected():
    state = Random(seed=0).state_dict()
    with pytest.raises(ValueError, match="saved by strategy 'Random'"):
        GridSearch().load_state_dict(state)


def test_samples_without_a_result_at_save_time_may_run_again():
    space = _small_space()
    saved = {}

    def objective(sample):
        if len(first.models) == 3:
            saved.update(json.loads(json.dumps(strategy.state_dict())))  # the 3rd model is still running
        return float(sample["a"])

    first = FunctionEngine(objective, max_trials=3)
    strategy = GridSearch()
    strategy(space, first)
    assert len(saved["tried"]) == 3 and len(saved["results"]) == 2
    resumed = GridSearch()
    resumed.load_state_dict(saved)
    second = FunctionEngine(lambda s: float(s["a"]), max_trials=100)
    resumed(space, second)
    assert second.models[0].sample == first.models[2].sample  # re-run: it had no result
    assert len(second.models) == 7 and resumed.exhausted


def test_models_already_in_the_engine_are_not_submitted_again():
    space = _small_space()
    engine = FunctionEngine(lambda s: float(s["a"]), max_trials=4)
    Random(seed=0)(space, engine)
    engine.budget.max_trial_number = 100
    later = RegularizedEvolution(population_size=2, sample_size=1, seed=0)
    later(space, engine)
    assert len(engine.models) == 9 and len(set(_keys(engine))) == 9 and later.exhausted
    assert len(later.results) == 9


def test_huge_shuffled_grid_is_a_lazy_permutation(monkeypatch):
    from nascore.strategy import sampling
    monkeypatch.setattr(sampling, "SHUFFLE_LIMIT", 4)
    engine = FunctionEngine(lambda s: 0.0, max_trials=100)
    GridSearch(shuffle=True, seed=1)(_small_space(), engine)
    in_order = FunctionEngine(lambda s: 0.0, max_trials=100)
    GridSearch()(_small_space(), in_order)
    assert sorted(_keys(engine)) == sorted(_keys(in_order)) and _keys(engine) != _keys(in_order)


def test_last_points_of_a_countable_space_are_found_not_guessed():
    engine = FunctionEngine(lambda s: 0.0, max_trials=100)
    strategy = Random(seed=0, max_duplicate_draws=1)  # random draws give up at once; the rest is enumerated
    strategy(_small_space(), engine)
    assert len(engine.models) == 9 and len(set(_keys(engine))) == 9 and strategy.exhausted
