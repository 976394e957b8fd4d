"""A whole experiment through the remote service, configured exactly as the docs show."""
from __future__ import annotations

import pytest

from conftest import HERE


@pytest.mark.slow
def test_experiment_runs_on_remote_machines(sshd_pair, tmp_path, monkeypatch):
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.evaluator import FunctionalEvaluator
    from nascore.strategy import GridSearch
    from nascore_remote import RemoteMachineConfig
    from remote_space_helpers import TinySpace
    from remote_trial_helpers import evaluate_width

    monkeypatch.chdir(HERE)  # the trial code directory defaults to the working directory
    key = str(sshd_pair[0].user_key)
    config = NasExperimentConfig("ts", "simplified", "remote")
    rm = RemoteMachineConfig(); rm.host = "127.0.0.1"; rm.port = sshd_pair[0].port; rm.user = sshd_pair[0].user
    rm.ssh_key_file = key
    rm.known_hosts = str(sshd_pair[0].known_hosts)
    rm.python_path = __import__("sys").executable
    config.training_service.machine_list = [rm]
    config.training_service.code_excludes = ["__pycache__/"]
    config.experiment_working_directory = str(tmp_path)
    config.trial_concurrency = 2
    exp = NasExperiment(TinySpace(), FunctionalEvaluator(evaluate_width), GridSearch(), config=config)
    exp.run()
    top = exp.export_top_models(top_k=2, formatter="dict")
    assert top == [{"layer": 1}, {"layer": 0}]  # 4*8+8 = 40 parameters beat 4*2+2 = 10
    logs = sorted(p.parent.name for p in (exp.directory / "trials").glob("*/stdout.log"))
    assert len(logs) == 2
