"""NSGA-II through Optuna's ``NSGAIISampler``, with the space's choices mapped to Optuna parameters exactly as
:class:`~nascore.strategy.TPE` maps them (same codec, same ask/tell loop, same rejection handling)."""
from __future__ import annotations

import math
from typing import Any, Dict, Optional, Tuple

import optuna
from optuna.trial import TrialState

from nascore.space import ModelStatus
from nascore.strategy.tpe import TPE

__all__ = ["NSGA2"]


class NSGA2(TPE):
    """Multi-objective search with NSGA-II (non-dominated sorting + crowding distance, generation by
    generation), backed by ``optuna.samplers.NSGAIISampler``.

    Optimises every objective the experiment declares (``objectives={"val_acc": "max", "params": "min"}``);
    with a single objective it is a plain genetic algorithm. The first ``population_size`` samples are random;
    each later generation is bred from the best fronts so far. A model without a value for every objective
    (failed, or missing a metric) is told to Optuna as failed. Extra keyword arguments go to
    ``NSGAIISampler`` (``mutation_prob``, ``crossover_prob``, ``swapping_prob`` ...).
    """

    multi_objective = True

    def __init__(self, seed: Optional[int] = None, population_size: int = 20, dedup: bool = True,
                 max_rejected_asks: int = 20, **sampler_kwargs: Any) -> None:
        if population_size < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size}")
        super().__init__(seed=seed, dedup=dedup, max_rejected_asks=max_rejected_asks, **sampler_kwargs)
        self.population_size = population_size
        self.trace_kwargs = {"seed": seed, "population_size": population_size, "dedup": dedup,
                             "max_rejected_asks": max_rejected_asks, **sampler_kwargs}

    def _create_study(self, seed: Optional[int]) -> "optuna.Study":
        sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=self.population_size,
                                                **self.sampler_kwargs)
        directions = [o.direction for o in self.objectives] or [self.metric_direction]
        return optuna.create_study(directions=directions, sampler=sampler)

    def _outcome(self, record: Dict[str, Any]) -> Tuple[TrialState, Any]:
        if record["status"] != ModelStatus.Trained.value:
            return TrialState.FAIL, None
        values = record.get("values") if self.objectives else [record["metric"]]
        if values is None or any(v is None or not math.isfinite(v) for v in values):
            return TrialState.FAIL, None
        return TrialState.COMPLETE, [float(v) for v in values]

    def __repr__(self) -> str:
        return f"NSGA2(seed={self.seed}, population_size={self.population_size}, dedup={self.dedup})"
