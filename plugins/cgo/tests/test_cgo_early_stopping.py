"""Early stopping with CGO: models merged into one trial cannot stop alone (one process trains them together, and
their metrics come back split when the merged trial ends), so the stopper lets the merged trial run to its end and
says so; each model ends trained with its whole curve, which still feeds the stopper's rungs."""
import logging

import pytest

from nascore.early_stopping import EarlyStopper
from nascore.experiment.config import NasExperimentConfig
from nascore.experiment.experiment import NasExperiment
from nascore.strategy import GridSearch

import cgo_helpers as h

pytestmark = pytest.mark.slow


class StopAtOnce(EarlyStopper):
    """Wants every trial stopped at its first report (whatever the accuracies: the test must not hang on them)."""

    def __init__(self):
        self.asked, self.ended = [], []

    def report(self, trial, step, score):
        self.asked.append((trial, step))
        return "stop it"

    def trial_ended(self, trial, scores, status):
        self.ended.append((len(scores), status))


def test_the_stopper_skips_models_merged_into_one_trial(tmp_path, caplog):
    config = NasExperimentConfig("cgo", "graph", "local", experiment_working_directory=str(tmp_path),
                                 trial_concurrency=1, max_trial_number=3)
    config.max_concurrency_cgo = 3
    config.batch_waiting_time = 30  # the batch goes when full
    config.training_service.preload = ["torch", "pytorch_lightning"]
    stopper = StopAtOnce()
    config.early_stopping = stopper
    exp = NasExperiment(h.DropoutNet(), h.classification(max_epochs=3), GridSearch(), config=config)
    with caplog.at_level(logging.WARNING, logger="nascore.early_stopping.middleware"):
        assert exp.run() == "done"
    records = exp.store.models()
    assert len({r.log_path for r in records}) == 1  # one merged trial
    assert [(r.status, len(r.intermediates)) for r in records] == [("trained", 3)] * 3
    # asked once per model (then skipped: it cannot be stopped alone), and told of each whole curve at the end
    assert sorted(step for _, step in stopper.asked) == [1, 1, 1] and len({t for t, _ in stopper.asked}) == 3
    assert stopper.ended == [(3, "trained")] * 3
    assert "cannot stop" in caplog.text and "merged trial" in caplog.text  # and it says why it did not stop them
