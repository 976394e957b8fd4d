"""nascore-oneshot: one-shot strategies that train a weight-sharing supernet in this process.

``DARTS`` (differentiable architecture weights, bi-level optimisation) and ``RandomOneShot`` (single-path
uniform sampling, SPOS-style). The core pieces are usable without an experiment: ``convert_to_supernet``,
``train_supernet`` and ``SupernetData``.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["DARTS", "RandomOneShot", "OneShotStrategy", "SupernetData", "SupernetTrainer", "train_supernet",
           "convert_to_supernet", "SupernetContext", "UnsupportedSpaceError"]

# lazy so that loading the entry point (hooks) does not import torch
__getattr__, __dir__ = lazy_exports(__name__, {
    "DARTS": ".darts",
    "RandomOneShot": ".random_oneshot",
    "OneShotStrategy": ".strategy",
    "SupernetData": ".data",
    "SupernetTrainer": ".training",
    "train_supernet": ".training",
    "convert_to_supernet": ".supernet",
    "SupernetContext": ".supernet",
    "UnsupportedSpaceError": ".supernet",
})
