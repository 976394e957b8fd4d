"""Search strategies: the ``Strategy`` base and the built-in multi-trial strategies.

Names are imported on first access, so ``import nascore.strategy`` (done by the plugin manager to load the
built-in plugin) stays light and Optuna is imported only when ``TPE`` is used.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Strategy": "nascore.strategy.base",
    "MultiTrialStrategy": "nascore.strategy.multi_trial",
    "Random": "nascore.strategy.random",
    "GridSearch": "nascore.strategy.grid",
    "RegularizedEvolution": "nascore.strategy.evolution",
    "TPE": "nascore.strategy.tpe",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nascore.strategy' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(list(globals()) + __all__)
