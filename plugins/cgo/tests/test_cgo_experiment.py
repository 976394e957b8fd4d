"""CGO in a whole experiment on the local service: merging, per-model results, the fallback, export, resume."""
import pytest

from nascore import hookimpl
from nascore.experiment.config import NasExperimentConfig
from nascore.experiment.experiment import NasExperiment
from nascore.plugins import get_plugin_manager
from nascore.space import ModelStatus
from nascore.strategy import GridSearch

import cgo_helpers as h

pytestmark = pytest.mark.slow


class Observer:
    def __init__(self):
        self.submitted = []
        self.finished = []
        self.on_first_submit = None

    @hookimpl
    def nascore_model_submitted(self, model):
        self.submitted.append(dict(model.sample))
        if self.on_first_submit is not None and len(self.submitted) == 1:
            self.on_first_submit()

    @hookimpl
    def nascore_model_finished(self, model):
        self.finished.append((dict(model.sample), model.status))


@pytest.fixture
def observer():
    pm = get_plugin_manager()
    obs = Observer()
    pm.register(obs, "cgo-test-observer")
    yield obs
    pm.unregister("cgo-test-observer")


def cgo_config(tmp_path, **fields):
    config = NasExperimentConfig("cgo", "graph", "local", experiment_working_directory=str(tmp_path),
                                 trial_concurrency=1, **fields)
    config.max_concurrency_cgo = 4
    config.batch_waiting_time = 30  # the batch goes when full or when the strategy waits, not after 30 s
    config.training_service.preload = ["torch", "pytorch_lightning"]
    return config


def test_merged_trial_with_a_bad_model_falls_back_and_exports(tmp_path, observer):
    exp = NasExperiment(h.DigitsNet(), h.classification(max_epochs=2), GridSearch(), config=cgo_config(tmp_path))
    assert exp.run() == "done"

    models = exp.list_models()
    assert [m.sample for m in models] == [{"fc1": i} for i in range(4)]
    by_choice = {m.sample["fc1"]: m for m in models}
    bad = by_choice[3]
    assert bad.status is ModelStatus.Failed
    assert "shapes cannot be multiplied" in bad.failure_reason
    for choice in (0, 1, 2):
        good = by_choice[choice]
        assert good.status is ModelStatus.Trained
        # exactly one run's worth of intermediates: the failed merged run left nothing behind
        assert len(good.metrics.intermediates) == 2
        assert isinstance(good.metrics.final, float) and 0.0 <= good.metrics.final <= 1.0
    assert len({by_choice[c].metrics.final for c in (0, 1, 2)}) > 1

    # observers saw 4 submissions, then the 4 re-runs after the merged trial failed; one end per model
    assert sorted(map(str, observer.submitted)) == sorted(map(str, [{"fc1": i} for i in range(4)] * 2))
    assert len(observer.finished) == 4

    assert len(exp.list_models(status="failed")) == 1 and len(exp.list_models(status="trained")) == 3
    top = exp.export_top_models(2, formatter="dict")
    best = max((by_choice[c] for c in (0, 1, 2)), key=lambda m: m.metrics.final)
    assert top[0] == best.sample
    code = exp.export_top_models(1, formatter="code")[0]
    assert "class DigitsNet(nn.Module)" in code and "def build()" in code
    import torch
    instance = exp.export_top_models(1, formatter="instance")[0]
    assert instance(torch.randn(3, 64)).shape == (3, 10)
    assert exp.export_top_models(1)[0].sample == best.sample


def test_good_batch_is_one_trial_with_per_model_metrics(tmp_path):
    config = cgo_config(tmp_path, max_trial_number=3)
    exp = NasExperiment(h.DigitsNet(), h.classification(max_epochs=1), GridSearch(), config=config)
    assert exp.run() == "done"
    models = exp.list_models()
    assert [m.status for m in models] == [ModelStatus.Trained] * 3
    # the three models ran in one trial, and each got its own metric (two different models can still reach
    # the same accuracy after one epoch, so only "not all copies of one" is certain)
    assert len({getattr(m, "trial_id", None) for m in models}) == 1 and models[0].trial_id
    assert len({m.metrics.final for m in models}) > 1
    assert all(len(m.metrics.intermediates) == 1 for m in models)
    # each model's part of the merged module was saved as its own trained weights, and export loads them
    import torch
    assert sorted(p.name for p in (exp.directory / "weights").iterdir()) == [f"model_{m.model_id}.pt" for m in models]
    fresh = [{k: v.clone() for k, v in m.state_dict().items()}
             for m in exp.export_top_models(3, "instance", trained=False)]  # built here, never trained
    for trained, untrained, model in zip(exp.export_top_models(3, "instance"), fresh, exp.export_top_models(3)):
        saved = torch.load(model.weights_path, weights_only=True)
        assert all(torch.equal(saved[k], v) for k, v in trained.state_dict().items())
        assert not all(torch.equal(saved[k], v) for k, v in untrained.items())


def test_interrupted_cgo_experiment_resumes(tmp_path, observer):
    config = cgo_config(tmp_path, experiment_name="cgo-resume")
    exp = NasExperiment(h.DigitsNet(), h.classification(max_epochs=1), GridSearch(), config=config)
    observer.on_first_submit = exp.stop  # stop while the first batch is still filling
    assert exp.run() == "stopped"
    first = exp.list_models()
    assert first and all(m.status is ModelStatus.Interrupted for m in first)

    observer.on_first_submit = None
    resumed = NasExperiment.resume(exp.directory)
    assert resumed.status == "done"
    models = resumed.list_models()
    assert sorted(m.sample["fc1"] for m in models) == [0, 1, 2, 3]
    assert sorted(m.status.value for m in models) == ["failed", "trained", "trained", "trained"]
    assert {m.model_id for m in models} >= {m.model_id for m in first}  # re-run under their old ids


def _final_metrics(directory, space, evaluator, engine):
    """Final metric by ``fc1`` choice of the first 3 models of ``space``, seeded with 5, on ``engine``."""
    if engine == "cgo":
        config = cgo_config(directory, max_trial_number=3, seed=5)
    else:
        config = NasExperimentConfig(engine, "graph", None if engine == "sequential" else "local",
                                     experiment_working_directory=str(directory), max_trial_number=3, seed=5)
    exp = NasExperiment(space(), evaluator(), GridSearch(), config=config)
    assert exp.run() == "done"
    if engine == "cgo":  # really one merged trial
        assert len({getattr(m, "trial_id", None) for m in exp.list_models()}) == 1
    return {m.sample["fc1"]: m.metrics.final for m in exp.list_models()}


def test_a_model_trained_merged_equals_the_model_trained_alone(tmp_path):
    """With a seed, each merged model starts from the weights it has alone (built under its own trial seed);
    with per-model optimizers and the same batches it ends with the same metric."""
    evaluator = lambda: h.classification(max_epochs=1)  # noqa: E731
    together = _final_metrics(tmp_path / "merged", h.DigitsNet, evaluator, "cgo")
    assert together == pytest.approx(_final_metrics(tmp_path / "alone", h.DigitsNet, evaluator, "ts"), abs=1e-6)


def test_merged_equals_alone_with_shuffled_batches_and_dropout(tmp_path):
    """Shuffles draw from the experiment's data seed (the same batches merged and alone) and each model's forward
    runs under its own generator state (the same dropout masks): the metrics are identical, bit for bit, on the
    cgo, ts and sequential engines (the last in this process, after other work drew from torch's generator)."""
    evaluator = lambda: h.classification(max_epochs=2, shuffle=True)  # noqa: E731
    alone = _final_metrics(tmp_path / "alone", h.DropoutNet, evaluator, "ts")
    assert len(set(alone.values())) > 1  # three different models, not one metric copied
    assert _final_metrics(tmp_path / "merged", h.DropoutNet, evaluator, "cgo") == alone
    assert _final_metrics(tmp_path / "sequential", h.DropoutNet, evaluator, "sequential") == alone
