"""Concurrent trials on one machine split its cores (OMP/MKL_NUM_THREADS) instead of each starting one torch
thread per core; a user's own setting, in the trial's env or the machine's login environment, wins."""
from __future__ import annotations

import os
import sys

from nascore.space import ModelStatus
from nascore.training_service import TrialRequest
from remote_trial_helpers import script_payload


def _threads(service, rec, trial_id, **request):
    service.submit(TrialRequest(trial_id, script_payload("threads"), **request))
    rec.wait_ended(trial_id)
    assert rec.ends()[trial_id].status is ModelStatus.Trained, rec.ends()[trial_id].reason
    env = service.log_paths(trial_id).stdout.read_text().split()[1:3]  # "threads <OMP> <MKL>"
    return rec.metrics(trial_id)[-1][1], env


def test_concurrent_trials_split_the_machine_cores(start_service, machine):
    # the "remote" machine is this one: its agent reports the same os.cpu_count()
    share = max(1, (os.cpu_count() or 1) // 2)
    service, rec = start_service([machine(0)], trial_concurrency=2)
    assert _threads(service, rec, "split") == (share, [str(share)] * 2)


# torch never takes more threads than cores: the user's settings below are 1, where the split would give
# every core to the one trial at a time (os.cpu_count())

def test_users_setting_in_the_trial_env_wins(start_service, machine):
    service, rec = start_service([machine(0)], trial_concurrency=1)
    assert _threads(service, rec, "mine", env={"OMP_NUM_THREADS": "1"}) == (1, ["1", "1"])  # counts for both


def test_login_environment_setting_wins(start_service, machine, tmp_path):
    # a Python wrapper stands in for a login environment (.bashrc, modules) that sets MKL_NUM_THREADS
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nMKL_NUM_THREADS=1 exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    service, rec = start_service([machine(0, python_path=str(python))], trial_concurrency=1)
    assert _threads(service, rec, "login") == (1, ["1", "1"])
