"""Grid search: every grid point of the space, refining numerical leaves granularity by granularity."""
from __future__ import annotations

import random as _random
from typing import Any, Dict, Iterator, Optional

from nascore.mutable import Numerical, Sample
from nascore.strategy.multi_trial import MultiTrialStrategy
from nascore.strategy.sampling import SavesRng

__all__ = ["GridSearch"]


class GridSearch(SavesRng, MultiTrialStrategy):
    """Enumerate ``grid(granularity=g)`` for g = ``granularity`` (default 1), g + 1, ...

    A higher granularity adds points between the previous ones for numerical leaves (categorical leaves give
    the same values at every granularity); points tried already are skipped. The search stops when a
    granularity brings nothing new (after one last pass over the full grid of quantized numerical leaves), so
    a finite space is enumerated exactly once; a continuous leaf keeps refining until the budget is spent.
    ``shuffle`` shuffles the points within each granularity (``seed`` makes that reproducible).
    """

    multi_objective = True  # it ranks nothing: several objectives change nothing in what it proposes

    def __init__(self, shuffle: bool = False, seed: Optional[int] = None, granularity: Optional[int] = None) -> None:
        super().__init__(dedup=True)
        if granularity is not None and granularity < 1:
            raise ValueError(f"granularity must be >= 1 or None, got {granularity!r}")
        self.shuffle = shuffle
        self.seed = seed
        self.granularity = granularity  # the constructor argument, kept so the experiment can rebuild us
        #: the granularity being enumerated now
        self.current_granularity = granularity or 1
        self.rng = _random.Random(seed)
        self._points: Optional[Iterator[Sample]] = None

    def rebuild(self) -> None:
        self._points = self._enumerate()

    def _levels(self) -> Iterator[Optional[int]]:
        assert self.space is not None
        yield self.current_granularity
        if not self.space.has_numerical:
            return  # categorical grids are the same at every granularity
        while True:
            self.current_granularity += 1
            yield self.current_granularity

    def _level_points(self, granularity: Optional[int]) -> Iterator[Sample]:
        assert self.space is not None
        return self.space.grid(granularity, self.rng if self.shuffle else None)

    def _enumerate(self) -> Iterator[Sample]:
        assert self.space is not None
        first = True
        for level in self._levels():
            new = 0
            for sample in self._level_points(level):
                if not self.is_tried(sample):
                    new += 1
                    yield sample
            if new == 0 and not first:
                break
            first = False
        # Quantized numerical leaves: the grid quantiles may skip a few values; the full grid catches them.
        if any(isinstance(leaf, Numerical) and leaf.quantize is not None for leaf in self.space.symbols.values()):
            for sample in self._level_points(None):
                if not self.is_tried(sample):
                    yield sample

    def propose(self) -> Optional[Sample]:
        if self._points is None:
            self._points = self._enumerate()
        return next(self._points, None)

    def state_dict(self) -> Dict[str, Any]:
        state = super().state_dict()
        state["granularity"] = self.current_granularity
        return state

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        super().load_extra_state(state)
        self.current_granularity = int(state.get("granularity", self.granularity or 1))

    def __repr__(self) -> str:
        return f"GridSearch(shuffle={self.shuffle}, seed={self.seed}, granularity={self.granularity})"
