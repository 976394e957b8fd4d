"""Basic units: modules that become one node, and how to rebuild them (class + init arguments).

A basic unit is a ``ParameterizedModule`` (its init arguments are recorded), anything whose class has
``is_basic_unit = True`` (see :func:`basic_unit`), or a leaf ``torch.nn`` layer. For torch layers the
arguments are read back from attributes named like the constructor's parameters and checked by building
the layer on the meta device and comparing ``extra_repr()`` and parameter shapes.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Dict

import torch
import torch.nn as nn

from .errors import GraphConversionError
from .serialize import Ref

__all__ = ["basic_unit", "is_basic_unit", "call_kind", "unit_entry", "qualified_name", "resolve_name", "CONTAINERS",
           "build_value", "is_unit_value"]

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)
_LOCAL: Dict[str, Any] = {}  # classes/functions not importable by name (defined in a function)


def basic_unit(cls: type) -> type:
    """Class decorator: instances of ``cls`` are one node (not traced into) and are rebuilt from their
    init arguments, which are read from same-named attributes."""
    cls.is_basic_unit = True
    return cls


def is_basic_unit(module: nn.Module) -> bool:
    """True when ``module`` becomes one node (a ParameterizedModule or leaf ``torch.nn`` layer), not a subgraph."""
    if getattr(type(module), "is_basic_unit", False):
        return True
    return type(module).__module__.startswith("torch.nn.") and not isinstance(module, CONTAINERS)


def call_kind(module: nn.Module) -> str:
    """The IR operation type of a call to ``module`` (the same for every frontend)."""
    from nascore.nn import Cell, InputChoice, LayerChoice, Repeat
    for cls, kind in ((LayerChoice, "layerchoice"), (InputChoice, "inputchoice"), (Repeat, "repeat"), (Cell, "cell")):
        if isinstance(module, cls):
            return kind
    return "module" if is_basic_unit(module) else "subgraph"


def qualified_name(obj: Any) -> str:
    """An importable dotted name for ``obj`` (public torch names preferred)."""
    if inspect.ismethod(obj) and isinstance(obj.__self__, type):  # MyFunction.apply (a class's classmethod)
        return f"{qualified_name(obj.__self__)}.{obj.__name__}"
    name = getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    for public in ("torch.nn", "torch.nn.functional", "torch", "operator", "math", "builtins", "nascore.nn"):
        if name and getattr(importlib.import_module(public), name, None) is obj:
            return f"{public}.{name}"
    qual = getattr(obj, "__qualname__", name)
    if module and qual:
        path = f"{module}.{qual}"
        if "<locals>" in qual:
            _LOCAL[path] = obj
        return path
    raise GraphConversionError(f"cannot name {obj!r}: it has no importable module/qualified name",
                               fix="use a function or class defined at module level")


def resolve_name(path: str) -> Any:
    """The object a dotted import path names (module attribute lookups, registered local names first)."""
    if path in _LOCAL:
        return _LOCAL[path]
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"cannot import {path!r}")


def _as_arg(value: Any) -> Any:
    if callable(value) and not isinstance(value, (nn.Module, torch.Tensor, type(None))):
        return Ref(qualified_name(value))
    return value


def unit_entry(module: nn.Module, path: str) -> Dict[str, Any]:
    """``{"kind": "unit", "cls", "args", "kwargs"}`` describing how to rebuild ``module``."""
    from nascore.nn import ParameterizedModule
    if isinstance(module, ParameterizedModule):
        cls = module._nascore_wrapped or module.trace_symbol
        return {"kind": "unit", "cls": qualified_name(cls), "args": list(module.trace_args),
                "kwargs": {k: _as_arg(v) for k, v in module.trace_kwargs.items()}}
    wrappers = _reparametrizations(module, path)
    if wrappers:
        return _wrapped_entry(module, path, wrappers)
    cls = type(module)
    special = _SPECIAL.get(cls)
    kwargs = special(module, path) if special else _kwargs_from_attributes(module, path)
    if cls.__module__.startswith("torch.nn."):
        short = _shorten(cls, kwargs)
        # the short form (kernel_size=3, defaults left out) only when it rebuilds the very same layer
        if short != kwargs and _rebuilds(module, cls, short)[0]:
            kwargs = short
        else:
            _verify(module, cls, kwargs, path)
    return {"kind": "unit", "cls": qualified_name(cls), "args": [], "kwargs": kwargs}


def _reparametrizations(module: nn.Module, path: str) -> list:
    """``[(function path, kwargs)]`` re-applying weight/spectral norm to a layer (new parametrizations or
    the older forward-pre-hook versions), in the order they were applied."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.spectral_norm import SpectralNorm
    from torch.nn.utils.weight_norm import WeightNorm
    out = []
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightNorm):
            out.append(("torch.nn.utils.weight_norm", {"name": hook.name, "dim": hook.dim}))
        elif isinstance(hook, SpectralNorm):
            out.append(("torch.nn.utils.spectral_norm", {"name": hook.name, "n_power_iterations":
                        hook.n_power_iterations, "eps": hook.eps, "dim": hook.dim}))
    if parametrize.is_parametrized(module):
        for name, plist in module.parametrizations.items():
            for p in plist:
                kind = type(p).__name__
                if kind == "_WeightNorm":
                    out.append(("torch.nn.utils.parametrizations.weight_norm", {"name": name, "dim": p.dim}))
                elif kind == "_SpectralNorm":
                    out.append(("torch.nn.utils.parametrizations.spectral_norm", {
                        "name": name, "n_power_iterations": p.n_power_iterations, "eps": p.eps, "dim": p.dim}))
                else:
                    raise GraphConversionError(
                        f"cannot rebuild parametrization {kind} of {name!r}", path=path, construct="parametrized layer",
                        fix="wrap the layer in a module of your own, or make it a ParameterizedModule")
    return out


def _wrapped_entry(module: nn.Module, path: str, wrappers: list) -> Dict[str, Any]:
    """The plain layer's entry wrapped in calls that re-apply its weight/spectral norm."""
    from torch.nn.utils import parametrize
    cls = type(module).__bases__[0] if parametrize.is_parametrized(module) else type(module)
    entry = {"kind": "unit", "cls": qualified_name(cls), "args": [], "kwargs": _kwargs_from_attributes(module, path)}
    for fn, kwargs in wrappers:
        entry = {"kind": "unit", "cls": fn, "args": [entry], "kwargs": kwargs}
    try:
        with torch.device("meta"):
            probe = build_value(entry)
        ok = probe.extra_repr() == module.extra_repr() and [(k, v.shape) for k, v in probe.state_dict().items()] \
            == [(k, v.shape) for k, v in module.state_dict().items()]
    except Exception:  # noqa: BLE001 - the recovered arguments do not rebuild it
        ok = False
    if not ok:
        raise GraphConversionError(f"cannot rebuild the reparametrized {cls.__name__}", path=path,
                                   construct="weight/spectral norm", fix="wrap it in a module of your own")
    return entry


def is_unit_value(value: Any) -> bool:
    """Whether an init argument is itself a module to build (``{"kind": "unit", ...}``)."""
    return isinstance(value, dict) and value.get("kind") == "unit"


def build_value(value: Any) -> Any:
    """An init argument as an object: references resolved, nested units built."""
    if isinstance(value, Ref):
        return resolve_name(value.path)
    if is_unit_value(value):
        return resolve_name(value["cls"])(*map(build_value, value["args"]),
                                          **{k: build_value(v) for k, v in value["kwargs"].items()})
    return value


def _kwargs_from_attributes(module: nn.Module, path: str) -> Dict[str, Any]:
    # LSTM/GRU/RNN take *args; their real parameters are RNNBase's (minus the mode they fix)
    init = nn.RNNBase.__init__ if isinstance(module, nn.RNNBase) else type(module).__init__
    sig = inspect.signature(init)
    kwargs: Dict[str, Any] = {}
    if isinstance(module, nn.RNN) and module.nonlinearity != "tanh":
        kwargs["nonlinearity"] = module.nonlinearity
    for p in list(sig.parameters.values())[1:]:
        if p.name == "mode" and isinstance(module, nn.RNNBase):
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("device", "dtype") or p.name.startswith("_"):
            continue
        if not hasattr(module, p.name):
            if p.default is p.empty:
                raise GraphConversionError(
                    f"cannot recover init argument {p.name!r} of {type(module).__name__}", path=path,
                    construct="basic unit without a same-named attribute",
                    fix=f"store it as self.{p.name} in __init__, or make the class a ParameterizedModule")
            continue
        value = getattr(module, p.name)
        if p.name.endswith("bias") and (value is None or isinstance(value, torch.Tensor)):
            value = value is not None
        if isinstance(value, (torch.Tensor, nn.Module)):
            continue
        if p.default is not p.empty and _same(value, p.default):
            continue
        kwargs[p.name] = _as_arg(value)
    return kwargs


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:
        return False


def _shorten(cls: type, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """``(3, 3)`` → ``3`` and values equal to the constructor's default dropped (readable generated code)."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return kwargs
    out: Dict[str, Any] = {}
    for k, v in kwargs.items():
        if isinstance(v, tuple) and len(v) > 1 and all(type(x) is int and x == v[0] for x in v):
            v = v[0]
        p = params.get(k)
        if p is not None and p.default is not p.empty and _same(v, p.default):
            continue
        out[k] = v
    return out


def _rebuilds(module: nn.Module, cls: type, kwargs: Dict[str, Any]) -> tuple:
    """``(ok, reason)``: building ``cls(**kwargs)`` on the meta device gives ``module``'s repr and shapes."""
    try:
        with torch.device("meta"):
            probe = cls(**{k: build_value(v) for k, v in kwargs.items()})
        ok = probe.extra_repr() == module.extra_repr() and all(
            a[0] == b[0] and a[1].shape == b[1].shape
            for a, b in zip(probe.state_dict().items(), module.state_dict().items()))
        ok = ok and len(probe.state_dict()) == len(module.state_dict())
    except Exception as exc:  # the recovered arguments do not even construct the layer
        return False, f"{type(exc).__name__}: {exc}"
    return ok, "rebuilt layer differs"


def _verify(module: nn.Module, cls: type, kwargs: Dict[str, Any], path: str) -> None:
    ok, reason = _rebuilds(module, cls, kwargs)
    if not ok:
        raise GraphConversionError(
            f"cannot recover the init arguments of {cls.__name__} ({reason})", path=path,
            construct=f"torch layer {cls.__name__}",
            fix="wrap it in a nascore.nn.ParameterizedModule (ParameterizedModule.wrap) or a module of your own")


def _mha(m: nn.MultiheadAttention) -> Dict[str, Any]:
    return {"embed_dim": m.embed_dim, "num_heads": m.num_heads, "dropout": m.dropout,
            "bias": m.in_proj_bias is not None, "add_bias_kv": m.bias_k is not None,
            "add_zero_attn": m.add_zero_attn, "kdim": m.kdim, "vdim": m.vdim, "batch_first": m.batch_first}


def _activation(act: Any, path: str) -> Any:
    if isinstance(act, nn.Module):
        return unit_entry(act, f"{path}.activation")
    name = {torch.nn.functional.relu: "relu", torch.nn.functional.gelu: "gelu"}.get(act)
    return name if name else _as_arg(act)


def _encoder_layer(m: nn.Module, path: str) -> Dict[str, Any]:
    """TransformerEncoderLayer / TransformerDecoderLayer: sizes read from their sublayers."""
    return {"d_model": m.self_attn.embed_dim, "nhead": m.self_attn.num_heads,
            "dim_feedforward": m.linear1.out_features, "dropout": m.dropout.p,
            "activation": _activation(m.activation, path), "layer_norm_eps": m.norm1.eps,
            "batch_first": m.self_attn.batch_first, "norm_first": m.norm_first,
            "bias": m.linear1.bias is not None}


def _stack(layer_arg: str):
    """TransformerEncoder / TransformerDecoder: the layer they copied is rebuilt from their first layer."""
    def recover(m: nn.Module, path: str) -> Dict[str, Any]:
        out = {layer_arg: unit_entry(m.layers[0], f"{path}.layers.0"), "num_layers": m.num_layers,
               "norm": None if m.norm is None else unit_entry(m.norm, f"{path}.norm")}
        if isinstance(m, nn.TransformerEncoder):
            out.update(enable_nested_tensor=m.enable_nested_tensor, mask_check=m.mask_check)
        return out
    return recover


def _transformer(m: nn.Transformer, path: str) -> Dict[str, Any]:
    return {"d_model": m.d_model, "nhead": m.nhead, "batch_first": m.batch_first,
            "custom_encoder": unit_entry(m.encoder, f"{path}.encoder"),
            "custom_decoder": unit_entry(m.decoder, f"{path}.decoder")}


_SPECIAL = {nn.MultiheadAttention: lambda m, path: _mha(m), nn.TransformerEncoderLayer: _encoder_layer,
            nn.TransformerDecoderLayer: _encoder_layer, nn.TransformerEncoder: _stack("encoder_layer"),
            nn.TransformerDecoder: _stack("decoder_layer"), nn.Transformer: _transformer}
