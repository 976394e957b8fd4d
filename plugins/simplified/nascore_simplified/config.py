"""Settings of the ``simplified`` model format (none beyond its name)."""
from __future__ import annotations

from typing import Literal

from nascore.experiment.config import ComponentConfig

__all__ = ["SimplifiedFormatConfig"]


class SimplifiedFormatConfig(ComponentConfig):
    """``NasExperimentConfig(model_format="simplified")``."""

    name: Literal["simplified"] = "simplified"
