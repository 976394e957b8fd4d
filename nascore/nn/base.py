"""MutableModule: a torch module that is also a Mutable over its whole module tree."""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterable, Optional

import torch.nn as nn

from nascore.mutable import Mutable, Sample, SampleValidationError

__all__ = ["MutableModule", "freeze_module_tree"]


class MutableModule(Mutable, nn.Module):
    """Base for modules holding mutables.

    ``mutables`` are this module's own; ``simplify()``/``check_contains()`` cover every submodule.
    ``freeze(sample)`` is the *structural* freeze: a deep copy where each mutable construct is
    replaced by the plain module the sample selects (see ``_freeze_self`` of each construct).
    """

    def add_mutable(self, mutable: Mutable) -> Mutable:
        if not isinstance(mutable, Mutable):
            raise TypeError(f"add_mutable expects a Mutable, got {type(mutable).__name__}")
        # __dict__ directly: works before nn.Module.__init__ and bypasses Module.__setattr__
        own = self.__dict__.setdefault("_nascore_mutables", [])
        if not any(m is mutable for m in own):
            own.append(mutable)
        return mutable

    @property
    def mutables(self) -> list[Mutable]:
        return list(self.__dict__.get("_nascore_mutables", []))

    def _clear_mutables(self) -> None:
        self.__dict__["_nascore_mutables"] = []

    def _named_own_mutables(self) -> Iterable[tuple[str, Mutable]]:
        for name, module in self.named_modules():
            if isinstance(module, MutableModule):
                for m in module.mutables:
                    yield name, m

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        for _, m in self._named_own_mutables():
            yield from m.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        for name, m in self._named_own_mutables():
            err = m.check_contains(sample)
            if err is not None:
                if name:
                    err.paths.insert(0, f"module {name!r}")
                return err
        return None

    def _freeze(self, sample: Sample) -> nn.Module:
        return freeze_module_tree(copy.deepcopy(self), sample)

    def _freeze_self(self, sample: Sample) -> nn.Module:
        """Turn this (already copied) module into its frozen form; may return a new module.

        Default: freeze children in place and drop own mutables.
        """
        freeze_children(self, sample)
        self._clear_mutables()
        return self

    def equals(self, other: Any) -> bool:
        return self is other


def freeze_module_tree(module: nn.Module, sample: Sample) -> nn.Module:
    """Freeze ``module`` in place (children replaced); returns the module to use instead of it."""
    if isinstance(module, MutableModule):
        return module._freeze_self(sample)
    freeze_children(module, sample)
    return module


def freeze_children(module: nn.Module, sample: Sample) -> None:
    for name, child in list(module._modules.items()):
        if child is None:
            continue
        new = freeze_module_tree(child, sample)
        if new is not child:
            module._modules[name] = new


def load_if_compatible(src: nn.Module, dst: nn.Module) -> bool:
    """Copy weights when both state dicts have the same keys and shapes (else keep dst's init)."""
    a, b = src.state_dict(), dst.state_dict()
    if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
        return False
    dst.load_state_dict(a)
    return True
