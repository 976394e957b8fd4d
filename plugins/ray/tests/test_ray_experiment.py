"""Experiments from the public API on Ray: a node killed mid-trial (the session cluster plus two nodes the test
adds), a private instance killed or interrupted (and resumed)."""
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
from nascore.weights import weights_file

import ray_space
from ray_helpers import HERE, run_bounded

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
    runner = threading.Thread(target=exp.run, daemon=True)
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
        if runner.is_alive():  # a failure above: stop the run before the nodes go, never leave it pending
            exp.stop()
            runner.join(60)
        for node in spots:
            ray_cluster.kill_node(node)
    [record] = ExperimentStore.open(exp.directory).models()
    assert (record.status, record.intermediates, record.final) == ("trained", [4.0, 8.0, 12.0], 40.0)
    stderr = (Path(record.log_path) / "stderr.log").read_text()
    assert "died during attempt 1 of this trial" in stderr


def test_weights_trained_on_a_node_that_cannot_write_the_experiment_dir_come_back(ray_cluster, tmp_path):
    # NASCORE_RAY_SHIP_LOGS forces node-local logs, as for a node without the experiment dir's file system; the
    # trial then also cannot save there (NASCORE_TEST_UNSEEN): the weights must travel back with the logs
    env = {"NASCORE_RAY_SHIP_LOGS": "1", "NASCORE_TEST_UNSEEN": str(tmp_path / "runs")}
    config = _config(tmp_path, ray_cluster.address, env, trial_concurrency=1)
    exp = NasExperiment(ray_space.TinyNet(widths=(2,)), FunctionalEvaluator(ray_space.trains), GridSearch(), config)
    assert run_bounded(exp) == "done"
    [model] = exp.list_models()
    assert model.weights_path == str(weights_file(exp.directory, model.model_id)) and Path(model.weights_path).is_file()
    module = exp.export_top_models(formatter="instance")[0]
    assert module.layer.weight.eq(0.25).all() and module.layer.bias.eq(-1.0).all()


PRIVATE_SCRIPT = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises, even in a background job
sys.path.insert(0, {here!r})
import ray_space
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.experiment.config import NasExperimentConfig
from nascore.strategy import GridSearch
from nascore.weights import weights_file
config = NasExperimentConfig("ts", "simplified", "ray", experiment_working_directory={runs!r}, experiment_name="p")
service = config.training_service
service.num_cpus, service.preload, service.trial_code_directory = 1, [], {here!r}
service.runtime_env = {{"env_vars": {env!r}}}
print(NasExperiment(ray_space.TinyNet(), FunctionalEvaluator(ray_space.gated), GridSearch(), config).run(), flush=True)
"""


@pytest.mark.parametrize("how", ["sigkill", "ctrl-c"])
def test_a_private_instance_leaves_no_process_when_the_experiment_is_killed_or_interrupted(tmp_path, how):
    """Killed (SIGKILL) or interrupted (Ctrl-C), the experiment's private Ray instance goes with it; a SIGKILLed
    experiment then resumes (on a new private instance): the trial finished before the kill is not re-run, the
    interrupted ones run again, and that instance too is gone afterwards."""
    from nascore_ray.processes import PRIVATE_MARKER, processes_with_env
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {"NASCORE_TEST_MARKERS": str(markers), "NASCORE_TEST_GATE": str(tmp_path / "never"),
           "NASCORE_TEST_GATED": "4"}
    script = PRIVATE_SCRIPT.format(here=str(HERE), runs=str(tmp_path / "runs"), env=env)
    # a session of its own, like a shell job: SIGINT goes to its whole process group, as Ctrl-C does
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
                            start_new_session=True)
    try:
        _wait(lambda: (markers / "4").exists() or proc.poll() is not None)  # width 2 done, width 4 running
        assert proc.poll() is None
        instance = processes_with_env(PRIVATE_MARKER, f"{proc.pid}-")
        assert len(instance) >= 3  # GCS, raylet, the trial's actor...
        os.killpg(proc.pid, signal.SIGKILL if how == "sigkill" else signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        if how == "ctrl-c":
            assert proc.returncode == 0 and out.splitlines()[-1] == "interrupted", out
            records = ExperimentStore.open(tmp_path / "runs" / "p").models()
            assert sorted((r.sample["width"], r.status, r.failure_reason) for r in records) == \
                [(2, "trained", None), (4, "interrupted", "training service shut down")]
        _wait(lambda: not [p for p in processes_with_env(PRIVATE_MARKER, f"{proc.pid}-") if _alive(p)], 30)
    finally:
        proc.kill()
    if how == "ctrl-c":
        return
    directory = tmp_path / "runs" / "p"
    before = {r.sample["width"]: r for r in ExperimentStore.open(directory).models()}
    (tmp_path / "never").touch()  # the gate opens: the resumed trials finish
    assert NasExperiment.resume(directory).status == "done"
    records = {r.sample["width"]: r for r in ExperimentStore.open(directory).models()}
    assert [(w, r.status, r.intermediates, r.final) for w, r in sorted(records.items())] == \
        [(2, "trained", [2.0, 4.0, 6.0], 20.0), (4, "trained", [4.0, 8.0, 12.0], 40.0)]
    assert before[2].status == "trained" and records[2].log_path == before[2].log_path  # not re-run
    assert not [p for p in processes_with_env(PRIVATE_MARKER, f"{os.getpid()}-") if _alive(p)]
