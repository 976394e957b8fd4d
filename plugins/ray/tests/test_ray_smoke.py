from nascore.conformance import ConformanceModel
from nascore_training_service.engine import TrainingServiceEngine

from conftest import ray_config


def test_smoke(ray_cluster, tmp_path):
    config = ray_config(tmp_path, address=ray_cluster.address)
    engine = TrainingServiceEngine(config)
    engine.log_directory = tmp_path / "trials"
    models = [ConformanceModel({"x": i}, "ray_trials:steps") for i in range(1, 5)]
    try:
        engine.submit_models(*models)
        assert engine.wait_models(*models, timeout=60)
    finally:
        engine.shutdown()
    for m in models:
        print(m.status, m.metrics.intermediates, m.metrics.final, getattr(m, "failure_reason", None))
    assert [m.metrics.final for m in models] == [10, 20, 30, 40]
