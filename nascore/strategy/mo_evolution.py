"""Multi-objective regularized evolution: aging evolution whose tournaments rank by Pareto front, then by
crowding distance (NSGA-II's order), instead of by one metric."""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from nascore.mutable import Sample
from nascore.pareto import crowding_distance, non_dominated_sort
from nascore.space import ModelStatus
from nascore.strategy.evolution import RegularizedEvolution

__all__ = ["MORegularizedEvolution", "pareto_ranking"]

Scores = Optional[Tuple[float, ...]]


def pareto_ranking(scores: Sequence[Scores]) -> List[Tuple[float, float]]:
    """``(front, -crowding)`` of each entry (lower sorts better); an entry without scores comes last."""
    known = [i for i, s in enumerate(scores) if s is not None]
    ranking: List[Tuple[float, float]] = [(math.inf, 0.0)] * len(scores)
    points = [scores[i] for i in known]
    for level, front in enumerate(non_dominated_sort(points)):  # type: ignore[arg-type]
        crowding = crowding_distance(points, front)  # type: ignore[arg-type]
        for j in front:
            ranking[known[j]] = (float(level), -crowding[j])
    return ranking


class MORegularizedEvolution(RegularizedEvolution):
    """Aging evolution for several objectives.

    As :class:`~nascore.strategy.RegularizedEvolution` (random start of ``population_size`` models, tournaments
    of ``sample_size``, mutation, the oldest member leaves), but a tournament's winner is the contender on the
    best non-dominated front of the current population, ties broken by the larger crowding distance, so the
    population spreads along the whole trade-off. Objectives come from the experiment
    (``objectives={...}``); with one it behaves like the single-objective version. Failed models and models
    missing an objective's value lose every tournament.
    """

    multi_objective = True

    def __init__(self, population_size: int = 50, sample_size: int = 10, mutation_prob: float = 0.05,
                 crossover: bool = False, dedup: bool = True, seed: Optional[int] = None) -> None:
        super().__init__(population_size=population_size, sample_size=sample_size, mutation_prob=mutation_prob,
                         crossover=crossover, dedup=dedup, seed=seed)

    def _scores(self, record: Dict[str, Any]) -> Scores:
        if record["status"] != ModelStatus.Trained.value:
            return None
        if not self.objectives:
            return None if record["metric"] is None else (self.score(record["metric"]),)
        values = record.get("values")
        if values is None:
            return None
        return tuple(o.score(v) for o, v in zip(self.objectives, values))

    def rebuild(self) -> None:
        self.population.clear()
        for record in self.results:
            self._push_scores(record["sample"], self._scores(record))

    def on_record(self, record: Dict[str, Any], replayed: bool) -> None:
        self._push_scores(record["sample"], self._scores(record))

    def _push_scores(self, sample: Sample, scores: Scores) -> None:
        self.population.append((dict(sample), scores))  # type: ignore[arg-type]
        while len(self.population) > self.population_size:
            self.population.popleft()

    def _tournament(self) -> Sample:
        members = list(self.population)
        ranking = pareto_ranking([m[1] for m in members])  # type: ignore[misc]
        contenders = self.rng.sample(range(len(members)), min(self.sample_size, len(members)))
        return members[min(contenders, key=lambda i: ranking[i])][0]

    def __repr__(self) -> str:
        return (f"MORegularizedEvolution(population_size={self.population_size}, sample_size={self.sample_size}, "
                f"mutation_prob={self.mutation_prob}, seed={self.seed})")
