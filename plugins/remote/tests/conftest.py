"""Fixtures: two real OpenSSH servers on 127.0.0.1 ("machines"), started once per session, and a service
factory that talks to them through the TrainingService interface."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # the helper module must be importable here and (uploaded) on the machines
    sys.path.insert(0, str(HERE))

PYTHON = sys.executable  # the "remote" python is this venv's: nascore and the plugins are installed there


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


class Recorder:
    """A TrialListener that records every event and lets tests wait for conditions (no sleeps)."""

    def __init__(self) -> None:
        self.events: List = []
        self.cv = threading.Condition()

    def on_trial_metric(self, event) -> None:
        with self.cv:
            self.events.append(event)
            self.cv.notify_all()

    def on_trial_end(self, event) -> None:
        with self.cv:
            self.events.append(event)
            self.cv.notify_all()

    def ends(self):
        from nascore.training_service import TrialEnd
        return {e.trial_id: e for e in self.events if isinstance(e, TrialEnd)}

    def metrics(self, trial_id: str):
        from nascore.training_service import TrialMetric
        return [(e.kind, e.metric) for e in self.events if isinstance(e, TrialMetric) and e.trial_id == trial_id]

    def attempts(self, trial_id: str):
        """``(kind, metric, attempt)`` of every metric of ``trial_id``, in order."""
        from nascore.training_service import TrialMetric
        return [(e.kind, e.metric, e.attempt) for e in self.events
                if isinstance(e, TrialMetric) and e.trial_id == trial_id]

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        # woken by events, and re-checked every 20 ms for conditions that are not events (machine status)
        deadline = time.monotonic() + timeout
        with self.cv:
            while not predicate():
                assert time.monotonic() < deadline, f"timed out; events so far: {self.events}"
                self.cv.wait(0.02)

    def wait_ended(self, *trial_ids: str, timeout: float = 60.0) -> None:
        self.wait(lambda: all(t in self.ends() for t in trial_ids), timeout)


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


def agent_processes(run_id: str) -> List[int]:
    """Pids of processes (agent daemon, relays, workers) started for service ``run_id``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "agent.py" in cmdline and f"/run/{run_id}-" in cmdline:
                pids.append(int(entry.name))
    return pids
