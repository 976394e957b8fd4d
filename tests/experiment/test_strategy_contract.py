"""The public MultiTrialStrategy contract (issue 13 item 6): a third-party strategy written against public names
only runs, saves JSON state and resumes; a strategy that breaks the rebuild rule gets a clear error."""
import logging

import pytest

from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ExperimentStore, NasExperiment
from nascore.experiment.resume import ResumeError
from nascore.strategy import MultiTrialStrategy


class CountingStrategy(MultiTrialStrategy):
    """Walks the space's grid in order, skipping tried samples; counts results in its own JSON state."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.seen = 0

    def propose(self):
        for i, sample in enumerate(self.space.grid()):
            if i % self.stride == 0 and not self.is_tried(sample):
                return sample
        return None

    def on_result(self, sample, metric, status, replayed):
        self.seen += 1  # called with self.lock held

    def state_dict(self):
        state = super().state_dict()
        with self.lock:
            state["seen"] = self.seen
        return state

    def load_extra_state(self, state):
        self.restored = state.get("seen")


class ForgetfulStrategy(CountingStrategy):
    def __init__(self, width: int = 2) -> None:
        super().__init__()
        self.w = width  # not kept under its parameter's name: resume cannot know it


def test_third_party_strategy_on_public_names_resumes(tiny, make_config):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), CountingStrategy(stride=2),
                        make_config(max_trial_number=3))
    assert exp.run() == "done"
    with ExperimentStore.open(exp.directory) as store:
        assert store.strategy_state()["seen"] == 3
        first = [r.sample for r in store.models()]
    resumed = NasExperiment.resume(exp.directory, config=make_config(max_trial_number=5), run=False)
    assert resumed.strategy.stride == 2  # rebuilt with the arguments it was built with
    assert resumed.run() == "done"
    assert resumed.strategy.restored == 3 and resumed.strategy.num_tried == 5
    with ExperimentStore.open(exp.directory) as store:
        samples = [r.sample for r in store.models()]
    assert samples[:3] == first and len({tuple(sorted(s.items())) for s in samples}) == 5


def test_strategy_that_breaks_the_rebuild_rule_gets_a_clear_error(tiny, make_config, caplog):
    with caplog.at_level(logging.WARNING):
        exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), ForgetfulStrategy(width=3),
                            make_config(max_trial_number=2))
        exp.run()
    assert "ForgetfulStrategy cannot be rebuilt on resume" in caplog.text and "width" in caplog.text
    with pytest.raises(ResumeError, match=r"parameter\(s\) width of ForgetfulStrategy.*self.width.*strategy="):
        NasExperiment.resume(exp.directory, run=False)
    resumed = NasExperiment.resume(exp.directory, strategy=ForgetfulStrategy(width=3), run=False)
    assert resumed.run() == "done"
