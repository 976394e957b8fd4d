"""Settings of the ``sequential`` engine (it has none of its own; trial limits live on the experiment)."""
from __future__ import annotations

from typing import Literal

from nascore.experiment.config import ComponentConfig

__all__ = ["SequentialEngineConfig"]


class SequentialEngineConfig(ComponentConfig):
    """``NasExperimentConfig("sequential", ...)``. ``max_trial_number``, ``max_experiment_duration``,
    ``max_trial_duration`` (checked whenever the trial reports a metric) and ``stop_on_failure`` are
    experiment-wide settings the engine reads from the experiment config."""

    name: Literal["sequential"] = "sequential"
