"""Strategy quality on a tabular NAS benchmark, and strategy overhead per proposed model.

Quality (``case: "regret"``): every registered multi-trial strategy at its default settings searches the
NAS-Bench-Graph tables of cora, citeseer, pubmed and computers for ``BUDGET`` trials, ``SEEDS`` seeds each, in this
process (tables answer at once, so this measures the strategy, not training). Per strategy and data set: mean and
std of the best validation accuracy after 25/50/100 trials, regret (points of validation accuracy below the
table's optimum), test accuracy of the picked architecture (best validation so far) and distinct architectures
evaluated (isomorphic samples count once). ``NASCORE_BENCH_SEEDS`` / ``NASCORE_BENCH_STRATEGIES`` narrow a run;
``NASCORE_BENCH_DATASETS`` picks the tables: a comma-separated list, ``heldout`` (the tables no strategy was tuned
on: cs, physics, photo, arxiv, proteins) or ``all``. The summary line marks the default strategy (the one an
experiment without a strategy gets).

Overhead (``case`` = a strategy name):

Each built-in strategy proposes 300 models of a 12-leaf space (10 categoricals of 8 values, a log-uniform and
a quantized numerical) to an in-process engine whose "training" is a closed-form objective, so what is timed is
the strategy. A bare loop drawing as many random samples from the leaves is measured side by side as the
baseline; TPE's cost is mostly Optuna's sampler and grows with the number of finished trials; BayesOpt's is
the GP fit and grows with the results up to its ``max_points``.
"""
from __future__ import annotations

import time
from typing import Dict, List

TRIALS = 300


def _setup():
    """A 12-leaf space and a factory of engines whose "training" is a closed-form objective (the same in-process
    space and engine as the table runs, ``benchmarks.tabular``)."""
    from benchmarks.tabular import in_process_classes
    from nascore.mutable import Categorical, Numerical

    TableSpace, TableEngine = in_process_classes()
    leaves = {f"c{i}": Categorical(list(range(8)), label=f"c{i}") for i in range(10)}
    leaves["lr"] = Numerical(1e-4, 1e-1, log_distributed=True, label="lr")
    leaves["width"] = Numerical(16, 256, quantize=16, label="width")

    def objective(sample):
        return float(-sum((v if isinstance(v, (int, float)) else 0) for v in sample.values()))

    return TableSpace(leaves), lambda: TableEngine(objective, TRIALS)


BUDGET = 100
SEEDS = 20
DATASETS = ("cora", "citeseer", "pubmed", "computers")
#: tables kept out of strategy tuning, to check that improvements generalise
HELD_OUT = ("cs", "physics", "photo", "arxiv", "proteins")
CHECKPOINTS = (25, 50, 100)


def mean_std(values: List[float]) -> Dict[str, float]:
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
    return {"mean": round(mean, 4), "std": round(std, 4)}


def regret_of(strategy_name: str, dataset: str, seeds: int = SEEDS, budget: int = BUDGET) -> Dict:
    """One result line: ``strategy_name`` on ``dataset`` over ``seeds`` seeds."""
    import torch

    from benchmarks.tabular import best_so_far, make_strategy, run_on_table
    from nascore_nasbench import load_table

    torch.set_num_threads(1)  # two worker processes share the cores; strategies' tensors are tiny

    table = load_table(dataset)
    optimum = table.optimum.valid_accuracy
    runs = [run_on_table(make_strategy(strategy_name, seed), dataset, budget) for seed in range(seeds)]
    result: Dict = {"case": "regret", "strategy": strategy_name, "dataset": dataset, "seeds": seeds,
                    "budget": budget, "optimum_valid": round(optimum, 4)}
    for n in CHECKPOINTS:
        if n > budget:
            continue
        best = [best_so_far(trials, n) for trials in runs]
        result[f"best_valid@{n}"] = mean_std([100 * b["valid"] for b in best])
        result[f"regret@{n}"] = mean_std([100 * (optimum - b["valid"]) for b in best])
    picked = [best_so_far(trials, budget) for trials in runs]
    result["test_of_picked"] = mean_std([100 * b["test"] for b in picked])
    result["distinct_architectures"] = mean_std([len({t["key"] for t in trials}) for trials in runs])
    result["trials_run"] = mean_std([len(trials) for trials in runs])
    return result


def regret_results() -> List[Dict]:
    import os
    from concurrent.futures import ProcessPoolExecutor

    from benchmarks.tabular import multi_trial_strategies

    from nascore.experiment import NasExperimentConfig
    from nascore.experiment.defaults import default_strategy

    seeds = int(os.environ.get("NASCORE_BENCH_SEEDS", SEEDS))
    names = os.environ.get("NASCORE_BENCH_STRATEGIES")
    strategies = names.split(",") if names else multi_trial_strategies()
    datasets = _datasets(os.environ.get("NASCORE_BENCH_DATASETS", ""))
    default = default_strategy(NasExperimentConfig())
    jobs = [(name, dataset, seeds) for name in strategies for dataset in datasets]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(regret_of, *zip(*jobs)))
    for name in strategies:
        mine = [r for r in results if r["strategy"] == name]
        results.append({"case": "regret_summary", "strategy": name, "default": name == default,
                        "datasets": ",".join(datasets),
                        "worst_regret@100": max(r[f"regret@{BUDGET}"]["mean"] for r in mine),
                        "mean_regret@100": round(sum(r[f"regret@{BUDGET}"]["mean"] for r in mine) / len(mine), 4)})
    return results


def _datasets(value: str) -> List[str]:
    from nascore_nasbench.table import check_dataset

    if value in ("", "tuned"):
        return list(DATASETS)
    if value == "heldout":
        return list(HELD_OUT)
    if value == "all":
        return list(DATASETS + HELD_OUT)
    return [check_dataset(name.strip()) for name in value.split(",") if name.strip()]


def run() -> List[Dict]:
    return regret_results() + overhead_results()


def overhead_results() -> List[Dict]:
    import random

    from nascore.strategy import TPE, BayesOpt, GridSearch, LocalSearch, Random, RegularizedEvolution
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
                           ("tpe", TPE(seed=0)), ("local_search", LocalSearch(seed=0)),
                           ("bayes", BayesOpt(seed=0))]:
        engine = Engine()
        started = time.perf_counter()
        strategy(space, engine)
        ms = (time.perf_counter() - started) * 1000 / len(engine.models)
        results.append({"case": name, "models": len(engine.models), "ms_per_model": round(ms, 3),
                        "ratio_to_bare_draw": round(ms / bare_ms, 1)})
    return results
