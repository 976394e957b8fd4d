"""In-process runs of strategies on a NAS-Bench-Graph table, with no trial processes (milliseconds per trial).

``TableSpace`` is a light ``ExecutableModelSpace`` over the leaves of ``NasBenchGraphSpace`` (the same labels,
values and constraint, so strategies see exactly the benchmark's space) and ``TableEngine`` answers each
submitted model from the table at once through the usual events. Used by ``bench_strategy``.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional


def in_process_classes():
    """``(TableSpace, TableEngine)``: a space over given leaves and an engine answering each model at once."""
    from nascore.engine import Budget, ExecutionEngine, FinalMetricEvent, TrainingEndEvent
    from nascore.space import ExecutableModelSpace

    class TableSpace(ExecutableModelSpace):
        def __init__(self, leaves):
            super().__init__()
            self.leaves = leaves

        def simplify(self, is_leaf=None):
            return dict(self.leaves)

        def freeze(self, sample):
            self.validate(sample)
            return self._mark_frozen(TableSpace(self.leaves), sample)

    class TableEngine(ExecutionEngine):
        """Evaluates each model with ``evaluate(sample) -> metrics dict`` as soon as it is submitted."""

        def __init__(self, evaluate: Callable[[Dict[str, Any]], Dict[str, float]], budget: int):
            super().__init__()
            self.evaluate, self.budget, self.models = evaluate, Budget(max_trial_number=budget), []

        def submit_models(self, *models):
            for model in models:
                self.budget.consume()
                self.models.append(model)
                self.dispatch_model_event(FinalMetricEvent(model, metric=self.evaluate(model.sample)))
                self.dispatch_model_event(TrainingEndEvent(model))

        def list_models(self, status=None):
            return list(self.models)

        def idle_worker_available(self):
            return True

        def budget_available(self):
            return self.budget.available()

        def shutdown(self):
            pass

    return TableSpace, TableEngine


def make_strategy(name: str, seed: int) -> Any:
    """The registered multi-trial strategy ``name`` at its default settings, seeded when it takes a seed."""
    from nascore.plugins import get_plugin_manager
    from nascore.specs import resolve_reference

    cls = resolve_reference(get_plugin_manager().get_strategy(name).factory)
    takes_seed = "seed" in inspect.signature(cls).parameters
    return cls(seed=seed) if takes_seed else cls()


def multi_trial_strategies() -> List[str]:
    from nascore.plugins import get_plugin_manager
    from nascore.specs import StrategySpec

    manager = get_plugin_manager()
    return [name for name in manager.names(StrategySpec.component)
            if manager.get_strategy(name).kind == "multi-trial"]


def run_on_table(strategy: Any, dataset: str, budget: int) -> List[Dict[str, Any]]:
    """Run ``strategy`` for ``budget`` trials on ``dataset``; one dict per trial in submission order:
    ``valid``, ``test`` (accuracies), ``latency``, ``params`` and ``key`` (the table's architecture key)."""
    from nascore_nasbench import NasBenchGraphSpace, load_table
    from nascore_nasbench.table import PROTEINS_OPS

    table = load_table(dataset)
    space = NasBenchGraphSpace(PROTEINS_OPS) if dataset == "proteins" else NasBenchGraphSpace()
    TableSpace, TableEngine = in_process_classes()
    trials: List[Dict[str, Any]] = []

    def evaluate(sample: Dict[str, Any]) -> Dict[str, float]:
        record = table.query_sample(sample)
        trials.append({"valid": record.valid_accuracy, "test": record.test_accuracy, "key": record.key,
                       "latency": record.latency, "params": record.params})
        return record.metrics()

    table_space = TableSpace(space.simplify())
    table_space.keep_structure(space)  # the benchmark space's canonical samples: isomorphic networks are one
    strategy(table_space, TableEngine(evaluate, budget))
    return trials


def best_so_far(trials: List[Dict[str, Any]], n: int) -> Optional[Dict[str, Any]]:
    """The trial with the best validation accuracy among the first ``n`` (the first of equals)."""
    best = None
    for trial in trials[:n]:
        if best is None or trial["valid"] > best["valid"]:
            best = trial
    return best
