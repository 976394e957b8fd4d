"""The training-service conformance suite (nascore.service_conformance) against the remote service, on a real
sshd "machine" on 127.0.0.1 (trial processes are local processes, so the orphan checks see them)."""
import pytest

from nascore.service_conformance import TrainingServiceConformance

pytestmark = pytest.mark.slow


class TestRemoteServiceConformance(TrainingServiceConformance):
    @pytest.fixture(autouse=True)
    def _machines(self, machine, remote_config):
        self.machine, self.remote_config = machine, remote_config

    def make_service(self, directory, concurrency):
        from nascore_remote.service import RemoteTrainingService
        return RemoteTrainingService(self.remote_config([self.machine(0)], trial_concurrency=concurrency))
