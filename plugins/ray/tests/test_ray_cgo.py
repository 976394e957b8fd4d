"""CGO on Ray: merged graph models trained in one trial on the session cluster, and on the GPUs Ray gives."""
import sys
from pathlib import Path

import pytest

from nascore.space import ModelStatus

pytest.importorskip("nascore_cgo")
CGO_TESTS = Path(__file__).resolve().parents[2] / "cgo" / "tests"  # its helpers travel as the code directory
if str(CGO_TESTS) not in sys.path:
    sys.path.append(str(CGO_TESTS))  # last: its conftest must not shadow anything
pytestmark = pytest.mark.slow


def _experiment(tmp_path, address, **service):
    import cgo_helpers as h
    from nascore.experiment.config import NasExperimentConfig
    from nascore.experiment.experiment import NasExperiment
    from nascore.strategy import GridSearch
    config = NasExperimentConfig("cgo", "graph", "ray", experiment_working_directory=str(tmp_path / "exp"),
                                 trial_concurrency=1)
    config.max_concurrency_cgo = 3
    config.batch_waiting_time = 3  # GridSearch submits all four at once
    settings = config.training_service
    settings.address, settings.trial_code_directory = address, str(CGO_TESTS)
    for key, value in service.items():
        setattr(settings, key, value)
    return NasExperiment(h.DigitsNet(), h.classification(max_epochs=1), GridSearch(), config=config)


def test_cgo_over_ray(tmp_path, ray_cluster):
    exp = _experiment(tmp_path, ray_cluster.address)
    assert exp.run() == "done"
    models = {m.sample["fc1"]: m for m in exp.list_models()}
    assert sorted(models) == [0, 1, 2, 3]
    assert models[3].status is ModelStatus.Failed and "shapes cannot be multiplied" in models[3].failure_reason
    assert all(models[c].status is ModelStatus.Trained and models[c].metric is not None for c in (0, 1, 2))


def test_cgo_places_merged_models_on_the_gpu_ray_gives(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU (runs on a private Ray instance with trial_gpus=1)")
    exp = _experiment(tmp_path, None, trial_gpus=1, trial_cpus=1)
    middleware = exp.config.execution_engine
    assert exp.run() == "done"
    from nascore_cgo.config import resolve_devices
    assert resolve_devices(exp.config) == ["cuda:0"] and middleware.devices is None
    models = {m.sample["fc1"]: m for m in exp.list_models()}
    assert all(models[c].status is ModelStatus.Trained for c in (0, 1, 2))


def test_a_trial_sees_exactly_the_gpu_ray_gives(tmp_path):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from nascore.conformance import ConformanceModel
    from nascore_training_service.engine import TrainingServiceEngine
    from ray_helpers import ray_config
    config = ray_config(tmp_path, None)
    config.training_service.trial_gpus = 1
    engine = TrainingServiceEngine(config)
    engine.log_directory = tmp_path / "trials"
    model = ConformanceModel({}, "ray_trials:cuda_devices")
    try:
        engine.submit_models(model)
        assert engine.wait_models(model, timeout=300)
    finally:
        engine.shutdown()
    assert model.metrics.final == 1  # torch.cuda.device_count() inside the trial
