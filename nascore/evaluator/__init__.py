"""Evaluators: how one concrete model is trained and scored.

``Evaluator`` and ``FunctionalEvaluator`` are light; the Lightning-based names (``Lightning``,
``LightningModule``, ``Trainer``, ``Classification``, ``Regression``) import pytorch-lightning on first access.
"""
from __future__ import annotations

import importlib
from typing import Any

from .base import Evaluator, FunctionalEvaluator

_LAZY = {
    "Lightning": "nascore.evaluator.lightning",
    "LightningModule": "nascore.evaluator.lightning",
    "Trainer": "nascore.evaluator.lightning",
    "Classification": "nascore.evaluator.classification",
    "Regression": "nascore.evaluator.classification",
    "ClassificationModule": "nascore.evaluator.classification",
    "RegressionModule": "nascore.evaluator.classification",
    "digits_dataset": "nascore.evaluator.data",
}

__all__ = ["Evaluator", "FunctionalEvaluator", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nascore.evaluator' has no attribute {name!r}")
