"""Entry point of nascore-sequential. Light on purpose: the engine module is imported only when used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import EngineSpec
from nascore_sequential.config import SequentialEngineConfig


@hookimpl
def nascore_execution_engines() -> List[EngineSpec]:
    return [EngineSpec(
        name="sequential",
        factory="nascore_sequential.engine:SequentialExecutionEngine",
        config_model=SequentialEngineConfig,
        uses_training_service=False,
        description="runs each submitted model right away in this process, one after another",
    )]
