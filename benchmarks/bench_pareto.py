"""Multi-objective search quality: hypervolume of the found Pareto front on the NAS-Bench-Graph tables.

Objective pairs: validation accuracy (max) vs latency (min), and validation accuracy (max) vs parameters (min).
``NSGA2``, ``MORegularizedEvolution`` and ``Random`` each search a table for ``BUDGET`` trials, ``SEEDS`` seeds, in
this process (the table answers at once: this measures the strategy). Each objective is scaled to [0, 1] by the
table's own range and the reference point is the table's worst corner, so the true front's hypervolume (over all
26,206 architectures, by brute force) is at most 1. Reported per strategy: the ratio of the found front's
hypervolume to the true one (mean, std, worst seed; goal >= 0.95), and how many true-front architectures were
found. ``NASCORE_BENCH_SEEDS`` / ``NASCORE_BENCH_DATASETS`` narrow a run.
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence, Tuple

BUDGET = 100
SEEDS = 20
DATASETS = ("cora", "citeseer")
PAIRS = (("latency", "valid_accuracy vs latency"), ("params", "valid_accuracy vs params"))
#: strategy settings for a budget of 100 (populations sized so that several generations fit)
STRATEGIES = {
    "nsga2": ("nascore.strategy:NSGA2", {"population_size": 20}),
    "mo_evolution": ("nascore.strategy:MORegularizedEvolution", {"population_size": 20, "sample_size": 5,
                                                                 "mutation_prob": 0.2}),
    "random": ("nascore.strategy:Random", {}),
}


def _scaler(dataset: str, cost: str):
    from nascore_nasbench import load_table
    records = list(load_table(dataset))
    acc = [r.valid_accuracy for r in records]
    costs = [getattr(r, cost) for r in records]
    lo_a, hi_a, lo_c, hi_c = min(acc), max(acc), min(costs), max(costs)

    def scale(valid: float, value: float) -> Tuple[float, float]:
        return (valid - lo_a) / (hi_a - lo_a), (hi_c - value) / (hi_c - lo_c)
    return records, scale


def true_front(dataset: str, cost: str) -> Tuple[float, set]:
    """Hypervolume of the table's front (brute force over every architecture) and the keys on it."""
    from nascore.pareto import hypervolume, pareto_indices
    records, scale = _scaler(dataset, cost)
    points = [scale(r.valid_accuracy, getattr(r, cost)) for r in records]
    front = pareto_indices(points) if len(points) < 2000 else _front_2d(points)
    return hypervolume([points[i] for i in front], (0.0, 0.0)), {records[i].key for i in front}


def _front_2d(points: Sequence[Tuple[float, float]]) -> List[int]:
    """The non-dominated points of a 2-D set in O(n log n) (the table is too large for pairwise checks)."""
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    front, best_y = [], -float("inf")
    for i in order:
        if points[i][1] > best_y:
            front.append(i)
            best_y = points[i][1]
    return front


def search(strategy_name: str, dataset: str, cost: str, seed: int) -> Dict:
    from benchmarks.tabular import run_on_table
    from nascore.metric import Objective
    from nascore.pareto import hypervolume
    from nascore.specs import resolve_reference
    reference, kwargs = STRATEGIES[strategy_name]
    strategy = resolve_reference(reference)(seed=seed, **kwargs)
    strategy.objectives = [Objective("valid_accuracy", "max"), Objective(cost, "min")]
    trials = run_on_table(strategy, dataset, BUDGET)
    _, scale = _scaler(dataset, cost)
    points = [scale(t["valid"], t[cost]) for t in trials]
    return {"hv": hypervolume(points, (0.0, 0.0)), "keys": {t["key"] for t in trials}, "trials": len(trials)}


def _stats(values: List[float]) -> Dict[str, float]:
    mean = sum(values) / len(values)
    std = (sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)) ** 0.5
    return {"mean": round(mean, 4), "std": round(std, 4), "min": round(min(values), 4)}


def _case(strategy_name: str, dataset: str, cost: str, seeds: int) -> Dict:
    true_hv, true_keys = true_front(dataset, cost)
    runs = [search(strategy_name, dataset, cost, seed) for seed in range(seeds)]
    return {"case": "hypervolume", "strategy": strategy_name, "dataset": dataset,
            "objectives": ["valid_accuracy (max)", f"{cost} (min)"], "budget": BUDGET, "seeds": seeds,
            "hv_ratio": _stats([r["hv"] / true_hv for r in runs]), "goal": 0.95,
            "true_front_size": len(true_keys),
            "true_front_found": _stats([len(r["keys"] & true_keys) for r in runs]),
            "trials_run": _stats([r["trials"] for r in runs])}


def run() -> List[Dict]:
    from concurrent.futures import ProcessPoolExecutor
    seeds = int(os.environ.get("NASCORE_BENCH_SEEDS", SEEDS))
    datasets = os.environ.get("NASCORE_BENCH_DATASETS", ",".join(DATASETS)).split(",")
    jobs = [(name, dataset, cost, seeds) for dataset in datasets for cost, _ in PAIRS for name in STRATEGIES]
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        return list(pool.map(_case, *zip(*jobs)))
