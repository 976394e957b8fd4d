"""Strategy overhead per proposed model (propose + freeze + bookkeeping of the result).

Each built-in strategy proposes 300 models of a 12-leaf space (10 categoricals of 8 values, a log-uniform and
a quantized numerical) to an in-process engine whose "training" is a closed-form objective, so what is timed is
the strategy. A bare loop drawing as many random samples from the leaves is measured side by side as the
baseline; TPE's cost is mostly Optuna's sampler and grows with the number of finished trials.
"""
from __future__ import annotations

import time
from typing import Dict, List

TRIALS = 300


def _setup():
    from nascore.engine import Budget, ExecutionEngine, FinalMetricEvent, TrainingEndEvent
    from nascore.mutable import Categorical, MutableDict, Numerical
    from nascore.space import ExecutableModelSpace

    class Space(ExecutableModelSpace):
        def __init__(self, mutable):
            super().__init__()
            self.mutable = mutable

        def simplify(self, is_leaf=None):
            return self.mutable.simplify(is_leaf)

        def freeze(self, sample):
            self.validate(sample)
            return self._mark_frozen(Space(self.mutable), sample)

    class Engine(ExecutionEngine):
        def __init__(self):
            super().__init__()
            self.budget, self.models = Budget(max_trial_number=TRIALS), []

        def submit_models(self, *models):
            for model in models:
                self.budget.consume()
                self.models.append(model)
                value = -sum((v if isinstance(v, (int, float)) else 0) for v in model.sample.values())
                self.dispatch_model_event(FinalMetricEvent(model, metric=float(value)))
                self.dispatch_model_event(TrainingEndEvent(model))

        def list_models(self, status=None):
            return self.models

        def idle_worker_available(self):
            return True

        def budget_available(self):
            return self.budget.available()

        def shutdown(self):
            pass

    items = {f"c{i}": Categorical(list(range(8)), label=f"c{i}") for i in range(10)}
    items["lr"] = Numerical(1e-4, 1e-1, log_distributed=True, label="lr")
    items["width"] = Numerical(16, 256, quantize=16, label="width")
    return Space(MutableDict(items)), Engine


def run() -> List[Dict]:
    import random

    from nascore.strategy import TPE, GridSearch, Random, RegularizedEvolution
    from nascore.strategy.sampling import SpaceView

    space, Engine = _setup()
    view, rng = SpaceView(space.simplify()), random.Random(0)
    started = time.perf_counter()
    for _ in range(TRIALS):
        view.draw(rng)
    bare_ms = (time.perf_counter() - started) * 1000 / TRIALS

    results = [{"case": "bare_draw", "ms_per_model": round(bare_ms, 4)}]
    for name, strategy in [("random", Random(seed=0)), ("grid", GridSearch()),
                           ("evolution", RegularizedEvolution(population_size=50, sample_size=10, seed=0)),
                           ("tpe", TPE(seed=0))]:
        engine = Engine()
        started = time.perf_counter()
        strategy(space, engine)
        ms = (time.perf_counter() - started) * 1000 / len(engine.models)
        results.append({"case": name, "models": len(engine.models), "ms_per_model": round(ms, 3),
                        "ratio_to_bare_draw": round(ms / bare_ms, 1)})
    return results
