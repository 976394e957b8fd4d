"""CGO over the remote service, on a real OpenSSH server on 127.0.0.1 (nascore_remote.testing)."""
import os
import shutil
import sys
from pathlib import Path

import pytest

from nascore.space import ModelStatus

import cgo_helpers as h

nascore_remote = pytest.importorskip("nascore_remote", reason="the remote plugin (nascore-remote) is not installed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    from nascore_remote.testing import SshServer
    if not os.path.exists("/usr/sbin/sshd") and shutil.which("sshd") is None and os.geteuid() != 0:
        pytest.skip("no sshd on this machine (install openssh-server) to run the loopback remote test")
    server = SshServer(tmp_path_factory.mktemp("cgo-sshd"))
    try:
        server.start()
    except RuntimeError as exc:
        pytest.skip(f"could not start a loopback sshd: {exc}")
    yield server
    server.stop()


def test_cgo_over_remote_service(tmp_path, sshd):
    from nascore.experiment.config import NasExperimentConfig
    from nascore.experiment.experiment import NasExperiment
    from nascore.strategy import GridSearch
    config = NasExperimentConfig("cgo", "graph", "remote", experiment_working_directory=str(tmp_path / "exp"),
                                 trial_concurrency=1)
    config.max_concurrency_cgo = 3
    config.batch_waiting_time = 30
    config.training_service.machine_list = [sshd.machine(python_path=sys.executable)]
    config.training_service.trial_code_directory = str(Path(__file__).parent)  # cgo_helpers travels with it
    exp = NasExperiment(h.DigitsNet(), h.classification(max_epochs=1), GridSearch(), config=config)
    assert exp.run() == "done"
    models = {m.sample["fc1"]: m for m in exp.list_models()}
    assert sorted(models) == [0, 1, 2, 3]
    assert models[3].status is ModelStatus.Failed and "shapes cannot be multiplied" in models[3].failure_reason
    assert all(models[c].status is ModelStatus.Trained and models[c].metric is not None for c in (0, 1, 2))
    # no GPUs listed: the merged trial placed its models on the CPU
    assert config.execution_engine.devices is None
