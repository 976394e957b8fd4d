"""Compiling a module with ``torch.jit.script`` once per conversion, and naming the culprit when it fails.

Modules are compiled through their shells (``ts_shell``); a failure is traced to the deepest submodule that
does not compile on its own, so the error points at the user's code rather than at the root.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn

from .errors import GraphConversionError
from .ts_shell import build_shell
from .units import is_basic_unit

__all__ = ["Scripted"]


def _script(module: nn.Module, path: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated upstream; say it once in the docs
        return torch.jit.script(module)


def _script_error(exc: Exception, module: nn.Module, path: str, shells: Dict[int, nn.Module]) -> Exception:
    """Name the deepest module that fails to compile on its own (scripting again only on this error path)."""
    culprit, culprit_path = module, path
    for rel, sub in reversed(list(module.named_modules())):
        shell = shells.get(id(sub))
        if shell is None or sub is module:
            continue
        try:
            _script(shell, path)
        except Exception as inner:  # noqa: BLE001 - any compile error names this module
            exc, culprit, culprit_path = inner, sub, f"{path}.{rel}" if path else rel
            break
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return GraphConversionError(
        f"torch.jit.script cannot compile {type(culprit).__name__}.forward", path=culprit_path,
        construct=first, fix="mark the failing module a basic unit (nascore_graph.basic_unit or a "
        "ParameterizedModule), or use frontend='fx'")


def _torch_layers(module: nn.Module) -> list:
    return [m for m in module.modules() if is_basic_unit(m) and type(m).__module__.startswith("torch.nn.")]


def _scriptable(layer: nn.Module) -> bool:
    try:
        _script(layer, "")
        return True
    except Exception:  # noqa: BLE001 - any compile error
        return False


class Scripted:
    """Per-conversion cache: the root is scripted once; its user submodules reuse their compiled parts."""

    def __init__(self) -> None:
        self._done: Dict[int, Tuple[Any, nn.Module]] = {}  # id(original) -> (script module, shell)

    def get(self, module: nn.Module, path: str) -> Tuple[Any, nn.Module]:
        if id(module) not in self._done:
            shells: Dict[int, nn.Module] = {}
            shell = build_shell(module, shells)
            try:
                scripted = _script(shell, path)
            except Exception as exc:
                # a torch layer TorchScript cannot compile (a torch bug, e.g. a cloned layer holding a module
                # activation) is one node anyway: give it a stub and compile again
                broken = {id(m) for m in _torch_layers(module) if not _scriptable(m)}
                if not broken:
                    raise _script_error(exc, module, path, shells) from exc
                shells = {}
                shell = build_shell(module, shells, broken)
                try:
                    scripted = _script(shell, path)
                except Exception as again:
                    raise _script_error(again, module, path, shells) from again
            self._collect(module, scripted, shells)
        return self._done[id(module)]

    def _collect(self, module: nn.Module, scripted: Any, shells: Dict[int, nn.Module]) -> None:
        self._done.setdefault(id(module), (scripted, shells[id(module)]))
        for name, child in module._modules.items():
            if child is not None and id(child) in shells and id(child) not in self._done:
                self._collect(child, scripted._modules[name], shells)
