"""Helpers shared by the tests (a module with a unique name: other plugins' test folders have a conftest too)."""
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def ray_config(directory, address=None, **settings):
    """``NasExperimentConfig("ts", None, "ray")`` for tests: no torch preload, code shipped from tests/."""
    from nascore.experiment.config import NasExperimentConfig
    config = NasExperimentConfig("ts", None, "ray", experiment_working_directory=str(directory), **settings)
    config.training_service.address = address
    config.training_service.preload = []
    config.training_service.trial_code_directory = str(HERE)
    return config


def run_bounded(exp, timeout=180.0):
    """``exp.run()`` in a thread joined for at most ``timeout`` s; on failure the experiment is stopped and joined,
    so a failing test leaves no run behind on the session cluster to starve the next test."""
    outcome = {}
    runner = threading.Thread(target=lambda: outcome.setdefault("status", exp.run()), daemon=True)
    runner.start()
    runner.join(timeout)
    if runner.is_alive():
        exp.stop()
        runner.join(60)
        pytest.fail(f"the experiment did not end within {timeout} s (stopped: {not runner.is_alive()})")
    return outcome.get("status")
