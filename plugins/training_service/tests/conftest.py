import sys
from pathlib import Path

import pytest

# ts_helpers must be importable by module path, here and in trial workers (they inherit sys.path).
HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture
def make_engine(tmp_path):
    """``make_engine(concurrency=2, preload=(), **settings)``: a ts engine on the local service; settings of the
    local service (reuse_worker, python_interpreter, ...) go to it, the rest to the experiment config."""
    from nascore.experiment.config import NasExperimentConfig
    from nascore_training_service.config import LocalConfig
    from nascore_training_service.engine import TrainingServiceEngine
    engines = []

    def make(concurrency=2, preload=(), **settings):
        local = {k: settings.pop(k) for k in list(settings) if k in LocalConfig.model_fields}
        config = NasExperimentConfig("ts", None, "local", experiment_working_directory=str(tmp_path),
                                     trial_concurrency=concurrency, **settings)
        config.training_service.preload = list(preload)
        for key, value in local.items():
            setattr(config.training_service, key, value)
        engine = TrainingServiceEngine(config)
        engine.log_directory = tmp_path / "trials"
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.shutdown()
