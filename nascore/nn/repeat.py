"""Repeat: a block stacked a (possibly searchable) number of times."""

from __future__ import annotations

import copy
from typing import Any, Callable, Optional, Sequence, Union

import torch.nn as nn

from nascore.mutable import Categorical, Mutable, Sample, current_frozen_sample

from .base import MutableModule, freeze_module_tree

__all__ = ["Repeat"]

Blocks = Union[nn.Module, Sequence[nn.Module], Callable[[int], nn.Module]]
Depth = Union[int, tuple, Mutable]


def _depth_mutable(depth: Depth, label: Optional[str]) -> tuple[Optional[Mutable], int]:
    """(depth mutable or None if fixed, maximum depth)."""
    if isinstance(depth, bool):
        raise TypeError("depth must be an int, a (min, max) tuple or a mutable")
    if isinstance(depth, int):
        if depth < 0:
            raise ValueError("depth must be >= 0")
        return None, depth
    if isinstance(depth, tuple):
        lo, hi = depth
        if not 0 <= lo <= hi:
            raise ValueError(f"depth range {depth} must satisfy 0 <= min <= max")
        return Categorical(list(range(lo, hi + 1)), label=label), hi
    if isinstance(depth, Categorical):
        return depth, max(depth.values)
    if isinstance(depth, Mutable):
        return depth, max(depth.grid())  # finite mutables only (e.g. expressions of categoricals)
    raise TypeError(f"unsupported depth {depth!r}")


def _build_blocks(blocks: Blocks, n: int) -> list[nn.Module]:
    if isinstance(blocks, nn.Module):
        return [copy.deepcopy(blocks) for _ in range(n)]
    if isinstance(blocks, (list, tuple)):
        if len(blocks) < n:
            raise ValueError(f"Repeat got {len(blocks)} blocks but the maximum depth is {n}")
        return list(blocks[:n])
    if callable(blocks):
        return [blocks(i) for i in range(n)]
    raise TypeError(f"unsupported blocks {blocks!r}")


class Repeat(MutableModule):
    """Stack ``blocks`` ``depth`` times.

    ``blocks``: a module (deep-copied per repetition), a list of modules, or ``f(index)``.
    ``depth``: an int, a ``(min, max)`` tuple (a Categorical over min..max) or a mutable.
    All ``max`` blocks are built (as ``blocks.0`` ...); the dry-run forward uses the default depth
    (the minimum for a tuple). Frozen forms are ``nn.Sequential`` of the first ``depth`` blocks.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        sample = current_frozen_sample()
        if sample is not None and (args or "blocks" in kwargs):
            blocks, depth, label = cls._parse(*args, **kwargs)
            mutable, n = _depth_mutable(depth, label)
            # build every block anyway: later labels must be numbered as in the space
            built = _build_blocks(blocks, n)
            d = mutable.freeze(sample) if mutable is not None else n
            return nn.Sequential(*built[:d])
        return super().__new__(cls)

    @staticmethod
    def _parse(blocks: Blocks, depth: Depth, *, label: Optional[str] = None) -> tuple:
        return blocks, depth, label

    def __init__(self, blocks: Blocks, depth: Depth, *, label: Optional[str] = None) -> None:
        super().__init__()
        mutable, n = _depth_mutable(depth, label)
        self.blocks = nn.ModuleList(_build_blocks(blocks, n))
        self.depth_choice: Union[int, Mutable] = n if mutable is None else self.add_mutable(mutable)

    @property
    def depth(self) -> int:
        """Depth used by the dry-run forward."""
        d = self.depth_choice
        return d.default() if isinstance(d, Mutable) else d

    @property
    def label(self) -> Optional[str]:
        d = self.depth_choice
        return getattr(d, "label", None)

    def forward(self, x: Any) -> Any:
        for block in list(self.blocks)[: self.depth]:
            x = block(x)
        return x

    def _freeze_self(self, sample: Sample) -> nn.Module:
        d = self.depth_choice
        depth = d.freeze(sample) if isinstance(d, Mutable) else d
        return nn.Sequential(*[freeze_module_tree(b, sample) for b in list(self.blocks)[:depth]])

    def extra_repr(self) -> str:
        return f"depth={self.depth_choice!r}"
