"""Turning a model space into a supernet, in place.

Every searchable construct is replaced by its supernet module (``choices.py``, ``sliced.py``) under the same
attribute name; plain modules are kept as they are, with their weights. The converted space still simplifies
to the same labels, and ``space.freeze(sample)`` returns the plain model for ``sample`` holding the
supernet's weights, so the raw format's frozen models inherit them without extra bookkeeping.
"""
from __future__ import annotations

from typing import Dict, Optional

import torch.nn as nn

from nascore.mutable import Categorical, LabeledMutable, MutableSymbol
from nascore.nn import Cell, InputChoice, LayerChoice, ModelSpace, MutationAnchor, ParameterizedModule, Repeat
from nascore.nn import MutableModule

from .choices import SuperInputChoice, SuperLayerChoice, SuperRepeat, _SuperModule
from .context import MIXED, SAMPLE, SupernetContext, UnsupportedSpaceError
from .sliced import SuperSlicedLayer

__all__ = ["convert_to_supernet", "SupernetContext", "UnsupportedSpaceError", "MIXED", "SAMPLE"]


def convert_to_supernet(space: nn.Module, mode: str = SAMPLE) -> SupernetContext:
    """Replace the searchable modules of ``space`` by supernet modules (in place) and return their context.

    ``mode``: ``"mixed"`` (DARTS: architecture weights per label) or ``"sample"`` (single path). A construct
    that cannot be handled raises :class:`UnsupportedSpaceError` naming its label. Converting twice is an
    error (the space is already a supernet).
    """
    if mode not in (MIXED, SAMPLE):
        raise ValueError(f"mode must be {MIXED!r} or {SAMPLE!r}, got {mode!r}")
    if any(isinstance(m, _SuperModule) for m in space.modules()):
        raise ValueError("this model space is already a supernet (it was converted before); build a fresh one")
    if isinstance(space, (LayerChoice, InputChoice, Repeat, ParameterizedModule)):
        raise UnsupportedSpaceError(f"the model space itself is a {type(space).__name__}; wrap it in a ModelSpace")
    context = SupernetContext(mode)
    _check_space_module(space, "")
    _convert_children(space, context, "")
    labels = dict(space.simplify()) if isinstance(space, MutableModule) else {}
    for label, mutable in labels.items():
        if isinstance(mutable, MutableSymbol) and label not in context.values and mode == MIXED:
            raise UnsupportedSpaceError(f"label {label!r} ({mutable!r}) is not used by any construct DARTS can "
                                        f"weight (LayerChoice, InputChoice with n_chosen=1, Repeat, sliced layer)")
        if not isinstance(mutable, MutableSymbol) and mode == MIXED:
            raise UnsupportedSpaceError(f"label {label!r} is a constraint ({mutable!r}); DARTS cannot honour "
                                        f"constraints, use RandomOneShot or drop it")
    if mode == MIXED:
        context.make_alphas(_device_of(space))
    return context


def search_labels(space: nn.Module) -> Dict[str, LabeledMutable]:
    return dict(space.simplify()) if isinstance(space, MutableModule) else {}


def _device_of(module: nn.Module) -> Optional[object]:
    for p in module.parameters():
        return p.device
    return None


def _check_space_module(module: nn.Module, path: str) -> None:
    if isinstance(module, ModelSpace) and module.__dict__.get("_nascore_needs_reinit"):
        labels = sorted(m.label for m in module.mutables if hasattr(m, "label"))
        raise UnsupportedSpaceError(
            f"labels {labels} are read in the __init__ of {type(module).__name__} at {path or '<root>'!r} "
            f"(ensure_frozen), so its structure changes with them and cannot share weights; use LayerChoice, "
            f"Repeat or value choices in nascore.nn layers instead")


def _convert_children(module: nn.Module, context: SupernetContext, path: str) -> None:
    for name, child in list(module._modules.items()):
        if child is None:
            continue
        child_path = f"{path}.{name}" if path else name
        new = _convert(child, context, child_path)
        if new is not child:
            module._modules[name] = new


def _convert(module: nn.Module, context: SupernetContext, path: str) -> nn.Module:
    if isinstance(module, LayerChoice):
        # candidates keep their objects (and weights); nested choices inside them are converted too
        candidates = [_convert(module[n], context, f"{path}.{n}") for n in module.names]
        return SuperLayerChoice(module.choice, candidates, context)
    if isinstance(module, InputChoice):
        if context.mode == MIXED and module.n_chosen != 1:
            raise UnsupportedSpaceError(f"InputChoice {module.label!r} at {path!r} chooses n_chosen="
                                        f"{module.n_chosen} inputs; DARTS supports n_chosen=1 only")
        return SuperInputChoice(module.choice, module.n_candidates, module.n_chosen, module.reduction, context)
    if isinstance(module, Repeat):
        _convert_children(module, context, path)
        depth = module.depth_choice
        if isinstance(depth, int):
            return module
        if context.mode == MIXED and not isinstance(depth, Categorical):
            raise UnsupportedSpaceError(f"Repeat depth {depth!r} at {path!r} is not a Categorical; DARTS weights "
                                        f"depths of a Categorical (or a (min, max) tuple) only")
        return SuperRepeat(module.blocks, depth, context, mixed=context.mode == MIXED)
    if isinstance(module, Cell) and module.merge_op == "loose_end":
        raise UnsupportedSpaceError(f"Cell {module.label!r} at {path!r} uses merge_op='loose_end', whose output "
                                    f"depends on the chosen inputs; use merge_op='all' with one-shot strategies")
    if isinstance(module, ParameterizedModule):
        if not module.mutables:
            return module
        if getattr(type(module), "_nascore_wrapped", None) is None:
            labels = sorted(module.simplify())
            raise UnsupportedSpaceError(
                f"labels {labels} are arguments of {type(module).__name__} at {path!r}, a custom "
                f"ParameterizedModule whose weights cannot be sliced; one-shot strategies share weights for "
                f"wrapped torch layers (nascore.nn.Conv2d, Linear, BatchNorm2d ...) or use a LayerChoice")
        return SuperSlicedLayer(module, context, path)
    if isinstance(module, MutationAnchor):
        return module
    _check_space_module(module, path)
    if isinstance(module, MutableModule) and not isinstance(module, (ModelSpace, Cell)) and module.mutables:
        labels = sorted(m.label for m in module.mutables if hasattr(m, "label"))
        raise UnsupportedSpaceError(f"labels {labels} belong to {type(module).__name__} at {path!r}, which "
                                    f"one-shot strategies do not know how to turn into a supernet module")
    _convert_children(module, context, path)
    return module

