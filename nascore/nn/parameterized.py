"""ParameterizedModule: a basic unit whose constructor arguments may be mutables."""

from __future__ import annotations

import inspect
from typing import Any, Optional

import torch.nn as nn

from nascore.mutable import Mutable, Sample, current_frozen_sample

from .base import MutableModule, load_if_compatible
from .trace import TracedInit, freeze_value, iter_mutables, map_values, record_init, wrap_init

__all__ = ["ParameterizedModule"]


def _concrete(value: Any) -> Any:
    """Frozen value under a frozen context, else the default (dry-run).

    Not ensure_frozen: that would also report the mutables to an enclosing ModelSpace as
    init-time reads, forcing it to re-instantiate on freeze; here the module handles them itself.
    """
    sample = current_frozen_sample()
    return map_values(value, lambda m: m.freeze(sample) if sample is not None else m.default())


class ParameterizedModule(TracedInit, MutableModule):
    """A module whose ``__init__`` arguments may be mutables (Categorical, expressions, ...).

    The arguments as given are recorded (``trace_args``/``trace_kwargs``) and their mutables are
    registered; the real ``__init__`` receives concrete values (frozen under a frozen context,
    defaults otherwise), so code inside it only sees plain numbers. The graph format treats one as a
    single node (``is_basic_unit``). Structural freeze re-creates the module with frozen arguments
    and keeps the weights when all shapes are unchanged (otherwise the weights are freshly
    initialised).
    """

    is_basic_unit = True
    _nascore_wrapped: Optional[type] = None  # the torch class a wrap() class stands for

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            wrap_init(cls, _parameterized_init)

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        base = cls._nascore_wrapped
        # args check: deepcopy/pickle call __new__ without arguments and must get a real instance
        if base is not None and (args or kwargs) and current_frozen_sample() is not None:
            return base(*_concrete(list(args)), **_concrete(kwargs))
        return super().__new__(cls)

    def frozen_init_args(self, sample: Sample) -> tuple:
        return tuple(freeze_value(list(self.trace_args), sample))

    def frozen_init_kwargs(self, sample: Sample) -> dict[str, Any]:
        """Init keyword arguments with every mutable replaced by its value in ``sample``."""
        return freeze_value(self.trace_kwargs, sample)

    def frozen_module(self, sample: Sample) -> nn.Module:
        """A new plain module built with frozen arguments (the torch class for wrapped layers)."""
        self.validate(sample)
        symbol = self._nascore_wrapped or self.trace_symbol
        return symbol(*self.frozen_init_args(sample), **self.frozen_init_kwargs(sample))

    def _freeze_self(self, sample: Sample) -> nn.Module:
        if self._nascore_wrapped is None and not self.mutables:
            return self  # nothing to decide: already the concrete module
        new = self.frozen_module(sample)
        load_if_compatible(self, new)
        return new

    @classmethod
    def wrap(cls, layer: type, *, module: Optional[str] = None) -> type:
        """A ParameterizedModule class standing for ``layer`` (a torch.nn.Module class).

        Instances are subclasses of ``layer``; under a frozen context, and after structural
        freeze, the plain ``layer`` is built instead.
        """
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            layer.__init__(self, *args, **kwargs)

        __init__.__signature__ = inspect.signature(layer.__init__)  # type: ignore[attr-defined]
        ns = {"__init__": __init__, "_nascore_wrapped": layer, "__doc__": f"Mutable-argument {layer.__name__}.",
              "__module__": module or cls.__module__, "__qualname__": layer.__name__}
        return type(layer.__name__, (cls, layer), ns)


def _parameterized_init(orig: Any, self: ParameterizedModule, args: tuple, kwargs: dict) -> None:
    record_init(self, orig, args, kwargs)
    mutables: list[Mutable] = iter_mutables(list(args)) + iter_mutables(kwargs)
    orig(self, *_concrete(list(args)), **_concrete(kwargs))
    if current_frozen_sample() is None:
        for m in mutables:
            self.add_mutable(m)
