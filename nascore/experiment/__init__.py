"""The experiment: ``NasExperiment``, its config, and the store that records every model."""
from __future__ import annotations

from nascore.experiment.config import ComponentConfig, ConfigError, NasExperimentConfig
from nascore.experiment.experiment import NasExperiment
from nascore.experiment.lock import ExperimentLockedError
from nascore.experiment.store import ExperimentStore, ModelRecord

__all__ = ["NasExperiment", "NasExperimentConfig", "ComponentConfig", "ConfigError", "ExperimentStore",
           "ModelRecord", "ExperimentLockedError"]
