"""Regularized (aging) evolution, after Real et al., "Regularized Evolution for Image Classifier Architecture
Search" (2019): tournament selection, mutation, and removal of the *oldest* member instead of the worst."""
from __future__ import annotations

import collections
import logging
import math
import random as _random
from typing import Deque, Optional, Tuple

from nascore.mutable import Sample
from nascore.space import ModelStatus
from nascore.strategy.multi_trial import SCORED_STATUSES, MultiTrialStrategy
from nascore.strategy.sampling import SavesRng, sample_key

__all__ = ["RegularizedEvolution"]

_logger = logging.getLogger(__name__)

#: mutations tried before falling back to a random untried sample
MAX_MUTATION_TRIES = 50


class RegularizedEvolution(SavesRng, MultiTrialStrategy):
    """Aging evolution.

    ``population_size`` and ``sample_size`` default to sizes fitted to the budget (None): a fifth of
    ``max_trial_number`` (10 to 100; 100 without a limit) and a quarter of that, so a small budget still evolves
    most of the time instead of spending it on the random phase. The first ``population_size`` models are random.
    After that each new model is a mutation of the best of ``sample_size`` members drawn from the population (the
    last ``population_size`` finished models): every label is re-drawn with probability ``mutation_prob`` and at
    least one label changes. With ``crossover``,
    a second tournament winner is mixed in label by label first. Failed models and models without a metric
    count as the worst. Mutants that break a constraint are discarded; with ``dedup`` so are repeats.
    """

    def __init__(self, population_size: Optional[int] = None, sample_size: Optional[int] = None,
                 mutation_prob: float = 0.05, crossover: bool = False, dedup: bool = True,
                 seed: Optional[int] = None) -> None:
        super().__init__(dedup=dedup)
        if population_size is not None and population_size < 1:
            raise ValueError(f"population_size must be >= 1, got {population_size}")
        if sample_size is not None and not 1 <= sample_size <= (population_size or sample_size):
            raise ValueError(f"sample_size must be within 1..population_size ({population_size}), got {sample_size}")
        if not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(f"mutation_prob must be within [0, 1], got {mutation_prob}")
        self.population_size = population_size
        self.sample_size = sample_size
        self.mutation_prob = mutation_prob
        self.crossover = crossover
        self.seed = seed
        self.rng = _random.Random(seed)
        self.population: Deque[Tuple[Sample, float]] = collections.deque()
        self._sizes: Tuple[int, int] = (population_size or 100, sample_size or 25)

    def _fit_sizes(self) -> Tuple[int, int]:
        """(population, tournament) sizes: the given ones, or fitted to the trial budget."""
        population = self.population_size
        if population is None:
            budget = self.trial_budget()
            population = 100 if budget is None else max(10, min(100, budget // 5))
        sample = self.sample_size or max(2, population // 4)
        return population, min(sample, population)

    # ---- population ----------------------------------------------------------------------------------
    def rebuild(self) -> None:
        self._sizes = self._fit_sizes()
        self.population.clear()
        for record in self.results:
            self._push(record["sample"], record["metric"], record["status"])

    def on_result(self, sample: Sample, metric: Optional[float], status: str, replayed: bool) -> None:
        self._push(sample, metric, status)

    def _push(self, sample: Sample, metric: Optional[float], status: str) -> None:
        score = self.score(metric) if status in SCORED_STATUSES else -math.inf
        self.population.append((dict(sample), score))
        while len(self.population) > self._sizes[0]:
            self.population.popleft()  # aging: the oldest goes, however good it is

    def _tournament(self) -> Sample:
        members = list(self.population)
        contenders = self.rng.sample(members, min(self._sizes[1], len(members)))
        return max(contenders, key=lambda member: member[1])[0]

    # ---- proposing -----------------------------------------------------------------------------------
    def propose(self) -> Optional[Sample]:
        if self.num_tried - self.rejected < self._sizes[0]:  # rejected samples never trained
            return self.draw_untried(self.rng)
        while not self.population:
            if self.num_pending() == 0:  # nothing finished and nothing running (e.g. state without results)
                return self.draw_untried(self.rng)
            self.wait_for_result(self.poll_interval)
            if self.stopped:
                return None
        for _ in range(MAX_MUTATION_TRIES):
            with self.lock:
                parent = self._tournament()
                if self.crossover and len(self.population) > 1:
                    other = self._tournament()
                    parent = {k: (parent[k] if self.rng.random() < 0.5 else other.get(k, parent[k])) for k in parent}
            child = self.mutate(parent)
            if child is None:
                break  # no label can change: only random samples remain
            if not self.space.contains(child):  # type: ignore[union-attr]
                continue
            if self.dedup and self.is_tried(child):
                continue
            return child
        return self.draw_untried(self.rng)

    def mutate(self, parent: Sample) -> Optional[Sample]:
        """Re-draw each label with ``mutation_prob``; make sure at least one label changes (None if none can)."""
        assert self.space is not None
        child = dict(parent)
        labels = list(self.space.symbols)
        for label in labels:
            if label not in child or self.rng.random() < self.mutation_prob:
                child[label] = self.space.resample_leaf(label, self.rng)
        if self.key(child) != self.key(parent):
            return child
        for label in self.rng.sample(labels, len(labels)):
            for _ in range(20):  # a leaf with a single value (or a rare collision) cannot change
                value = self.space.resample_leaf(label, self.rng)
                if sample_key({label: value}) != sample_key({label: parent.get(label)}):
                    child[label] = value
                    return child
        return None

    def __repr__(self) -> str:
        return (f"RegularizedEvolution(population_size={self.population_size}, sample_size={self.sample_size}, "
                f"mutation_prob={self.mutation_prob}, crossover={self.crossover}, seed={self.seed})")
