"""nascore-training-service: execution engine ``ts`` (trials on a training service) and the ``local`` service.

Public names are imported lazily so that loading the plugin's hooks stays cheap.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["TsConfig", "LocalConfig", "TrainingServiceEngine", "LocalTrainingService", "GpuScheduler",
           "detect_gpus"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "TsConfig": ".config", "LocalConfig": ".config", "TrainingServiceEngine": ".engine",
    "LocalTrainingService": ".local", "GpuScheduler": ".gpu", "detect_gpus": ".gpu"})
