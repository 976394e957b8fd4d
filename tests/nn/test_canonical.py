"""Canonical samples: one architecture, one sample — in every format and every strategy."""
import pytest
import torch
import torch.nn as tnn

import nascore.nn as nn
from nascore.cli import main
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.nn.canonical import canonical_sample, dormant_labels
from nascore.plugins import get_plugin_manager
from nascore.strategy import TPE, GridSearch, Random, RegularizedEvolution


class Branchy(nn.ModelSpace):
    """depth 1-2 blocks, each with an op choice; a branch whose second candidate holds its own choice.
    32 samples, 18 architectures: (2 + 2 * 2) depths/ops x (1 + 2) branches."""

    def __init__(self):
        super().__init__()
        self.body = nn.Repeat(lambda i: nn.LayerChoice([tnn.Tanh(), tnn.ReLU()], label=f"act{i}"), (1, 2),
                              label="depth")
        inner = nn.LayerChoice([tnn.Linear(4, 4), tnn.Sequential(tnn.Linear(4, 4), tnn.ReLU())], label="inner")
        self.branch = nn.LayerChoice([tnn.Identity(), inner], label="branch")
        self.head = tnn.Linear(4, 1)

    def forward(self, x):
        return self.head(self.branch(self.body(x)))


def test_dormant_choices_are_fixed_to_their_defaults():
    space = Branchy()
    sample = {"depth": 1, "act0": 1, "act1": 1, "branch": 0, "inner": 1}
    assert set(dormant_labels(space, sample)) == {"act1", "inner"}
    assert canonical_sample(space, sample) == {"depth": 1, "act0": 1, "act1": 0, "branch": 0, "inner": 0}
    full = {"depth": 2, "act0": 1, "act1": 1, "branch": 1, "inner": 1}
    assert canonical_sample(space, full) == full and dormant_labels(space, full) == {}


@pytest.mark.parametrize("format_name", ["raw", "simplified", "graph"])
def test_freeze_gives_the_canonical_sample_and_the_same_model(format_name):
    cls = get_plugin_manager().get_model_format(format_name).load()
    space = cls.from_model(Branchy())
    loose = {"depth": 1, "act0": 1, "act1": 1, "branch": 0, "inner": 1}
    model = space.freeze(loose)
    assert model.sample == {"depth": 1, "act0": 1, "act1": 0, "branch": 0, "inner": 0}
    reference = get_plugin_manager().get_model_format("raw").load().from_model(Branchy()).freeze(model.sample)
    a, b = reference.executable_model(), model.executable_model()
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 4)
    assert torch.allclose(a(x), b(x))


def _zero(model):
    return 0.0


@pytest.mark.parametrize("strategy", [Random(seed=0), GridSearch(), RegularizedEvolution(4, 2, seed=0),
                                      TPE(seed=0, n_startup_trials=4)], ids=["random", "grid", "evolution", "tpe"])
def test_every_strategy_trains_each_architecture_once(tmp_path, capsys, strategy):
    config = NasExperimentConfig("sequential", "simplified", experiment_working_directory=str(tmp_path),
                                 max_trial_number=30)
    exp = NasExperiment(Branchy(), FunctionalEvaluator(_zero), strategy, config)
    exp.run()
    samples = [m.sample for m in exp.list_models()]
    space = Branchy()
    assert all(canonical_sample(space, s) == s for s in samples)
    keys = {tuple(sorted(s.items())) for s in samples}
    assert len(keys) == len(samples)
    if not isinstance(strategy, TPE):  # TPE may stop early after rejected asks; the others exhaust the space
        assert len(samples) == 18
    capsys.readouterr()
    assert main(["view", str(exp.directory)]) == 0
    assert f"; {len(samples)} distinct architecture(s)" in capsys.readouterr().out
