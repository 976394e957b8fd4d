"""Evaluators: how one concrete model is trained and scored.

``Evaluator`` and ``FunctionalEvaluator`` are light; the Lightning-based names (``Lightning``,
``LightningModule``, ``Trainer``, ``Classification``, ``Regression``) import pytorch-lightning on first access.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
