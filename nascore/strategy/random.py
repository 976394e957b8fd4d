"""Random search: independent uniform draws from the space, by default never the same sample twice."""
from __future__ import annotations

import random as _random
from typing import Any, Dict, Optional

from nascore.mutable import Sample
from nascore.strategy.multi_trial import MultiTrialStrategy
from nascore.strategy.sampling import rng_state_from_json, rng_state_to_json

__all__ = ["Random"]


class Random(MultiTrialStrategy):
    """Sample models at random.

    ``dedup``: skip samples already tried; the search then stops once the space is exhausted (every point of
    a finite space tried, or ``max_duplicate_draws`` repeats in a row). ``seed`` makes the sequence
    reproducible.
    """

    def __init__(self, dedup: bool = True, seed: Optional[int] = None, max_duplicate_draws: int = 100) -> None:
        super().__init__(dedup=dedup, max_duplicate_draws=max_duplicate_draws)
        self.seed = seed
        self.rng = _random.Random(seed)

    def propose(self) -> Optional[Sample]:
        return self.draw_untried(self.rng)

    def state_dict(self) -> Dict[str, Any]:
        state = super().state_dict()
        state["rng"] = rng_state_to_json(self.rng)
        return state

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        if "rng" in state:
            rng_state_from_json(self.rng, state["rng"])

    def __repr__(self) -> str:
        return f"Random(dedup={self.dedup}, seed={self.seed})"
