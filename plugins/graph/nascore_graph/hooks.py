"""Entry point of nascore-graph. Light on purpose: torch is imported only when the format is used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import ModelFormatSpec
from nascore_graph.config import GraphConfig


@hookimpl
def nascore_model_formats() -> List[ModelFormatSpec]:
    return [ModelFormatSpec(
        name="graph",
        factory="nascore_graph.space:GraphModelSpace",
        config_model=GraphConfig,
        serializable=True,
        description="graph IR (fx or TorchScript frontend), mutators, generated PyTorch source",
    )]
