"""Core abstractions of the search-space algebra: Mutable, LabeledMutable, MutableSymbol, errors.

Framework-free on purpose: no torch here, so strategies and stores can use spaces without it.
"""

from __future__ import annotations

import itertools
import random as _random
from typing import Any, Callable, Dict, Iterable, Iterator, Optional

__all__ = [
    "Sample", "SampleValidationError", "SampleMissingError", "ConstraintViolation",
    "Mutable", "LabeledMutable", "MutableSymbol", "as_random_state",
]

Sample = Dict[str, Any]
"""A plain ``{label: value}`` dict with JSON-serialisable values."""

MAX_RANDOM_RETRIES = 1000


class SampleValidationError(ValueError):
    """A sample does not fit a space.

    ``paths`` starts with the offending label; containers and modules prepend their key / dotted
    name while the error travels up, so ``paths`` reads root-first.
    """

    def __init__(self, message: str, paths: Optional[list[str]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.paths: list[str] = list(paths or [])

    def __str__(self) -> str:
        if len(self.paths) > 1:
            return f"{self.message} (at {' -> '.join(self.paths[:-1])})"
        return self.message


class SampleMissingError(SampleValidationError):
    """A label the space needs is absent from the sample."""

    def __init__(self, label: str) -> None:
        super().__init__(f"missing label {label!r} in sample", [label])
        self.label = label


class ConstraintViolation(ValueError):
    """No value satisfying the space's constraints could be produced."""


def as_random_state(random_state: "_random.Random | int | None") -> _random.Random:
    """``random_state`` itself when it is a ``random.Random``, else a new generator seeded with it."""
    if isinstance(random_state, _random.Random):
        return random_state
    return _random.Random(random_state)


def _default_is_leaf(m: "Mutable") -> bool:
    return isinstance(m, LabeledMutable)


class Mutable:
    """Something that becomes a concrete value once a sample is given.

    Subclasses implement ``leaf_mutables``, ``check_contains`` and ``_freeze``; default/random/grid
    work generically by flattening to labelled leaves with ``simplify``. Not an ABC: nn modules
    inherit from both this and ``torch.nn.Module`` and a second metaclass would conflict.
    """

    def leaf_mutables(self, is_leaf: Callable[["Mutable"], bool]) -> Iterable["Mutable"]:
        raise NotImplementedError

    def simplify(self, is_leaf: Optional[Callable[["Mutable"], bool]] = None) -> dict[str, "LabeledMutable"]:
        """Flatten to ``{label: leaf}``; constraints are included. Conflicting labels raise ValueError."""
        result: dict[str, LabeledMutable] = {}
        for leaf in self.leaf_mutables(is_leaf or _default_is_leaf):
            if not isinstance(leaf, LabeledMutable):
                raise TypeError(f"leaf {leaf!r} has no label")
            seen = result.get(leaf.label)
            if seen is None:
                result[leaf.label] = leaf
            elif seen is not leaf and not seen.equals(leaf):
                raise ValueError(
                    f"label {leaf.label!r} is used by two different mutables: {seen!r} and {leaf!r}")
        return result

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        raise NotImplementedError

    def contains(self, sample: Sample) -> bool:
        return self.check_contains(sample) is None

    def validate(self, sample: Sample) -> None:
        err = self.check_contains(sample)
        if err is not None:
            raise err

    def freeze(self, sample: Sample) -> Any:
        """Validate ``sample`` and return the concrete value / structure it selects."""
        self.validate(sample)
        return self._freeze(sample)

    def _freeze(self, sample: Sample) -> Any:
        """Freeze without validating (callers validated already)."""
        raise NotImplementedError

    def equals(self, other: Any) -> bool:
        return self is other

    # -- generic samplers over the flattened leaves ---------------------------------------------

    def _symbols(self) -> list["MutableSymbol"]:
        return [m for m in self.simplify().values() if isinstance(m, MutableSymbol)]

    def default(self, memo: Optional[Sample] = None) -> Any:
        """Frozen value where every leaf takes its default (values already in ``memo`` win)."""
        memo = {} if memo is None else memo
        for leaf in self._symbols():
            if leaf.label not in memo:
                memo[leaf.label] = leaf.default_value()
        err = self.check_contains(memo)
        if err is not None:
            raise ConstraintViolation(f"default values do not satisfy the space: {err}")
        return self._freeze(memo)

    def random(self, memo: Optional[Sample] = None,
               random_state: "_random.Random | int | None" = None) -> Any:
        """Frozen value of a random sample; resamples while a constraint fails."""
        memo = {} if memo is None else memo
        rng = as_random_state(random_state)
        todo = [leaf for leaf in self._symbols() if leaf.label not in memo]
        last_err: Optional[SampleValidationError] = None
        for _ in range(MAX_RANDOM_RETRIES):
            trial = dict(memo)
            for leaf in todo:
                trial[leaf.label] = leaf.random_value(rng)
            last_err = self.check_contains(trial)
            if last_err is None:
                memo.update(trial)
                return self._freeze(memo)
        raise ConstraintViolation(
            f"no random sample satisfied the space after {MAX_RANDOM_RETRIES} tries; last error: {last_err}")

    def grid(self, memo: Optional[Sample] = None, granularity: Optional[int] = None) -> Iterator[Any]:
        """Every combination of the leaves' grids (in order), skipping those failing constraints."""
        memo = {} if memo is None else memo
        todo = [leaf for leaf in self._symbols() if leaf.label not in memo]
        labels = [leaf.label for leaf in todo]
        value_lists = [list(leaf.grid_values(granularity)) for leaf in todo]
        for combo in itertools.product(*value_lists):
            trial = dict(memo)
            trial.update(zip(labels, combo))
            if self.check_contains(trial) is None:
                memo.update(zip(labels, combo))
                yield self._freeze(trial)


class LabeledMutable(Mutable):
    """A mutable with a label: a key of the sample (or, for constraints, a name)."""

    label: str

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        if is_leaf(self):
            yield self


class MutableSymbol(LabeledMutable):
    """A labelled leaf whose value is read directly from ``sample[label]``."""

    def default_value(self) -> Any:
        raise NotImplementedError

    def random_value(self, rng: _random.Random) -> Any:
        raise NotImplementedError

    def grid_values(self, granularity: Optional[int] = None) -> Iterable[Any]:
        raise NotImplementedError

    def check_value(self, value: Any) -> Optional[str]:
        """Why ``value`` is not allowed (reason text), or None when it is."""
        raise NotImplementedError

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        if self.label not in sample:
            return SampleMissingError(self.label)
        reason = self.check_value(sample[self.label])
        if reason is not None:
            return SampleValidationError(f"{self.label}: {reason}", [self.label])
        return None

    def _freeze(self, sample: Sample) -> Any:
        return sample[self.label]
