"""nascore-oneshot: one-shot strategies that train a weight-sharing supernet in this process.

``DARTS`` (differentiable architecture weights, bi-level optimisation) and ``RandomOneShot`` (single-path
uniform sampling, SPOS-style). The core pieces are usable without an experiment: ``convert_to_supernet``,
``train_supernet`` and ``SupernetData``.
"""
from __future__ import annotations

from typing import Any

__all__ = ["DARTS", "RandomOneShot", "OneShotStrategy", "SupernetData", "SupernetTrainer", "train_supernet",
           "convert_to_supernet", "SupernetContext", "UnsupportedSpaceError"]

_LAZY = {
    "DARTS": "nascore_oneshot.darts",
    "RandomOneShot": "nascore_oneshot.random_oneshot",
    "OneShotStrategy": "nascore_oneshot.strategy",
    "SupernetData": "nascore_oneshot.data",
    "SupernetTrainer": "nascore_oneshot.training",
    "train_supernet": "nascore_oneshot.training",
    "convert_to_supernet": "nascore_oneshot.supernet",
    "SupernetContext": "nascore_oneshot.supernet",
    "UnsupportedSpaceError": "nascore_oneshot.supernet",
}


def __getattr__(name: str) -> Any:
    # Lazy so that loading the entry point (hooks) does not import torch.
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nascore_oneshot' has no attribute {name!r}")
