"""Early stopping with CGO: models merged into one trial cannot stop alone (one process trains them together, and
their metrics come back split when the merged trial ends), so the stopper lets the merged trial run to its end and
says so; each model ends trained with its whole curve, which still feeds the stopper's rungs."""
import logging

import pytest

from nascore.early_stopping import ASHA
from nascore.experiment.config import NasExperimentConfig
from nascore.experiment.experiment import NasExperiment
from nascore.strategy import GridSearch

import cgo_helpers as h

pytestmark = pytest.mark.slow


def test_the_stopper_skips_models_merged_into_one_trial(tmp_path, caplog):
    config = NasExperimentConfig("cgo", "graph", "local", experiment_working_directory=str(tmp_path),
                                 trial_concurrency=1, max_trial_number=3)
    config.max_concurrency_cgo = 3
    config.batch_waiting_time = 30  # the batch goes when full
    config.training_service.preload = ["torch", "pytorch_lightning"]
    stopper = ASHA(min_resource=1, max_resource=3, reduction_factor=3)
    config.early_stopping = stopper
    exp = NasExperiment(h.DropoutNet(), h.classification(max_epochs=3), GridSearch(), config=config)
    with caplog.at_level(logging.WARNING, logger="nascore.early_stopping.middleware"):
        assert exp.run() == "done"
    records = exp.store.models()
    assert len({r.log_path for r in records}) == 1  # one merged trial
    assert [(r.status, len(r.intermediates)) for r in records] == [("trained", 3)] * 3
    assert stopper.state()["rungs"] == {"1": 3}  # the stopper saw every model's curve at its rung
    # below the top third at rung 1 two of three models would have been stopped: the stopper says why it did not
    assert "cannot stop" in caplog.text and "merged trial" in caplog.text
