"""Entry point of nascore-training-service. Light on purpose: no torch, engine and service load on use."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import EngineSpec, TrainingServiceSpec
from nascore_training_service.config import LocalConfig, TsConfig


@hookimpl
def nascore_execution_engines() -> List[EngineSpec]:
    return [EngineSpec(
        name="ts",
        factory="nascore_training_service.engine:TrainingServiceEngine",
        config_model=TsConfig,
        uses_training_service=True,
        description="runs trial_concurrency models at once as trials on a training service (local, remote...)",
    )]


@hookimpl
def nascore_training_services() -> List[TrainingServiceSpec]:
    return [TrainingServiceSpec(
        name="local",
        factory="nascore_training_service.local:LocalTrainingService",
        config_model=LocalConfig,
        description="trials in (reusable) worker processes on this machine, GPUs assigned per trial",
    )]
