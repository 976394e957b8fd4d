"""The ``ray`` service through the ``ts`` engine, attached by address to the session's real two-node cluster."""
import ast
import re
import threading
import time

import pytest

from nascore.conformance import ConformanceModel, EngineConformance
from nascore.engine import ModelEventType
from nascore.space import ModelStatus
from nascore_training_service.engine import TrainingServiceEngine

from ray_helpers import ray_config

pytestmark = pytest.mark.slow


class TestTsRayConformance(EngineConformance):
    @pytest.fixture(autouse=True)
    def _cluster(self, ray_cluster):
        self.address = ray_cluster.address

    def make_config(self, directory, **settings):
        return ray_config(directory, self.address, **settings)


def _engine(tmp_path, address, **settings):
    engine = TrainingServiceEngine(ray_config(tmp_path, address, **settings))
    engine.log_directory = tmp_path / "trials"
    return engine


def _model(function, **sample):
    return ConformanceModel(sample, f"ray_trials:{function}")


def _gpu_line(text):
    """What ray_trials.gpus printed: (CUDA_VISIBLE_DEVICES split, Ray's GPU ids) as lists of strings."""
    visible, ray_ids = text.strip().split(" ray=")
    return ast.literal_eval(visible.split("=", 1)[1]).split(","), [str(i) for i in ast.literal_eval(ray_ids)]


def _wait(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_metrics_stream_while_the_trial_runs_and_logs_land_in_the_experiment_dir(ray_cluster, tmp_path):
    engine = _engine(tmp_path, ray_cluster.address)
    seen = threading.Event()
    engine.register_model_event_callback(ModelEventType.IntermediateMetric, lambda event: seen.set())
    gate = tmp_path / "gate"
    model = _model("steps", x=2, gate=str(gate))
    try:
        engine.submit_models(model)
        assert engine.service.slots == 2  # trial_concurrency unset: one 1-CPU trial per node fits
        assert seen.wait(60), "the first intermediate metric did not arrive while the trial waited"
        assert model.status is ModelStatus.Training and model.metrics.intermediates == [2]
        gate.touch()
        assert engine.wait_models(model, timeout=60)
    finally:
        engine.shutdown()
    assert (model.status, model.metrics.intermediates, model.metrics.final) == (ModelStatus.Trained, [2, 4, 6], 20)
    assert re.fullmatch(r"ray node [0-9a-f]{20,} \(pid \d+\)", model.worker), model.worker  # where it ran
    logs = engine.service.log_paths(model.trial_id)
    assert "trial x=2 on pid" in logs.stdout.read_text() and "trial x=2 stderr line" in logs.stderr.read_text()


def test_each_fault_fails_its_trial_alone_with_its_reason(ray_cluster, tmp_path):
    engine = _engine(tmp_path, ray_cluster.address, max_trial_duration=4)
    models = {how: _model("crash", how=how) for how in ("raise", "exit", "segfault", "hang")}
    after = _model("steps", x=1)
    try:
        engine.submit_models(*models.values(), after)
        assert engine.wait_models(*models.values(), after, timeout=120)
    finally:
        engine.shutdown()
    reasons = {how: (m.status, m.failure_reason) for how, m in models.items()}
    assert reasons["raise"] == (ModelStatus.Failed, "ValueError: trial raises on purpose")
    assert reasons["exit"] == (ModelStatus.Failed, "exit code 3")
    assert reasons["segfault"] == (ModelStatus.Failed, "killed by signal SIGSEGV")
    assert reasons["hang"] == (ModelStatus.Failed, "exceeded max_trial_duration (4s)")
    assert all(m.metrics.intermediates == [1] for m in models.values())
    assert "Segmentation fault" in engine.service.log_paths(models["segfault"].trial_id).stderr.read_text()
    assert (after.status, after.metrics.final) == (ModelStatus.Trained, 10)


def test_logs_travel_back_when_the_node_cannot_write_the_experiment_dir(ray_cluster, tmp_path):
    engine = _engine(tmp_path, ray_cluster.address)
    engine.config.training_service.runtime_env = {"env_vars": {"NASCORE_RAY_SHIP_LOGS": "1"}}
    ok, crash = _model("steps", x=3), _model("crash", how="segfault")
    try:
        engine.submit_models(ok, crash)
        assert engine.wait_models(ok, crash, timeout=90)
        assert not any(info["direct_logs"] for info in engine.service.actor_info() if info)
    finally:
        engine.shutdown()
    assert ok.metrics.final == 30 and "trial x=3 on pid" in engine.service.log_paths(ok.trial_id).stdout.read_text()
    assert crash.failure_reason == "killed by signal SIGSEGV"  # from the stderr fetched from its node
    assert "Segmentation fault" in engine.service.log_paths(crash.trial_id).stderr.read_text()


def test_shutdown_interrupts_running_trials_and_kills_their_actors(ray_cluster, tmp_path):
    import psutil
    engine = _engine(tmp_path, ray_cluster.address)
    models = [_model("crash", how="hang"), _model("crash", how="hang")]
    engine.submit_models(*models)
    _wait(lambda: all(m.metrics.intermediates == [1] for m in models))
    pids = [info["pid"] for info in engine.service.actor_info()]
    assert len(pids) == 2 and all(psutil.pid_exists(p) for p in pids)
    engine.shutdown()
    assert [(m.status, m.failure_reason) for m in models] == \
        [(ModelStatus.Interrupted, "training service shut down")] * 2
    _wait(lambda: not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids), 30)


def test_gpus_become_ray_resources_and_cuda_visible_devices_follows_ray(ray_cluster, tmp_path):
    # The worker node declares 2 (logical) GPUs and 1 CPU: Ray assigns the GPUs; a trial sees exactly its own.
    engine = _engine(tmp_path, ray_cluster.address)
    engine.config.training_service.trial_gpus = 1
    engine.config.training_service.trial_cpus = 0.5
    models = [_model("gpus", x=i) for i in range(2)]
    try:
        engine.submit_models(*models)
        assert engine.wait_models(*models, timeout=90)
        _wait(lambda: all(engine.service.actor_info()))  # both slots' actors hold a GPU each
        gpu_ids = sorted(tuple(info["gpu_ids"]) for info in engine.service.actor_info())
    finally:
        engine.shutdown()
    assert engine.service.slots == 2 and gpu_ids == [("0",), ("1",)]
    for model in models:
        line = engine.service.log_paths(model.trial_id).stdout.read_text().strip()
        visible, ray_ids = _gpu_line(line)
        assert visible == ray_ids and len(ray_ids) == 1


def test_fractional_gpus_share_one_gpu(ray_cluster, tmp_path):
    engine = _engine(tmp_path, ray_cluster.address)
    engine.config.training_service.trial_gpus = 0.5
    engine.config.training_service.trial_cpus = 0.5
    model = _model("gpus", x=0)
    try:
        engine.submit_models(model)
        assert engine.wait_models(model, timeout=90)
    finally:
        engine.shutdown()
    assert engine.service.slots == 2  # the worker node: min(1 CPU / 0.5, 2 GPUs / 0.5)
    visible, ray_ids = _gpu_line(engine.service.log_paths(model.trial_id).stdout.read_text())
    assert visible == ray_ids and ray_ids in (["0"], ["1"])
