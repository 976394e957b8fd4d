"""Local search: hill climbing over one-label neighbours, after White et al., "Local Search is State of the Art
for Neural Architecture Search Benchmarks" (2021), with best-first restarts.

A few random samples seed the search; the best result becomes the *centre*, whose neighbours (every sample that
differs in one label) are tried in random order. As soon as a neighbour beats the centre it becomes the centre
(first improvement). A centre whose neighbours are all tried without improvement is a local optimum; the search
then continues from the best result not yet used as a centre (the optimum's plateau first), and restarts from a
random sample only when every result was a centre.
"""
from __future__ import annotations

import logging
import random as _random
from typing import Dict, List, Optional, Set, Tuple

from nascore.mutable import Sample
from nascore.strategy.multi_trial import MultiTrialStrategy
from nascore.strategy.sampling import SavesRng

__all__ = ["LocalSearch"]

_logger = logging.getLogger(__name__)


class LocalSearch(SavesRng, MultiTrialStrategy):
    """Hill climbing with first improvement and best-first restarts.

    ``initial_samples``: random samples before climbing; None sizes it to the budget (a tenth of
    ``max_trial_number``, 2 to 10; 10 without a limit). Failed models count as the worst. A neighbour that breaks a
    constraint is never proposed; with ``dedup`` (default) neither is a sample already tried.
    """

    def __init__(self, initial_samples: Optional[int] = None, dedup: bool = True, seed: Optional[int] = None) -> None:
        super().__init__(dedup=dedup)
        if initial_samples is not None and initial_samples < 1:
            raise ValueError(f"initial_samples must be >= 1 (or None to size it to the budget), got {initial_samples}")
        self.initial_samples = initial_samples
        self.seed = seed
        self.rng = _random.Random(seed)
        self._scores: Dict[str, Tuple[float, Sample]] = {}
        self._centre: Optional[Tuple[float, Sample]] = None
        self._queue: List[Sample] = []
        self._expanded: Set[str] = set()

    def _initial(self) -> int:
        if self.initial_samples is not None:
            return self.initial_samples
        budget = self.trial_budget()
        return 10 if budget is None else max(2, min(10, budget // 10))

    # ---- state -------------------------------------------------------------------------------------------
    def rebuild(self) -> None:
        self._scores.clear()
        self._centre, self._queue = None, []
        for record in self.results:
            self.on_result(record["sample"], record["metric"], record["status"], replayed=True)

    def on_result(self, sample: Sample, metric: Optional[float], status: str, replayed: bool) -> None:
        score = self.score(metric)
        self._scores[self.key(sample)] = (score, dict(sample))
        if self._centre is not None and score > self._centre[0]:
            self._move_to(score, sample)  # first improvement

    def _move_to(self, score: float, sample: Sample) -> None:
        assert self.space is not None
        self._centre = (score, dict(sample))
        self._expanded.add(self.key(sample))
        self._queue = self.space.neighbours(sample, self.rng)

    def _next_centre(self) -> bool:
        """Move to the best result not yet a centre; False when there is none."""
        candidates = [(score, sample) for key, (score, sample) in self._scores.items() if key not in self._expanded]
        if not candidates:
            return False
        score, sample = max(candidates, key=lambda item: item[0])
        self._move_to(score, sample)
        return True

    # ---- proposing ---------------------------------------------------------------------------------------
    def propose(self) -> Optional[Sample]:
        while not self.stopped:
            with self.lock:
                if self.num_tried < self._initial():
                    return self.draw_untried(self.rng)
                if self._centre is None and not self._next_centre():
                    if self.num_pending() == 0:
                        return self.draw_untried(self.rng)  # nothing to climb from: a fresh start
                while self._queue:
                    candidate = self._queue.pop()
                    if not (self.dedup and self.is_tried(candidate)):
                        return candidate
                if self.num_pending() == 0:  # a local optimum: climb on from the next best result
                    self._centre = None
                    continue
            self.wait_for_result(self.poll_interval)  # a running neighbour may still improve on the centre
        return None

    def __repr__(self) -> str:
        return f"LocalSearch(initial_samples={self.initial_samples}, seed={self.seed})"
