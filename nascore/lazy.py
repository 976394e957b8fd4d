"""Lazy package exports: public names that are imported only when first used.

Packages (core and plugins alike) keep ``import <package>`` light this way: the plugin manager imports every
plugin's package to read its hooks, and ``import nascore`` must not import torch. Only the standard library is
imported here.

    __getattr__, __dir__ = lazy_exports(__name__, {"Random": ".random", "digits": "my_pkg.data:load_digits"})
"""
from __future__ import annotations

import importlib
import sys
from typing import Any, Callable, Dict, List, Mapping, Tuple

__all__ = ["lazy_exports"]


def _split(module_name: str, name: str, target: str) -> Tuple[str, str]:
    module, _, attr = target.partition(":")
    if not module:
        raise ValueError(f"lazy export {name!r} of {module_name!r} has no module in {target!r}; "
                         f"write 'package.module' or 'package.module:attribute'")
    return module, attr or name


def lazy_exports(module_name: str,
                 exports: Mapping[str, str]) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """Module-level ``(__getattr__, __dir__)`` for ``module_name`` (pass ``__name__``).

    ``exports`` maps each public name to ``"module"`` (the attribute of the same name in it) or
    ``"module:attribute"``; a module starting with ``.`` is relative to ``module_name``. Nothing is cached:
    every access goes to the (already imported) module, so the name always follows its source.
    """
    targets: Dict[str, Tuple[str, str]] = {name: _split(module_name, name, target) for name, target in exports.items()}

    def __getattr__(name: str) -> Any:
        if name in targets:
            module, attr = targets[name]
            return getattr(importlib.import_module(module, package=module_name), attr)
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[module_name])) | set(targets))

    return __getattr__, __dir__
