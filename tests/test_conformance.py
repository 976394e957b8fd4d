"""The engine conformance suite against the ``sequential`` engine, when nascore-sequential is installed."""
import pytest

from nascore.conformance import EngineConformance
from nascore.plugins import get_plugin_manager

pytestmark = pytest.mark.skipif("sequential" not in get_plugin_manager().names("execution engine"),
                                reason="nascore-sequential is not installed")


class TestSequentialConformance(EngineConformance):
    def make_config(self, directory, **settings):
        from nascore.experiment.config import NasExperimentConfig
        return NasExperimentConfig("sequential", None, None, experiment_working_directory=str(directory),
                                   **settings)
