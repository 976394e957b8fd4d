"""The strategy tests' kit is the public one: :mod:`nascore.testkit` (imported here by its old name)."""
from nascore.testkit import TARGET, DictSpace, FunctionEngine, make_space, peak  # noqa: F401


def mean_best(factory, budget=100, seeds=range(5)):
    """Mean over ``seeds`` of the best :func:`peak` value ``factory(seed)`` finds in ``budget`` trials of
    :func:`make_space` (every trial is checked to have run)."""
    import statistics
    bests = []
    for seed in seeds:
        engine = FunctionEngine(peak, max_trials=budget)
        factory(seed)(make_space(), engine)
        assert len(engine.models) == budget
        bests.append(max(m.metric for m in engine.models))
    return statistics.mean(bests)
