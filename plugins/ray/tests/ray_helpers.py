"""Helpers shared by the tests (a module with a unique name: other plugins' test folders have a conftest too)."""
from pathlib import Path

HERE = Path(__file__).resolve().parent


def ray_config(directory, address=None, **settings):
    """``NasExperimentConfig("ts", None, "ray")`` for tests: no torch preload, code shipped from tests/."""
    from nascore.experiment.config import NasExperimentConfig
    config = NasExperimentConfig("ts", None, "ray", experiment_working_directory=str(directory), **settings)
    config.training_service.address = address
    config.training_service.preload = []
    config.training_service.trial_code_directory = str(HERE)
    return config
