"""MutableList / MutableDict: structures whose items may be mutables or plain values."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from .base import Mutable, Sample, SampleValidationError

__all__ = ["MutableList", "MutableDict"]


def _check_items(items: Iterable[tuple[str, Any]], sample: Sample) -> Optional[SampleValidationError]:
    for key, item in items:
        if isinstance(item, Mutable):
            err = item.check_contains(sample)
            if err is not None:
                err.paths.insert(0, key)  # so the message says where in the structure it happened
                return err
    return None


def _equal_items(a: Any, b: Any) -> bool:
    if isinstance(a, Mutable) or isinstance(b, Mutable):
        return isinstance(a, Mutable) and a.equals(b)
    return bool(a == b)


class MutableList(Mutable):
    """A list whose frozen value is the list of frozen items."""

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self.items: list[Any] = list(items)

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        for item in self.items:
            if isinstance(item, Mutable):
                yield from item.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        return _check_items(((f"[{i}]", v) for i, v in enumerate(self.items)), sample)

    def _freeze(self, sample: Sample) -> list[Any]:
        return [v._freeze(sample) if isinstance(v, Mutable) else v for v in self.items]

    def equals(self, other: Any) -> bool:
        return (isinstance(other, MutableList) and len(other.items) == len(self.items)
                and all(_equal_items(a, b) for a, b in zip(self.items, other.items)))

    def append(self, item: Any) -> None:
        self.items.append(item)

    def __getitem__(self, index: int) -> Any:
        return self.items[index]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"MutableList({self.items!r})"


class MutableDict(Mutable):
    """A dict (string keys) whose frozen value is the dict of frozen items."""

    def __init__(self, items: Optional[Mapping[str, Any]] = None) -> None:
        self.items: dict[str, Any] = dict(items or {})

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        for item in self.items.values():
            if isinstance(item, Mutable):
                yield from item.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        return _check_items(((str(k), v) for k, v in self.items.items()), sample)

    def _freeze(self, sample: Sample) -> dict[str, Any]:
        return {k: v._freeze(sample) if isinstance(v, Mutable) else v for k, v in self.items.items()}

    def equals(self, other: Any) -> bool:
        return (isinstance(other, MutableDict) and list(other.items) == list(self.items)
                and all(_equal_items(self.items[k], other.items[k]) for k in self.items))

    def __getitem__(self, key: str) -> Any:
        return self.items[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.items[key] = value

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.items)

    def keys(self) -> Iterable[str]:
        return self.items.keys()

    def __repr__(self) -> str:
        return f"MutableDict({self.items!r})"
