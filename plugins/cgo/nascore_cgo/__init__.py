"""nascore-cgo: cross-graph optimization. Several graph models are merged into one trial that reads each batch
once (``dedup_input``), places every model on a device and trains them side by side.

Light on import (the plugin's hooks module imports this package): heavy names load on first access.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

_LAZY = {
    "CgoConfig": "nascore_cgo.config",
    "CgoMiddleware": "nascore_cgo.middleware",
    "LogicalPlan": "nascore_cgo.plan",
    "PlanModel": "nascore_cgo.plan",
    "InputPipeline": "nascore_cgo.plan",
    "DedupInputOptimizer": "nascore_cgo.dedup",
    "MergedModelSpace": "nascore_cgo.merged",
    "merged_source": "nascore_cgo.merged",
    "MultiModelLightningModule": "nascore_cgo.lightning",
    "MultiModelTrainer": "nascore_cgo.lightning",
    "MultiModelClassification": "nascore_cgo.evaluators",
    "MultiModelRegression": "nascore_cgo.evaluators",
    "merge_info": "nascore_cgo.evaluators",
    "CgoEvaluatorError": "nascore_cgo.evaluators",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
