"""Early stopping on the remote service, end to end (a real sshd on 127.0.0.1): a stopped trial ends inside its
worker on the machine, which stays warm and takes the next trial, the model ends early_stopped with its curve, the
strategy scores it by its best intermediate metric, and a resume never re-runs it."""
from __future__ import annotations

import sys

import pytest

from remote_helpers import HERE

EPOCHS = 6


@pytest.mark.slow
def test_early_stopping_kills_remote_trials_and_frees_their_slot(sshd_pair, tmp_path, monkeypatch):
    from nascore import NasExperiment, NasExperimentConfig
    from nascore.strategy import GridSearch
    from nascore.testkit import ToySpace, check_early_stopped_run, read_toy_log, toy_curve_evaluator
    from nascore_remote import RemoteMachineConfig

    monkeypatch.chdir(HERE)
    server = sshd_pair[0]
    config = NasExperimentConfig("ts", "simplified", "remote", trial_concurrency=1, max_trial_number=9,
                                 experiment_working_directory=str(tmp_path),
                                 early_stopping={"name": "asha", "max_resource": EPOCHS, "reduction_factor": 2})
    config.training_service.code_excludes = ["__pycache__/"]
    config.training_service.machine_list = [RemoteMachineConfig(
        host="127.0.0.1", port=server.port, user=server.user, ssh_key_file=str(server.user_key),
        known_hosts=str(server.known_hosts), python_path=sys.executable)]
    log = tmp_path / "trials.log"  # the "machine" is this host: the trials write where the test reads
    exp = NasExperiment(ToySpace(), toy_curve_evaluator(epochs=EPOCHS, seconds_per_epoch=0.2, log=str(log)),
                        GridSearch(), config)
    assert exp.run() == "done"
    stopped = check_early_stopped_run(exp, str(log), EPOCHS)
    trials = read_toy_log(str(log))
    assert len(trials) == 9  # each model ran once: a stopped trial is not retried elsewhere
    assert len(stopped) >= 3
    # a stopped trial is cancelled inside its worker, which stays warm and runs the next trial: one process
    assert len({t["pid"] for t in trials}) == 1
    assert {r.worker for r in exp.store.models()} == {f"{server.user}@127.0.0.1:{server.port}"}

    before = {r.id: (r.status, r.intermediates, r.log_path) for r in exp.store.models()}
    resumed = NasExperiment.resume(exp.directory)
    assert resumed.status == "done"
    after = {r.id: (r.status, r.intermediates, r.log_path) for r in resumed.store.models()}
    assert after == before and len(read_toy_log(str(log))) == 9  # nothing re-ran
