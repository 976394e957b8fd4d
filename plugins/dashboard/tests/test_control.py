"""Cancelling a running trial of a live ts experiment through the dashboard, from another HTTP client."""
import threading
import time

import pytest

from nascore import NasExperiment, NasExperimentConfig
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore
from nascore.strategy import GridSearch

pytestmark = pytest.mark.slow

GATED = '''
import os
import time
from nascore.mutable import Categorical, ensure_frozen
from nascore.nn import ModelSpace


class Space(ModelSpace):
    def __init__(self):
        super().__init__()
        self.width = ensure_frozen(Categorical([1, 2, 3], label="width"))


def evaluate(model, gate):
    open(gate + ".started", "a").close()
    while not os.path.exists(gate):  # the workload: a trial that runs until the test lets it finish
        time.sleep(0.02)
    return float(model.width)
'''


def test_cancel_a_running_trial_needs_the_token(tmp_path, importable_module, call, free_port):
    pytest.importorskip("nascore_training_service")
    user = importable_module(GATED)
    gate = tmp_path / "gate"
    config = NasExperimentConfig("ts", "simplified", "local", max_trial_number=2, trial_concurrency=1,
                                 experiment_working_directory=str(tmp_path / "runs"))
    exp = NasExperiment(user.Space(), FunctionalEvaluator(user.evaluate, gate=str(gate)), GridSearch(), config)
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("status", exp.run(port=free_port())), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the dashboard serves and trial 1 runs in its worker
            if exp.dashboard is not None and (tmp_path / "gate.started").exists():
                break
            time.sleep(0.05)
        url = exp.dashboard.url + f"api/experiments/{exp.id}/trials/1/cancel"
        status, body = call(url, "POST")
        assert status == 403 and "access token" in body["error"]
        status, body = call(url, "POST", token=exp.dashboard.token)
        assert (status, body) == (200, {"cancelled": 1})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and call(exp.dashboard.url + f"api/experiments/{exp.id}/trials/1")[1][
                "status"] == "training":
            time.sleep(0.05)
        _, trial = call(exp.dashboard.url + f"api/experiments/{exp.id}/trials/1")
        assert (trial["status"], trial["reason"]) == ("interrupted", "cancelled from the dashboard")
        assert call(url, "POST", token=exp.dashboard.token)[0] == 409  # not running any more
    finally:
        gate.write_text("go")
        thread.join(60)
        if exp.dashboard is not None:
            exp.dashboard.stop()
    assert outcome["status"] == "done"
    with ExperimentStore.open(exp.directory) as store:
        assert [r.status for r in store.models()] == ["interrupted", "trained"]
