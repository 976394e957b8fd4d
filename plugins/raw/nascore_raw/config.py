"""Settings of the ``raw`` model format (none beyond its name)."""
from __future__ import annotations

from typing import Literal

from nascore.experiment.config import ComponentConfig

__all__ = ["RawFormatConfig"]


class RawFormatConfig(ComponentConfig):
    """``NasExperimentConfig(model_format="raw")``."""

    name: Literal["raw"] = "raw"
