"""``convert``: the self-check with example inputs, the root's default arguments, shared modules and tied
weights staying shared in generated code."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import pytest
import torch
import torch.nn as nn

import nascore.nn as snn
from nascore_graph import GraphModelSpace, convert

sys.path.insert(0, str(Path(__file__).parent))
from suite_flow import TiedEmbedding  # noqa: E402

FRONTENDS = ["fx", "torchscript"]


class WithNormAndDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Linear(8, 2))

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_self_check_compares_with_the_original_weights_in_eval_mode(frontend):
    model = WithNormAndDropout().train()  # dropout active, batch norm on batch statistics
    model.net[1].running_mean.fill_(0.3)
    space = convert(model, frontend, example_inputs=(torch.randn(5, 4),))
    assert model.training and model.net[2].training  # the original's mode is left as it was
    generated = space.executable_model()
    assert torch.equal(generated.state_dict()["net.1.running_mean"], model.net[1].running_mean)


class Defaults(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, y: Optional[torch.Tensor] = None, alpha: float = 0.5, n: int = 2):
        for _ in range(n):
            x = self.lin(x) * alpha
        return x if y is None else x + y


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_root_defaults_are_kept_and_fixed_ones_are_guarded(frontend):
    model = Defaults().eval()
    generated = convert(model, frontend).executable_model().eval()
    x = torch.randn(2, 3)
    with torch.no_grad():
        assert torch.allclose(generated(x), model(x))
        assert torch.allclose(generated(x, None, 0.25), model(x, None, 0.25))  # a float default stays an argument
        with pytest.raises(ValueError, match="generated for n=2"):  # range(n) fixed it: no silent other model
            generated(x, None, 0.5, 3)
        with pytest.raises(ValueError, match="generated for y=None"):
            generated(x, torch.ones(2, 3))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_example_inputs_decide_which_arguments_are_given(frontend):
    model = Defaults().eval()
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    generated = convert(model, frontend, example_inputs=(x, y)).executable_model().eval()
    with torch.no_grad():
        assert torch.allclose(generated(x, y), model(x, y))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_tied_parameters_stay_tied(frontend):
    generated = convert(TiedEmbedding(), frontend).executable_model()
    assert generated.head.weight is generated.embed.weight
    assert len(list(generated.parameters())) == 1  # training updates one weight


class SharedCandidates(snn.ModelSpace):
    def __init__(self):
        super().__init__()
        shared = nn.Linear(3, 3)
        self.a = snn.LayerChoice([shared, nn.Identity()], label="a")
        self.b = snn.LayerChoice([nn.Tanh(), shared], label="b")

    def forward(self, x):
        return self.b(self.a(x))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_a_module_shared_by_two_choices_stays_one_module(frontend):
    space = GraphModelSpace.from_model(SharedCandidates(), config=frontend)
    model = space.freeze({"a": 0, "b": 1}).executable_model()
    assert model.a is model.b
    assert len(list(model.parameters())) == 2
    other = space.freeze({"a": 1, "b": 1}).executable_model()  # only one place left: nothing to tie
    assert isinstance(other.a, nn.Identity) and isinstance(other.b, nn.Linear)


class FunctionalDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return torch.nn.functional.dropout(self.lin(x), 0.5, self.training)


def test_fx_keeps_self_training_as_a_value():
    model = FunctionalDropout()  # converted in training mode, compared in eval mode
    space = convert(model, "fx")
    assert "training=training" in space.to_code() and "= self.training" in space.to_code()
    generated = space.executable_model().eval()
    x = torch.randn(4, 3)
    with torch.no_grad():
        assert torch.allclose(generated(x), model.eval()(x))
    assert isinstance(model.__dict__["training"], bool)  # the module is left as it was
