"""Scriptable stand-ins so ``torch.jit.script`` can compile a model *space*.

TorchScript cannot compile nascore's choice modules (``*args`` forwards, Python-level reductions) nor the
properties nascore's base classes add. The graph IR never looks inside a choice or a basic unit anyway (each
is one node), so before scripting we build a *shell* of the module tree: a shallow copy whose

* choice modules (LayerChoice, InputChoice, Repeat, Cell, ChosenInputs) and non-torch basic units become
  *stubs*: modules whose ``forward`` has the right parameters and return type and only raises (never run);
* wrapped torch layers (``nascore.nn.Conv2d`` ...) become their plain torch class (same attributes);
* modules of classes derived from nascore classes get a subclass that marks nascore's properties unused;
* plain torch layers stay as they are; everything else is shelled recursively.

The original modules are never modified.
"""
from __future__ import annotations

import copy
import inspect
import linecache
import typing
from typing import Any, Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn

from .units import is_basic_unit

__all__ = ["build_shell", "is_opaque"]

_STUBS: Dict[str, type] = {}
_SUBCLASSES: Dict[type, type] = {}
_SIMPLE = (bool, int, float, str, type(None))
Param = Tuple[str, str, Optional[str], bool]  # name, annotation source, default source, keyword-only


def _is_torch(cls: type) -> bool:
    return cls.__module__.startswith("torch.nn.")


def is_opaque(module: nn.Module) -> bool:
    """True for modules the shell replaces by a stub or a plain torch layer (one node in the IR)."""
    from nascore.nn import Cell, ChosenInputs, InputChoice, LayerChoice, Repeat
    if isinstance(module, (LayerChoice, InputChoice, ChosenInputs, Repeat, Cell)):
        return True
    return is_basic_unit(module) and not _is_torch(type(module))


def build_shell(module: nn.Module, shells: Dict[int, nn.Module], stubbed: frozenset = frozenset()) -> nn.Module:
    """The scriptable shell of ``module``; ``shells`` maps id(original) → shell for every module that is
    scripted for real (those whose graphs the frontend will read); ``stubbed``: ids of torch layers to stub
    too (ones TorchScript cannot compile)."""
    if id(module) in shells:
        return shells[id(module)]
    if is_opaque(module) or id(module) in stubbed:
        return _stub(module)
    if _is_torch(type(module)) and not isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
        return module  # a torch layer: scriptable as it is
    shell = copy.copy(module)
    shells[id(module)] = shell
    if any(c.__module__.startswith("nascore.") for c in type(module).__mro__[1:]):
        shell.__class__ = _scriptable_subclass(type(module))
    shell.__dict__["_modules"] = {name: None if child is None else build_shell(child, shells, stubbed)
                                  for name, child in module._modules.items()}
    return shell


def _scriptable_subclass(cls: type) -> type:
    # nascore's base classes add properties (trace_args, mutables, ...) TorchScript would try to compile
    if cls not in _SUBCLASSES:
        unused = sorted({name for base in cls.__mro__ if base.__module__.startswith("nascore.")
                         for name, v in vars(base).items() if isinstance(v, property)})
        ns = {"__jit_unused_properties__": unused, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
        _SUBCLASSES[cls] = type(cls.__name__, (cls,), ns)
    return _SUBCLASSES[cls]


# ---- stubs ------------------------------------------------------------------------------------------------
def _stub(module: nn.Module) -> nn.Module:
    from nascore.nn import ParameterizedModule
    wrapped = getattr(type(module), "_nascore_wrapped", None)
    if isinstance(module, ParameterizedModule) and wrapped is not None and _is_torch(wrapped):
        plain = copy.copy(module)
        plain.__class__ = wrapped  # the torch layer it stands for: same attributes, scriptable
        return plain
    # a forward TorchScript cannot describe (`*args`): up to 8 tensors, the ones left out dropped again
    params, ret = _call_signature(module) or (_tensor_params(1) + [
        (f"x{i}", "Optional[Tensor]", "None", False) for i in range(1, 8)], "Tensor")
    stub = _stub_class(params, ret)()
    stub.train(module.training)
    # attributes the parent's forward may read (sizes, flags, weights); the IR reads the original's values
    stub.__dict__["_parameters"] = dict(module._parameters)
    stub.__dict__["_buffers"] = dict(module._buffers)
    for name, value in module.__dict__.items():
        if not name.startswith("_") and name != "training" and _simple(value):
            stub.__dict__[name] = value
    return stub


def _call_signature(module: nn.Module) -> Optional[Tuple[List[Param], str]]:
    """How ``module`` is called, for a stub; a choice answers for its candidates (nested ones included)."""
    from nascore.nn import Cell, ChosenInputs, InputChoice, LayerChoice, Repeat
    if isinstance(module, LayerChoice):
        for cand in module.candidates:
            sig = _call_signature(cand)
            if sig is not None:
                return sig
        return None
    if isinstance(module, (InputChoice, ChosenInputs)):
        return [("inputs", "List[Tensor]", None, False)], "List[Tensor]" if module.reduction == "none" else "Tensor"
    if isinstance(module, Repeat):
        sig = _call_signature(module.blocks[0]) if len(module.blocks) else None
        return (sig[0][:1], sig[1]) if sig and sig[0] else None
    if isinstance(module, Cell):
        # cell(a, b) or cell([a, b]): the first parameter takes either form
        return [("s0", "Union[Tensor, List[Tensor]]", None, False)] + [
            (f"s{i}", "Optional[Tensor]", "None", False) for i in range(1, module.num_predecessors)], "Tensor"
    return _signature_of(module)


def _simple(value: Any) -> bool:
    if isinstance(value, _SIMPLE):
        return True
    return isinstance(value, (tuple, list)) and bool(value) and all(isinstance(v, _SIMPLE) for v in value) \
        and len({type(v) for v in value}) == 1


def _tensor_params(n: int) -> List[Param]:
    return [(f"x{i}", "Tensor", None, False) for i in range(n)]


def _signature_of(module: nn.Module) -> Optional[Tuple[List[Param], str]]:
    """Parameters and return type of ``module.forward`` as TorchScript source (None: not expressible)."""
    wrapped = getattr(type(module), "_nascore_wrapped", None)
    fn = (wrapped or type(module)).forward
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable string annotations: fall back to Tensor
        hints = {}
    params: List[Param] = []
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return None
        hint = hints.get(p.name)
        if hint is None and isinstance(p.default, (bool, int, float, str)):
            hint = type(p.default)  # `scale=2` unannotated: TorchScript would read it as a Tensor
        ann = _annotation(hint)
        default = None
        if p.default is not p.empty:
            if isinstance(p.default, _SIMPLE):
                default = repr(p.default)
                if p.default is None and not ann.startswith("Optional["):
                    ann = f"Optional[{ann}]"
            else:
                default, ann = "None", f"Optional[{ann}]"
        params.append((p.name, ann, default, p.kind is p.KEYWORD_ONLY))
    return params, _annotation(hints.get("return"))


def _annotation(t: Any) -> str:
    """TorchScript source for a type hint; anything it cannot express (Any, missing) reads as Tensor."""
    if t is None or t is typing.Any:
        return "Tensor"
    if t is torch.Tensor:
        return "Tensor"
    if t is type(None):
        return "None"
    if t in (int, float, bool, str):
        return t.__name__
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (list, List) and args:
        return f"List[{_annotation(args[0])}]"
    if origin in (tuple, Tuple) and args and args[-1] is not Ellipsis:
        return "Tuple[" + ", ".join(_annotation(a) for a in args) + "]"
    if origin in (dict, Dict) and len(args) == 2:
        return f"Dict[{_annotation(args[0])}, {_annotation(args[1])}]"
    if origin is Union:
        rest = [a for a in args if a is not type(None)]
        inner = _annotation(rest[0]) if len(rest) == 1 else "Union[" + ", ".join(_annotation(a) for a in rest) + "]"
        return f"Optional[{inner}]" if len(rest) < len(args) else inner
    return "Tensor"


def _stub_class(params: List[Param], ret: str) -> type:
    parts, star = ["self"], False
    for name, ann, default, kw_only in params:
        if kw_only and not star:
            parts.append("*")
            star = True
        parts.append(f"{name}: {ann}" + (f" = {default}" if default is not None else ""))
    header = f"def forward({', '.join(parts)}) -> {ret}:"
    if header not in _STUBS:
        src = (f"class OpaqueCall(torch.nn.Module):\n    {header}\n"
               f"        raise RuntimeError('a stand-in for the graph converter; never called')\n")
        filename = f"<nascore-graph-stub-{len(_STUBS)}>"
        # TorchScript reads the source through linecache
        linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
        ns: Dict[str, Any] = {"torch": torch, "Tensor": torch.Tensor, "List": List, "Tuple": Tuple,
                              "Dict": Dict, "Optional": Optional, "Union": Union}
        exec(compile(src, filename, "exec"), ns)
        _STUBS[header] = ns["OpaqueCall"]
    return _STUBS[header]
