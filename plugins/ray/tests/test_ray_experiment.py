"""Experiments from the public API on Ray: a node killed mid-trial, a private instance, a SIGKILLed experiment
resumed, CGO. The session cluster (conftest) plus nodes a test adds."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.experiment.config import NasExperimentConfig
from nascore.experiment.store import ExperimentStore
from nascore.strategy import GridSearch

import ray_space
from conftest import HERE

pytestmark = pytest.mark.slow


def _config(tmp_path, address, env=None, **settings):
    config = NasExperimentConfig("ts", "simplified", "ray", experiment_working_directory=str(tmp_path / "runs"),
                                 **settings)
    service = config.training_service
    service.address, service.preload, service.trial_code_directory = address, [], str(HERE)
    service.runtime_env = {"env_vars": env or {}}
    return config


def _wait(condition, timeout=90.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_node_killed_mid_trial_reruns_it_elsewhere_without_losing_or_repeating_metrics(ray_cluster, tmp_path):
    spots = [ray_cluster.add_node(cpus=1, resources={"spot": 1}) for _ in range(2)]
    markers, gate = tmp_path / "markers", tmp_path / "gate"
    markers.mkdir()
    env = {"NASCORE_TEST_MARKERS": str(markers), "NASCORE_TEST_GATE": str(gate), "NASCORE_TEST_GATED": "4"}
    config = _config(tmp_path, ray_cluster.address, env, trial_concurrency=1)
    config.training_service.trial_resources = {"spot": 1}  # only the spot nodes run trials
    exp = NasExperiment(ray_space.TinyNet(widths=(4,)), FunctionalEvaluator(ray_space.gated), GridSearch(), config)
    runner = threading.Thread(target=exp.run)
    try:
        runner.start()
        _wait(lambda: (markers / "4").exists())
        doomed = next(n for n in spots if (markers / "4").read_text() == n.marker + "/")
        (markers / "4").unlink()
        assert ray_cluster.kill_node(doomed)  # raylet, agents and the trial's worker: SIGKILL
        _wait(lambda: (markers / "4").exists())  # the trial started again, on the other spot node
        assert (markers / "4").read_text() != doomed.marker + "/"
        gate.touch()
        runner.join(120)
        assert not runner.is_alive()
    finally:
        gate.touch()
        for node in spots:
            ray_cluster.kill_node(node)
    [record] = ExperimentStore.open(exp.directory).models()
    assert (record.status, record.intermediates, record.final) == ("trained", [4.0, 8.0, 12.0], 40.0)
    stderr = (Path(record.log_path) / "stderr.log").read_text()
    assert "died during attempt 1 of this trial" in stderr


def test_private_instance_runs_the_experiment_and_leaves_no_ray_process(tmp_path, monkeypatch, ray_cluster):
    from nascore_ray import cluster
    seen = []
    close = cluster.Connection.close

    def spy(self):
        seen.extend(cluster.session_processes())  # what this experiment's private instance runs, just before
        close(self)

    monkeypatch.setattr(cluster.Connection, "close", spy)
    config = _config(tmp_path, None)
    config.training_service.num_cpus = 1
    exp = NasExperiment(ray_space.TinyNet(), FunctionalEvaluator(ray_space.gated), GridSearch(), config)
    assert exp.run() == "done"
    records = sorted(ExperimentStore.open(exp.directory).models(), key=lambda r: r.sample["width"])
    assert [(r.status, r.intermediates, r.final) for r in records] == \
        [("trained", [2.0, 4.0, 6.0], 20.0), ("trained", [4.0, 8.0, 12.0], 40.0)]
    assert len(seen) >= 3, seen  # GCS, raylet, the trial actor's worker...
    assert not [(pid, _cmdline(pid)[:80]) for pid in seen if _alive(pid)]


RESUME_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
import ray_space
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.experiment.config import NasExperimentConfig
from nascore.strategy import GridSearch
config = NasExperimentConfig("ts", "simplified", "ray", experiment_working_directory={runs!r}, trial_concurrency=1,
                             experiment_name="killed")
service = config.training_service
service.address, service.preload, service.trial_code_directory = {address!r}, [], {here!r}
service.runtime_env = {{"env_vars": {env!r}}}
NasExperiment(ray_space.TinyNet(widths=(1, 2, 3)), FunctionalEvaluator(ray_space.gated), GridSearch(), config).run()
"""


def test_a_sigkilled_experiment_resumes_and_ray_drops_its_actors(ray_cluster, tmp_path):
    markers, gate = tmp_path / "markers", tmp_path / "gate"
    markers.mkdir()
    env = {"NASCORE_TEST_MARKERS": str(markers), "NASCORE_TEST_GATE": str(gate), "NASCORE_TEST_GATED": "2"}
    script = RESUME_SCRIPT.format(here=str(HERE), runs=str(tmp_path / "runs"), address=ray_cluster.address, env=env)
    before = set(ray_cluster.pids())
    proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
    try:
        _wait(lambda: (markers / "2").exists() or proc.poll() is not None)  # trial 1 done, trial 2 blocked
        assert proc.poll() is None
        actors = set(ray_cluster.pids()) - before
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        _wait(lambda: not [p for p in actors if _alive(p) and "TrialActor" in _cmdline(p)], 60)
    finally:
        proc.kill()
    gate.touch()
    directory = tmp_path / "runs" / "killed"
    before_resume = {r.sample["width"]: r for r in ExperimentStore.open(directory).models()}
    assert before_resume[1].status == "trained"
    resumed = NasExperiment.resume(directory)
    assert resumed.status == "done"
    records = {r.sample["width"]: r for r in ExperimentStore.open(directory).models()}
    assert sorted(records) == [1, 2, 3] and all(r.status == "trained" for r in records.values())
    assert [records[w].final for w in (1, 2, 3)] == [10.0, 20.0, 30.0]
    assert records[1].log_path == before_resume[1].log_path  # finished before the kill: not re-run
    assert records[2].intermediates == [2.0, 4.0, 6.0]


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""
