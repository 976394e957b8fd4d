"""Fixtures: two real OpenSSH servers on 127.0.0.1 ("machines"), started once per session, and a service
factory that talks to them through the TrainingService interface."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

_HERE = Path(__file__).parent
if str(_HERE) not in sys.path:  # the helper modules must be importable here and (uploaded) on the machines
    sys.path.insert(0, str(_HERE))

from remote_helpers import HERE, PYTHON, Recorder  # noqa: E402


@pytest.fixture(scope="session")
def sshd_pair(tmp_path_factory) -> Iterator[list]:
    from nascore_remote.testing import SshServer
    root = tmp_path_factory.mktemp("sshd")
    servers = [SshServer(root / "a"), SshServer(root / "b", user_key=None)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def machine(sshd_pair):
    """``machine(i, **overrides)``: a RemoteMachineConfig for server ``i``."""
    def make(index: int = 0, **fields):
        fields.setdefault("python_path", PYTHON)
        return sshd_pair[index].machine(**fields)
    return make


@pytest.fixture
def remote_config(machine):
    def make(machines, **fields):
        from nascore.experiment.config import NasExperimentConfig
        config = NasExperimentConfig("ts", None, "remote", trial_concurrency=fields.pop("trial_concurrency", 2))
        config.training_service.machine_list = machines
        config.training_service.trial_code_directory = str(HERE)
        config.training_service.code_excludes = ["__pycache__/", "*.pyc"]
        for key, value in fields.items():
            setattr(config.training_service, key, value)
        return config
    return make


@pytest.fixture
def start_service(remote_config, tmp_path):
    """``start_service(machines, **settings) -> (service, recorder)``; every service is shut down after."""
    from nascore_remote.service import RemoteTrainingService
    services = []

    def start(machines, **fields):
        service = RemoteTrainingService(remote_config(machines, **fields))
        recorder = Recorder()
        services.append(service)
        service.start(recorder, tmp_path / f"logs{len(services)}")
        return service, recorder

    yield start
    for service in services:
        service.shutdown()
