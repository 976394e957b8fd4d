"""Settings of the ``graph`` model format (pydantic; no torch import)."""
from __future__ import annotations

from typing import Literal

from nascore.experiment.config import ComponentConfig

__all__ = ["GraphConfig"]


class GraphConfig(ComponentConfig):
    """``NasExperimentConfig(model_format={"name": "graph", "frontend": "torchscript"})``.

    ``frontend``: ``"fx"`` (torch.fx tracing; unrolls Python loops; the default) or ``"torchscript"``
    (``torch.jit.script``; deprecated upstream, kept for models fx cannot trace).
    """

    name: Literal["graph"] = "graph"
    frontend: Literal["torchscript", "fx"] = "fx"
