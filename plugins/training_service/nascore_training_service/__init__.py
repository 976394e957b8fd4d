"""nascore-training-service: execution engine ``ts`` (trials on a training service) and the ``local`` service.

Public names are imported lazily so that loading the plugin's hooks stays cheap.
"""
from __future__ import annotations

import importlib

__all__ = ["TsConfig", "LocalConfig", "TrainingServiceEngine", "LocalTrainingService", "GpuScheduler",
           "detect_gpus"]

_WHERE = {"TsConfig": "config", "LocalConfig": "config", "TrainingServiceEngine": "engine",
          "LocalTrainingService": "local", "GpuScheduler": "gpu", "detect_gpus": "gpu"}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"nascore_training_service.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'nascore_training_service' has no attribute {name!r}")
