"""Entry point of nascore-remote. Light on purpose: paramiko and the service are imported only when used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import TrainingServiceSpec
from nascore_remote.config import RemoteConfig


@hookimpl
def nascore_training_services() -> List[TrainingServiceSpec]:
    return [TrainingServiceSpec(
        name="remote",
        factory="nascore_remote.service:RemoteTrainingService",
        config_model=RemoteConfig,
        description="runs trials on machines reached over SSH (one connection and one agent per machine)",
    )]
