"""GPU scheduling: the pure GpuScheduler, LocalConfig.check() on this machine, CUDA_VISIBLE_DEVICES per trial."""
import pytest

from nascore.conformance import ConformanceModel
from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore_training_service.config import LocalConfig
from nascore_training_service.engine import TrainingServiceEngine
from nascore_training_service.gpu import GpuScheduler, cuda_env, detect_gpus

import ts_helpers  # noqa: F401


def test_scheduler_spreads_trials_and_respects_the_per_gpu_limit():
    scheduler = GpuScheduler([0, 1, 2], max_trial_number_per_gpu=2)
    assert scheduler.free_slots(1) == 6 and scheduler.free_slots(2) == 3 and scheduler.free_slots(3) == 2
    assert scheduler.acquire("a", 1) == [0]
    assert scheduler.acquire("b", 1) == [1]  # least loaded first
    assert scheduler.acquire("c", 2) == [0, 2] and scheduler.assigned("c") == [0, 2]
    assert scheduler.free_slots(1) == 2
    assert scheduler.acquire("d", 3) is None  # GPU 0 is full
    scheduler.release("c")
    assert scheduler.acquire("d", 3) == [0, 1, 2]
    scheduler.release("a")
    scheduler.release("unknown")  # ignored
    assert scheduler.free_slots(1) == 2  # loads are now 1, 2, 1 of 2 each


def test_scheduler_skips_busy_gpus_unless_allowed():
    cautious = GpuScheduler([0, 1], use_active_gpu=False)
    assert cautious.acquire("a", 1, busy={0}) == [1]
    assert cautious.acquire("b", 1, busy={0}) is None
    assert GpuScheduler([0, 1], use_active_gpu=True).acquire("a", 2, busy={0, 1}) == [0, 1]


def test_scheduler_rejects_bad_requests():
    with pytest.raises(ValueError, match="needs 3 GPU.*only 2"):
        GpuScheduler([4, 5]).acquire("a", 3)
    with pytest.raises(ValueError, match="duplicates"):
        GpuScheduler([1, 1])
    scheduler = GpuScheduler([0])
    assert scheduler.acquire("a", 0) == [] and scheduler.free_slots(0) > 1000
    with pytest.raises(ValueError, match="already holds"):
        scheduler.acquire("a", 1)


def test_cuda_env():
    assert cuda_env(None) == {} and cuda_env([]) == {"CUDA_VISIBLE_DEVICES": ""}
    assert cuda_env([2, 0]) == {"CUDA_VISIBLE_DEVICES": "2,0"}


def test_check_without_gpus_fails_up_front():
    if detect_gpus():
        pytest.skip("this machine has GPUs")
    config = NasExperimentConfig("ts", None, "local")
    config.training_service.trial_gpu_number = 1
    with pytest.raises(ConfigError, match="trial_gpu_number=1 asks for GPUs, but this machine has none"):
        config.check()
    LocalConfig(trial_gpu_number=0).check(config)  # no GPU needed: fine


def test_trials_get_distinct_gpus(tmp_path):
    config = NasExperimentConfig("ts", None, "local", experiment_working_directory=str(tmp_path),
                                 trial_concurrency=3)
    local = config.training_service
    local.preload, local.trial_gpu_number, local.gpu_indices = [], 1, [0, 1]  # check() is skipped: no GPUs here
    local.use_active_gpu = True  # GPUs busy with other processes (e.g. this test process's CUDA) are not the point
    engine = TrainingServiceEngine(config)
    engine.log_directory = tmp_path / "trials"
    try:
        models = [ConformanceModel({}, "ts_helpers:cuda_device_then_wait") for _ in range(3)]
        engine.submit_models(*models)
        assert engine.query_available_resources() == 0  # 3 slots, but only 2 GPUs with 1 trial each
        assert engine.wait_models(timeout=60)
        devices = [m.metrics.intermediates[0] for m in models]
        assert sorted(devices[:2]) == [0, 1] and devices[2] in (0, 1)
    finally:
        engine.shutdown()


def test_gpu_trials_on_a_real_gpu(tmp_path):
    if not detect_gpus():
        pytest.skip("no GPU on this machine")
    config = NasExperimentConfig("ts", None, "local", experiment_working_directory=str(tmp_path),
                                 trial_concurrency=2)
    config.training_service.trial_gpu_number = 1
    config.training_service.use_active_gpu = True
    config.check()
    engine = TrainingServiceEngine(config)
    engine.log_directory = tmp_path / "trials"
    try:
        models = [ConformanceModel({}, "ts_helpers:cuda_matmul") for _ in range(2)]
        engine.submit_models(*models)
        assert engine.wait_models(timeout=120)
        assert [(m.status.value, m.metrics.intermediates, m.metrics.final) for m in models] == \
            [("trained", [1], 64.0)] * 2, [m.failure_reason for m in models]
    finally:
        engine.shutdown()
