"""Sample helpers shared by the multi-trial strategies: canonical keys, drawing, grids, space size.

Strategies work on the flattened ``{label: leaf}`` view of a model space (``model_space.simplify()``) and
freeze only the samples they submit: freezing can be costly (graph format), and the same sample means the
same model in every format, so drawing from the leaves is equivalent to ``model_space.random()``.
"""
from __future__ import annotations

import contextlib
import json
import math
import random as _random
from typing import Any, Dict, Iterable, Iterator, List, Optional

from nascore.mutable import (Categorical, ConstraintViolation, LabeledMutable, MutableSymbol, Numerical, Sample,
                             SampleValidationError)

__all__ = ["sample_key", "SpaceView", "rng_state_to_json", "rng_state_from_json", "SavesRng"]

MAX_CONSTRAINT_RETRIES = 1000
#: spaces with constraints are counted by enumeration only up to this many grid points
COUNT_LIMIT = 20000
#: grids up to this many points are shuffled exactly
SHUFFLE_LIMIT = 100000
#: fresh values drawn for a non-categorical leaf when listing a sample's neighbours
NEIGHBOUR_DRAWS = 4


def sample_key(sample: Sample) -> str:
    """A canonical string for a sample: equal samples give equal keys whatever the dict order."""
    return json.dumps(sample, sort_keys=True, separators=(",", ":"), default=repr)


def rng_state_to_json(rng: _random.Random) -> List[Any]:
    """A ``random.Random``'s state as JSON data (lists of ints)."""
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def rng_state_from_json(rng: _random.Random, state: List[Any]) -> None:
    """Restore a ``random.Random`` from :func:`rng_state_to_json`'s data."""
    version, internal, gauss = state
    rng.setstate((version, tuple(internal), gauss))


@contextlib.contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread inside the block: a strategy's tiny tensors (a controller, a GP over ~100 points)
    are slower with a thread pool, and the cores belong to the trials."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class SavesRng:
    """Mixin for a strategy drawing from ``self.rng``: the generator's state goes into ``state_dict()["rng"]``
    and comes back on resume, so a resumed search goes on with the same random sequence.
    List it before the strategy base: ``class Random(SavesRng, MultiTrialStrategy)``."""

    rng: _random.Random

    def state_dict(self) -> Dict[str, Any]:
        state = super().state_dict()  # type: ignore[misc]
        state["rng"] = rng_state_to_json(self.rng)
        return state

    def load_extra_state(self, state: Dict[str, Any]) -> None:
        super().load_extra_state(state)  # type: ignore[misc]
        if "rng" in state:
            rng_state_from_json(self.rng, state["rng"])


def _finite_count(leaf: MutableSymbol) -> Optional[int]:
    """How many values a leaf can take, or None when (practically) infinite."""
    if isinstance(leaf, Numerical):
        if leaf.quantize is None or not (math.isfinite(leaf.low) and math.isfinite(leaf.high)):
            return None
        if (leaf.high - leaf.low) / leaf.quantize > 1e6:
            return None
        return len(list(leaf.grid_values(None)))
    try:
        return len(list(leaf.grid_values(None)))
    except (NotImplementedError, TypeError, ValueError):
        return None


class SpaceView:
    """The labelled leaves of a model space, computed once, with sampling over them."""

    def __init__(self, leaves: Dict[str, LabeledMutable]) -> None:
        self.leaves = dict(leaves)
        self.symbols: Dict[str, MutableSymbol] = {k: v for k, v in self.leaves.items() if isinstance(v, MutableSymbol)}
        #: constraints and other labelled leaves that read no value but may reject a sample
        self.checks = [v for v in self.leaves.values() if not isinstance(v, MutableSymbol)]
        self._size: Optional[int] = None
        self._size_known = False

    @property
    def has_numerical(self) -> bool:
        return any(isinstance(leaf, Numerical) for leaf in self.symbols.values())

    def check(self, sample: Sample) -> Optional[SampleValidationError]:
        for leaf in self.leaves.values():
            error = leaf.check_contains(sample)
            if error is not None:
                return error
        return None

    def contains(self, sample: Sample) -> bool:
        return self.check(sample) is None

    def satisfies_checks(self, sample: Sample) -> bool:
        """Constraints only (the values come from the leaves themselves, so they are in range)."""
        return all(c.check_contains(sample) is None for c in self.checks)

    def draw(self, rng: _random.Random) -> Sample:
        """A random sample satisfying every constraint."""
        for _ in range(MAX_CONSTRAINT_RETRIES):
            sample = {label: leaf.random_value(rng) for label, leaf in self.symbols.items()}
            if self.satisfies_checks(sample):
                return sample
        raise ConstraintViolation(f"no random sample satisfied the constraints of the space after "
                                  f"{MAX_CONSTRAINT_RETRIES} draws; check that they can be met together: "
                                  f"{', '.join(c.label for c in self.checks)}")

    def resample_leaf(self, label: str, rng: _random.Random) -> Any:
        return self.symbols[label].random_value(rng)

    def neighbours(self, sample: Sample, rng: _random.Random, draws: int = NEIGHBOUR_DRAWS) -> List[Sample]:
        """Samples differing from ``sample`` in one label that satisfy the constraints, shuffled: every other
        value of a categorical leaf, ``draws`` fresh values of any other leaf."""
        found: Dict[str, Sample] = {}
        own = sample_key(sample)
        for label, leaf in self.symbols.items():
            values = leaf.values if isinstance(leaf, Categorical) else \
                [leaf.random_value(rng) for _ in range(draws)]
            for value in values:
                candidate = {**sample, label: value}
                key = sample_key(candidate)
                if key != own and key not in found and self.satisfies_checks(candidate):
                    found[key] = candidate
        result = list(found.values())
        rng.shuffle(result)
        return result

    def grid(self, granularity: Optional[int] = None, rng: Optional[_random.Random] = None) -> Iterator[Sample]:
        """Every combination of the leaves' grid values at ``granularity`` that satisfies the constraints, in
        order, or shuffled with ``rng`` (a full shuffle up to SHUFFLE_LIMIT points; beyond that a lazy affine
        permutation of the indices over shuffled value lists, so a huge grid is never materialised)."""
        labels = list(self.symbols)
        value_lists = [list(self.symbols[label].grid_values(granularity)) for label in labels]
        total = math.prod(len(values) for values in value_lists)
        if rng is None:
            indices: Iterable[int] = range(total)
        elif total <= SHUFFLE_LIMIT:
            indices = list(range(total))
            rng.shuffle(indices)  # type: ignore[arg-type]
        else:
            for values in value_lists:
                rng.shuffle(values)
            step = rng.randrange(1, total)
            while math.gcd(step, total) != 1:
                step += 1
            offset = rng.randrange(total)
            indices = ((offset + i * step) % total for i in range(total))
        for index in indices:
            sample: Sample = {}
            for label, values in zip(reversed(labels), reversed(value_lists)):  # mixed radix, last leaf fastest
                index, digit = divmod(index, len(values))
                sample[label] = values[digit]
            sample = {label: sample[label] for label in labels}
            if self.satisfies_checks(sample):
                yield sample

    def size(self) -> Optional[int]:
        """Number of distinct valid samples, or None when infinite or too costly to count."""
        if not self._size_known:
            self._size_known = True
            counts = [_finite_count(leaf) for leaf in self.symbols.values()]
            if all(c is not None for c in counts):
                total = math.prod(counts)  # type: ignore[arg-type]
                if not self.checks:
                    self._size = total
                elif total <= COUNT_LIMIT:
                    self._size = sum(1 for _ in self.grid(None))
        return self._size
