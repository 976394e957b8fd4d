"""Entry point of nascore-ray. Light on purpose: ray is imported only when the service starts."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import TrainingServiceSpec
from nascore_ray.config import RayConfig


@hookimpl
def nascore_training_services() -> List[TrainingServiceSpec]:
    return [TrainingServiceSpec(
        name="ray",
        factory="nascore_ray.service:RayTrainingService",
        config_model=RayConfig,
        description="runs trials in warm actors on a Ray cluster (a private local instance, or one by address)",
    )]
