"""How a module is called: arguments every call site fixes, rebinding a call to a child graph's inputs, and
the root's forward signature (defaults kept, arguments left out specialised and guarded)."""
from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn

from .errors import GraphConversionError
from .ir import Graph, Slot

__all__ = ["CallSites", "concrete_arguments", "rebind", "none_at_some_sites", "signature_of", "simple",
           "root_arguments", "root_params", "bind_examples"]

CallSites = List[Tuple[tuple, dict]]


def _has_slot(value: Any) -> bool:
    if isinstance(value, Slot):
        return True
    if isinstance(value, (tuple, list)):
        return any(_has_slot(v) for v in value)
    if isinstance(value, dict):
        return any(_has_slot(v) for v in value.values())
    return False


def simple(value: Any) -> bool:
    """A plain constant (None, bool, number, string, tuple of those): fine as a default in generated code."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, tuple) and all(simple(v) for v in value)


def signature_of(module: nn.Module) -> Optional[inspect.Signature]:
    """``module.forward``'s signature (None for ``*args``/``**kwargs`` forwards)."""
    sig = inspect.signature(module.forward)
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values()):
        return None
    return sig


def concrete_arguments(module: nn.Module, sites: CallSites) -> Dict[str, Any]:
    """Arguments that every call site passes as the same plain constant (defaults included)."""
    sig = signature_of(module)
    if sig is None or not sites:
        return {}
    common: Optional[Dict[str, Any]] = None
    for args, kwargs in sites:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return {}
        bound.apply_defaults()
        consts = {k: v for k, v in bound.arguments.items() if not _has_slot(v) and simple(v)}
        common = consts if common is None else {
            k: v for k, v in common.items() if k in consts and type(consts[k]) is type(v) and consts[k] == v}
    return common or {}


def rebind(module: nn.Module, child: Graph, args: tuple, kwargs: dict) -> tuple:
    """Call arguments for ``child`` (the graph of ``module``), positionally in its input order."""
    sig = signature_of(module)
    if sig is None:
        return tuple(args) + ((kwargs,) if kwargs else ())
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments[name] for name in child.inputs)


def none_at_some_sites(module: nn.Module, sites: CallSites) -> List[str]:
    """Arguments that some call sites pass as None and others as something else."""
    sig = signature_of(module)
    if sig is None or len(sites) < 2:
        return []
    seen: Dict[str, set] = {}
    for args, kwargs in sites:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return []
        bound.apply_defaults()
        for k, v in bound.arguments.items():
            seen.setdefault(k, set()).add(v is None)
    return [k for k, kinds in seen.items() if len(kinds) == 2]


def bind_examples(module: nn.Module, args: tuple, kwargs: dict) -> Optional[Dict[str, Any]]:
    """``{argument name: example value}`` for a call (tensors copied: tracing may assign into them); a
    ``*xs`` parameter is keyed ``"*xs"`` (the name of torch.fx's placeholder), its value the tuple."""
    sig = inspect.signature(module.forward)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    copy = lambda v: v.detach().clone() if isinstance(v, torch.Tensor) else v  # noqa: E731
    out: Dict[str, Any] = {}
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            out[f"*{name}"] = tuple(map(copy, value))
        elif kind is inspect.Parameter.VAR_KEYWORD:
            out[f"**{name}"] = {k: copy(v) for k, v in value.items()}
        else:
            out[name] = copy(value)
    return out


def root_params(module: nn.Module) -> List[inspect.Parameter]:
    """The root's forward parameters (without ``self``); empty for ``*args`` forwards."""
    sig = signature_of(module)
    return [] if sig is None else list(sig.parameters.values())


def root_arguments(module: nn.Module, example_inputs: Optional[tuple]) -> Tuple[Dict[str, Any], List[str]]:
    """``(fixed, optional)`` for the model itself. ``fixed``: arguments specialised to a constant (the
    generated forward keeps them with that default and raises if called with another value): with example
    inputs, those left out or passed as None or as a plain Python value. ``optional``: parameters with a
    plain default that the caller may leave out and that the converter tries to keep as arguments."""
    params = root_params(module)
    optional = [p.name for p in params if p.default is not p.empty and simple(p.default)]
    sig = signature_of(module)
    if example_inputs is None or sig is None:
        return {}, optional
    try:
        bound = sig.bind(*example_inputs)
    except TypeError as exc:
        raise GraphConversionError(
            f"example_inputs do not fit {type(module).__name__}.forward{sig}: {exc}", path="",
            fix="pass the positional arguments of one call, e.g. example_inputs=(x,)") from exc
    fixed = {p.name: p.default for p in params if p.name not in bound.arguments and p.default is not p.empty}
    fixed.update({k: v for k, v in bound.arguments.items() if simple(v)})
    return fixed, []
