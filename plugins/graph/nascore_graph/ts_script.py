"""Compiling a module with ``torch.jit.script`` once per conversion, and naming the culprit when it fails.

Modules are compiled through their shells (``ts_shell``); a failure is traced to the deepest submodule that
does not compile on its own, which is stubbed so its parent still compiles; the refusal (module path and
TorchScript's reason) is raised when that module itself is converted.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Any, Dict, Optional, Set, Tuple

import torch
import torch.nn as nn

from .errors import ScriptRefused
from .ts_shell import build_shell
from .units import is_basic_unit

__all__ = ["Scripted"]


def _script(module: nn.Module, path: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.script is deprecated upstream; say it once in the docs
        return torch.jit.script(module)


# TorchScript keeps a class it failed to compile half-registered: compiling it again says "Can't redefine
# method: forward", so the first reason is kept per class
_REASONS: "weakref.WeakKeyDictionary[type, str]" = weakref.WeakKeyDictionary()


def _reason(exc: Exception, module: nn.Module) -> str:
    """TorchScript's first error line for ``module``'s class (the first real one, not a later redefinition)."""
    text = str(exc).strip()
    line = text.splitlines()[0].rstrip(":") if text else type(exc).__name__
    cls = type(module)
    if line.startswith("Can't redefine method") and cls in _REASONS:
        return _REASONS[cls]
    _REASONS.setdefault(cls, line)
    return line


def _torch_layers(module: nn.Module) -> list:
    return [m for m in module.modules() if is_basic_unit(m) and type(m).__module__.startswith("torch.nn.")]


def _scriptable(layer: nn.Module) -> bool:
    try:
        _script(layer, "")
        return True
    except Exception:  # noqa: BLE001 - any compile error
        return False


class Scripted:
    """Per-conversion cache: the root is scripted once; its user submodules reuse their compiled parts.

    A user module ``torch.jit.script`` refuses (``*args``, ``super().forward()``, a module passed as an
    argument ...) becomes a stub in its parent's shell, so the rest still compiles; ``get`` on that module
    raises :class:`ScriptRefused` with TorchScript's reason, and the converter captures it with fx.
    """

    def __init__(self) -> None:
        self._done: Dict[int, Tuple[Any, nn.Module]] = {}  # id(original) -> (script module, shell)
        self._refused: Dict[int, ScriptRefused] = {}  # id(original) -> why its own forward does not compile
        self._compiles: Set[int] = set()  # ids of modules whose shell compiled on its own (error path only)

    def get(self, module: nn.Module, path: str) -> Tuple[Any, nn.Module]:
        if id(module) in self._refused:
            raise self._refused[id(module)]
        if id(module) not in self._done:
            scripted, shells = self._compile(module, path)
            self._collect(module, scripted, shells)
        return self._done[id(module)]

    def _compile(self, module: nn.Module, path: str) -> Tuple[Any, Dict[int, nn.Module]]:
        """Script ``module``'s shell; on failure stub the deepest submodule that does not compile on its own
        and try again (torch layers TorchScript cannot compile, e.g. a cloned layer holding a module
        activation, are one node anyway). Raises ScriptRefused when ``module``'s own forward is the reason."""
        stubbed: Set[int] = {id(m) for m in module.modules() if id(m) in self._refused}
        broken_checked = False
        while True:
            shells: Dict[int, nn.Module] = {}
            shell = build_shell(module, shells, frozenset(stubbed))
            try:
                return _script(shell, path), shells
            except Exception as exc:  # noqa: BLE001 - any compile error is looked into below
                error = exc
            if not broken_checked:
                broken_checked = True
                broken = {id(m) for m in _torch_layers(module) if not _scriptable(m)}
                if broken - stubbed:
                    stubbed |= broken
                    continue
            culprit = self._deepest_failing(module, path, shells)
            if culprit is None:
                refused = ScriptRefused(f"torch.jit.script cannot compile {type(module).__name__}.forward",
                                        path=path, reason=_reason(error, module))
                self._refused[id(module)] = refused
                raise refused
            stubbed.add(id(culprit))

    def _deepest_failing(self, module: nn.Module, path: str, shells: Dict[int, nn.Module]) -> Optional[nn.Module]:
        """The deepest user submodule of ``module`` whose shell does not compile on its own (its refusal is
        recorded), or None when every submodule compiles (``module``'s own forward is the reason)."""
        for rel, sub in reversed(list(module.named_modules())):
            shell = shells.get(id(sub))
            if shell is None or sub is module or id(sub) in self._compiles:
                continue
            try:
                _script(shell, path)
            except Exception as exc:  # noqa: BLE001 - any compile error names this module
                sub_path = f"{path}.{rel}" if path else rel
                self._refused[id(sub)] = ScriptRefused(
                    f"torch.jit.script cannot compile {type(sub).__name__}.forward", path=sub_path,
                    reason=_reason(exc, sub))
                return sub
            self._compiles.add(id(sub))
        return None

    def _collect(self, module: nn.Module, scripted: Any, shells: Dict[int, nn.Module]) -> None:
        self._done.setdefault(id(module), (scripted, shells[id(module)]))
        for name, child in module._modules.items():
            if child is not None and id(child) in shells and id(child) not in self._done:
                self._collect(child, scripted._modules[name], shells)
