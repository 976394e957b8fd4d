"""The torchscript frontend's fallback: a module ``torch.jit.script`` refuses is captured with fx.

Only that module's own forward is traced with fx (its children are converted by the torchscript frontend
again), with a :class:`FrontendFallbackWarning` naming it and TorchScript's reason; fx needs the arguments of
a call when the forward iterates over them (``*xs``), so those come from running the model on the user's
``example_inputs``.
"""
from __future__ import annotations

import inspect
import warnings
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn

from .call_sites import bind_examples
from .errors import FrontendFallbackWarning, GraphConversionError, ScriptRefused

__all__ = ["capture_with_fx", "var_keyword"]


def capture_with_fx(module: nn.Module, path: str, name: str, concrete: Dict[str, Any], refused: ScriptRefused,
                    examples: Dict[str, Any], call: Optional[tuple], warned: set) -> tuple:
    """``module`` at ``path`` traced with fx (what ``frontend_fx.trace_graph`` returns). ``examples``: the
    converter's example arguments per module path (filled in here from ``call`` = ``(root, example
    inputs)`` when missing); ``warned``: ids of modules already warned about in this conversion."""
    from .frontend_fx import trace_graph
    if path not in examples and call is not None:
        examples[path] = call_examples(*call, module)
    try:
        result = trace_graph(module, path, name, concrete, examples.get(path))
    except GraphConversionError as exc:
        raise GraphConversionError(
            f"torch.jit.script cannot compile {type(module).__name__}.forward ({refused.reason}), and torch.fx "
            f"cannot trace it either ({exc.construct})", path=path, construct="torchscript and fx both fail",
            fix=exc.fix) from exc
    if id(module) not in warned:
        warned.add(id(module))
        warnings.warn(f"torchscript frontend: module {path or '<root>'!r} ({type(module).__name__}) is captured "
                      f"with fx because torch.jit.script cannot compile its forward: {refused.reason}",
                      FrontendFallbackWarning, stacklevel=4)
    return result


def var_keyword(module: nn.Module) -> Optional[str]:
    """The name of ``module.forward``'s ``**kwargs`` parameter, if it has one."""
    return next((p.name for p in inspect.signature(module.forward).parameters.values() if p.kind is p.VAR_KEYWORD),
                None)


def call_examples(root: nn.Module, inputs: tuple, module: nn.Module) -> Optional[Dict[str, Any]]:
    """The arguments ``module`` gets first when ``root`` runs on ``inputs`` (eval mode, no grad; modes are
    restored), bound to its parameter names; None when it is not called."""
    seen: List[tuple] = []
    hook = module.register_forward_pre_hook(lambda _m, args, kwargs: seen.append((args, kwargs)) if not seen
                                            else None, with_kwargs=True)
    modes = [(m, m.training) for m in root.modules()]
    try:
        root.eval()
        with torch.no_grad():
            root(*inputs)
    finally:
        hook.remove()
        for m, mode in modes:
            m.training = mode
    return bind_examples(module, *seen[0]) if seen else None
