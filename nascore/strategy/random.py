"""Random search: independent uniform draws from the space, by default never the same sample twice."""
from __future__ import annotations

import random as _random
from typing import Optional

from nascore.mutable import Sample
from nascore.strategy.multi_trial import MultiTrialStrategy
from nascore.strategy.sampling import SavesRng

__all__ = ["Random"]


class Random(SavesRng, MultiTrialStrategy):
    """Sample models at random.

    ``dedup``: skip samples already tried; the search then stops once the space is exhausted (every point of
    a finite space tried, or ``max_duplicate_draws`` repeats in a row). ``seed`` makes the sequence
    reproducible.
    """

    multi_objective = True  # it ranks nothing: several objectives change nothing in what it proposes

    def __init__(self, dedup: bool = True, seed: Optional[int] = None, max_duplicate_draws: int = 100) -> None:
        super().__init__(dedup=dedup, max_duplicate_draws=max_duplicate_draws)
        self.seed = seed
        self.rng = _random.Random(seed)

    def propose(self) -> Optional[Sample]:
        return self.draw_untried(self.rng)

    def __repr__(self) -> str:
        return f"Random(dedup={self.dedup}, seed={self.seed})"
