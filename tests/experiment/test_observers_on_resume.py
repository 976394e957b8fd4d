"""What observers see on resume (issue 13 item 5, documented in nascore.hookspecs): one started/finished pair per
session, models finished earlier are not reported again, every model_finished follows a model_submitted."""
from nascore import hookimpl
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment
from nascore.plugins import get_plugin_manager
from nascore.strategy import Strategy


class Replaying(Strategy):
    """Submits the same four samples in order every run, keeping no state: on resume the first ones are answered
    from the store."""

    def run(self):
        for width in (1, 2, 3, 4):
            if self.stopped or not self.engine.budget_available():
                break
            model = self.model_space.freeze({"width": width, "depth": 1})
            self.engine.submit_models(model)
            self.engine.wait_models(model)


class Observer:
    def __init__(self, stop_after=None):
        self.calls = []
        self.stop_after = stop_after

    @hookimpl
    def nascore_experiment_started(self, experiment):
        self.experiment = experiment
        self.calls.append(("started", experiment.session))

    @hookimpl
    def nascore_model_submitted(self, model):
        self.calls.append(("submitted", model.model_id))

    @hookimpl
    def nascore_model_finished(self, model):
        self.calls.append(("finished", model.model_id))
        if self.stop_after and sum(c[0] == "finished" for c in self.calls) == self.stop_after:
            self.experiment.stop()

    @hookimpl
    def nascore_experiment_finished(self, experiment):
        self.calls.append(("experiment-finished", experiment.session))


def _observe(observer, action):
    get_plugin_manager().register(observer, "test-resume-observer")
    try:
        return action()
    finally:
        get_plugin_manager().unregister("test-resume-observer")


def test_observers_on_resume(tiny, make_config):
    first = Observer(stop_after=2)
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Replaying(), make_config(max_trial_number=4))
    assert _observe(first, exp.run) == "stopped"
    assert first.calls == [("started", 1), ("submitted", 1), ("finished", 1), ("submitted", 2), ("finished", 2),
                           ("experiment-finished", 1)]

    again = Observer()
    resumed = NasExperiment.resume(exp.directory, strategy=Replaying(), run=False)
    assert _observe(again, resumed.run) == "done"
    assert again.calls == [("started", 2), ("submitted", 3), ("finished", 3), ("submitted", 4), ("finished", 4),
                           ("experiment-finished", 2)]
    assert [m.model_id for m in resumed.list_models()] == [1, 2, 3, 4]  # earlier results are still there to read
