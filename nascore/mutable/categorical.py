"""Discrete choices: one value (Categorical) or a subset (CategoricalMultiple)."""

from __future__ import annotations

import itertools
import random as _random
from typing import Any, Iterable, Optional, Sequence

from .base import MutableSymbol
from .expression import Operable
from .labels import auto_label

__all__ = ["Categorical", "CategoricalMultiple"]


def _check_values(values: Sequence[Any]) -> list[Any]:
    values = list(values)
    if not values:
        raise ValueError("a categorical needs at least one value")
    seen: list[Any] = []
    for v in values:
        hash(v)  # values are compared and used as keys; unhashable ones fail here, clearly
        if any(v == s and type(v) is type(s) for s in seen):
            raise ValueError(f"duplicate value {v!r} in {values!r}")
        seen.append(v)
    return values


def _index_of(values: list[Any], value: Any) -> int:
    # type-aware lookup so True does not match 1 and 1.0 does not stand in for a str choice
    for i, v in enumerate(values):
        if v == value and (type(v) is type(value) or {type(v), type(value)} <= {int, float}):
            return i
    return -1


class Categorical(Operable, MutableSymbol):
    """Choose one of ``values``; the sample value is the value itself. Default: the first value."""

    def __init__(self, values: Iterable[Any], *, default: Any = None, label: Optional[str] = None) -> None:
        self.values = _check_values(list(values))
        if default is not None and _index_of(self.values, default) < 0:
            raise ValueError(f"default {default!r} is not one of {self.values!r}")
        self._default = self.values[0] if default is None else default
        self.label = auto_label(label)

    def __len__(self) -> int:
        return len(self.values)

    def default_value(self) -> Any:
        return self._default

    def random_value(self, rng: _random.Random) -> Any:
        return rng.choice(self.values)

    def grid_values(self, granularity: Optional[int] = None) -> Iterable[Any]:
        return list(self.values)

    def check_value(self, value: Any) -> Optional[str]:
        try:
            found = _index_of(self.values, value)
        except TypeError:
            found = -1
        return None if found >= 0 else f"{value!r} is not one of {self.values!r}"

    def equals(self, other: Any) -> bool:
        return (type(other) is type(self) and other.label == self.label
                and other.values == self.values and other._default == self._default)

    def __repr__(self) -> str:
        return f"Categorical({self.values!r}, label={self.label!r})"


class CategoricalMultiple(Operable, MutableSymbol):
    """Choose a subset of ``values``; the sample value is a list in the order of ``values``.

    ``n_chosen=None`` allows any subset (including empty). Default: the first ``n_chosen`` values,
    or all values when ``n_chosen`` is None (keeping everything is the neutral choice).
    """

    def __init__(self, values: Iterable[Any], *, n_chosen: Optional[int] = None, default: Any = None,
                 label: Optional[str] = None) -> None:
        self.values = _check_values(list(values))
        if n_chosen is not None and not 0 <= n_chosen <= len(self.values):
            raise ValueError(f"n_chosen={n_chosen} must be within 0..{len(self.values)}")
        self.n_chosen = n_chosen
        self.label = auto_label(label)
        if default is None:
            default = self.values[:n_chosen] if n_chosen is not None else list(self.values)
        reason = self.check_value(list(default))
        if reason is not None:
            raise ValueError(f"bad default for {self.label}: {reason}")
        self._default = list(default)

    def __len__(self) -> int:
        return len(self.values)

    def default_value(self) -> list[Any]:
        return list(self._default)

    def random_value(self, rng: _random.Random) -> list[Any]:
        if self.n_chosen is None:
            picked = [i for i in range(len(self.values)) if rng.random() < 0.5]
        else:
            picked = sorted(rng.sample(range(len(self.values)), self.n_chosen))
        return [self.values[i] for i in picked]

    def grid_values(self, granularity: Optional[int] = None) -> Iterable[list[Any]]:
        sizes = [self.n_chosen] if self.n_chosen is not None else range(len(self.values) + 1)
        for k in sizes:
            for combo in itertools.combinations(self.values, k):
                yield list(combo)

    def check_value(self, value: Any) -> Optional[str]:
        if not isinstance(value, (list, tuple)):
            return f"{value!r} is not a list of values from {self.values!r}"
        try:
            idx = [_index_of(self.values, v) for v in value]
        except TypeError:
            return f"{value!r} is not a list of values from {self.values!r}"
        if any(i < 0 for i in idx):
            return f"{list(value)!r} is not a subset of {self.values!r}"
        if idx != sorted(set(idx)):
            return f"{list(value)!r} must be in the order of {self.values!r} without duplicates"
        if self.n_chosen is not None and len(idx) != self.n_chosen:
            return f"{list(value)!r} must choose exactly {self.n_chosen} values"
        return None

    def _freeze(self, sample: Any) -> list[Any]:
        return list(sample[self.label])

    def equals(self, other: Any) -> bool:
        return (type(other) is type(self) and other.label == self.label and other.values == self.values
                and other.n_chosen == self.n_chosen and other._default == self._default)

    def __repr__(self) -> str:
        return f"CategoricalMultiple({self.values!r}, n_chosen={self.n_chosen}, label={self.label!r})"
