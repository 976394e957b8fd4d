"""NasExperiment with no config and a multi-trial strategy runs on ts + simplified + local."""
from pathlib import Path

import pytest

import ts_helpers
import ts_space

pytest.importorskip("nascore_simplified")


@pytest.mark.slow
def test_default_experiment_runs_on_ts_local(tmp_path, monkeypatch):
    from nascore.evaluator import FunctionalEvaluator
    from nascore.experiment import NasExperiment
    from nascore.strategy import GridSearch

    experiment = NasExperiment(ts_space.TinyNet(), FunctionalEvaluator(ts_helpers.score_width),
                               GridSearch())
    config = experiment.config
    assert (config.execution_engine.name, config.model_format.name, config.training_service.name) == \
        ("ts", "simplified", "local")
    config.experiment_working_directory = str(tmp_path)
    config.trial_concurrency = 2
    assert experiment.run() == "done"
    records = sorted(experiment.store.models(), key=lambda r: r.sample["width"])
    assert [(r.sample["width"], r.status, r.final) for r in records] == \
        [(2, "trained", 2.0), (4, "trained", 4.0)]
    for record in records:
        log_dir = Path(record.log_path)
        assert log_dir.parent == experiment.directory / "trials" and (log_dir / "stderr.log").is_file()
