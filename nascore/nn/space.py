"""ModelSpace: the user's top-level search space, a torch module that records how it was built."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, Optional, Sequence, Tuple

import torch.nn as nn

from nascore.mutable import Sample, current_frozen_sample, frozen_context
from nascore.mutable.frozen import _collect_mutables
from nascore.mutable.labels import _exact_scope, current_label_scope, label_scope

from .base import MutableModule, freeze_children, load_if_compatible
from .trace import TracedInit, record_init, wrap_init

__all__ = ["ModelSpace", "build_frozen", "LabelState"]

#: ``(scope path, label counter, top level)``: where in the label scopes a space was created
LabelState = Tuple[str, int, bool]
_TOP_LEVEL: LabelState = ("", 0, True)

_UNSET = object()


class ModelSpace(TracedInit, MutableModule):
    """Subclass it and build layers (with mutables) in ``__init__``.

    ``class Net(ModelSpace, label_prefix="net")`` puts every label under ``net/``. Without a
    prefix a top-level space gets a fresh label counter, so building it twice gives the same
    labels; a nested space without a prefix shares its parent's counter (no collisions).

    Built with no frozen context, the space is its own default model (dry-run). Built inside
    ``frozen_context(sample)``, it is the plain model for ``sample`` (``frozen`` is True).
    """

    _nascore_label_prefix: Optional[str] = None

    def __init_subclass__(cls, label_prefix: Any = _UNSET, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if label_prefix is not _UNSET:
            cls._nascore_label_prefix = label_prefix
        if "__init__" in cls.__dict__:
            wrap_init(cls, _space_init)

    @property
    def frozen(self) -> bool:
        return self.__dict__.get("_nascore_sample") is not None

    @property
    def sample(self) -> Optional[Sample]:
        """The sample this model was frozen with (None for a space)."""
        return self.__dict__.get("_nascore_sample")

    def _freeze(self, sample: Sample) -> nn.Module:
        frozen = super()._freeze(sample)
        if isinstance(frozen, ModelSpace):
            frozen.__dict__["_nascore_sample"] = dict(sample)
        return frozen

    def _freeze_self(self, sample: Sample) -> nn.Module:
        if self.__dict__.get("_nascore_needs_reinit"):
            # __init__ read values with ensure_frozen: its structure depends on them, so only
            # re-running it under the sample is faithful. Weights are kept when shapes allow.
            new = self.reinstantiate(sample)
            load_if_compatible(self, new)
            return new
        freeze_children(self, sample)
        self._clear_mutables()
        self.__dict__["_nascore_sample"] = dict(sample)
        return self

    @property
    def label_state(self) -> LabelState:
        """Where in the label scopes this space was created (JSON-safe); :func:`build_frozen` replays it, so a
        space built inside a user's ``label_scope("outer")`` is rebuilt with the same ``outer/...`` labels."""
        path, start, root = self.__dict__.get("_nascore_label_state", _TOP_LEVEL)
        return path, start, root

    def reinstantiate(self, sample: Sample) -> "ModelSpace":
        """Build the plain model for ``sample`` by re-running ``__init__`` under the sample, in the
        same label state this instance was created in."""
        return build_frozen(self.trace_symbol, sample, self.trace_args, self.trace_kwargs, self.label_state)


def build_frozen(model_class: Any, sample: Sample, args: Sequence[Any] = (), kwargs: Optional[Dict[str, Any]] = None,
                 label_state: Optional[Sequence[Any]] = None) -> Any:
    """``model_class(*args, **kwargs)`` built as the plain model for ``sample`` (inside its frozen context),
    in ``label_state`` (a space's :attr:`ModelSpace.label_state`; default: top level) so that the labels the
    constructor creates are the sample's keys. For formats that rebuild models from class and arguments."""
    path, start, root = tuple(label_state) if label_state is not None else _TOP_LEVEL
    scope = contextlib.nullcontext() if root else _exact_scope(path, int(start))
    with scope, frozen_context(sample):
        return model_class(*args, **(kwargs or {}))


def _space_init(orig: Any, self: ModelSpace, args: tuple, kwargs: dict) -> None:
    record_init(self, orig, args, kwargs)
    parent = current_label_scope()
    # remember the label state before __init__ so reinstantiate() can replay it
    self.__dict__["_nascore_label_state"] = (
        (parent.path, parent.last_index, False) if parent is not None else ("", 0, True))
    prefix = type(self)._nascore_label_prefix
    if prefix:
        scope = label_scope(prefix)
    elif parent is None:
        scope = label_scope()  # fresh counter: reproducible labels for top-level spaces
    else:
        scope = contextlib.nullcontext()
    sample = current_frozen_sample()
    collected: list = []
    with scope, _collect_mutables(collected):
        orig(self, *args, **kwargs)
    if sample is not None:
        self.__dict__["_nascore_sample"] = dict(sample)
    elif collected:
        for m in collected:
            self.add_mutable(m)
        self.__dict__["_nascore_needs_reinit"] = True
