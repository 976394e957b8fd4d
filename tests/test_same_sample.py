"""The same sample means the same model in every model format.

One space with every kind of choice (auto and explicit labels, a value read in ``__init__``, a searchable layer
argument, LayerChoice, InputChoice, Repeat) is converted to each installed format; a sample frozen in each must
give the same module tree, the same state_dict keys and shapes and, with the same weights, the same outputs.
"""
from __future__ import annotations

import json
import random
import re

import pytest
import torch
import torch.nn as tnn

import nascore.nn as nn
from nascore.mutable import Categorical, ensure_frozen
from nascore.plugins import UnknownComponentError, get_plugin_manager

FORMATS = ["raw", "simplified", "graph"]


class Block(tnn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = tnn.Linear(width, width)

    def forward(self, x):
        return torch.relu(self.fc(x)) + x


class SameSampleNet(nn.ModelSpace):
    def __init__(self, in_features: int = 6, classes: int = 3):
        super().__init__()
        width = ensure_frozen(Categorical([8, 12], label="width"))
        self.stem = tnn.Linear(in_features, width)
        self.ops = nn.LayerChoice([tnn.Linear(width, width), tnn.Sequential(tnn.Tanh(), tnn.Linear(width, width)),
                                   tnn.Identity()])  # auto label
        self.skip = nn.InputChoice(2, 1, label="skip")
        self.body = nn.Repeat(lambda i: Block(width), (1, 3), label="depth")
        hidden = Categorical([4, 5], label="hidden")  # one choice shared by two layers
        self.hidden = nn.Linear(width, hidden)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        x = self.stem(x)
        x = self.skip([self.ops(x), x])
        return self.head(torch.relu(self.hidden(self.body(x))))


def _format(name: str):
    try:
        return get_plugin_manager().get_model_format(name)
    except UnknownComponentError:
        pytest.skip(f"model format '{name}' is not installed")


def _tree(model: tnn.Module):
    # The graph format generates one class per container and numbers clashing names (Sequential_1);
    # leaf layers keep their torch types everywhere.
    return [(name, re.sub(r"_\d+$", "", type(module).__name__)) for name, module in model.named_modules()]


def _shapes(model: tnn.Module):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _samples(space, n: int = 6):
    # every LayerChoice candidate and both extreme depths appear at least once, plus random ones
    mutables = space.simplify()
    op_label = next(label for label in mutables if label not in ("width", "skip", "depth", "hidden"))
    fixed = [{"width": 8, op_label: i, "skip": i % 2, "depth": 1 + 2 * (i % 2), "hidden": 4 + i % 2}
             for i in range(3)]
    rng = random.Random(0)
    return fixed + [space.random(random_state=rng).sample for _ in range(n - len(fixed))]


# (format, settings of its config model): the graph format runs once per frontend
OTHERS = [(f, {}) for f in FORMATS if f != "raw"] + [("graph", {"frontend": "torchscript"})]


@pytest.mark.parametrize("other,settings", OTHERS, ids=[f + "".join(f"-{v}" for v in s.values()) for f, s in OTHERS])
def test_same_sample_same_model(other, settings):
    reference_cls, other_spec = _format("raw").load(), _format(other)
    other_cls = other_spec.load()
    reference_space = reference_cls.from_model(SameSampleNet())
    config = other_spec.config_model(**settings) if settings else None
    other_space = other_cls.from_model(SameSampleNet(), config=config)
    assert sorted(reference_space.simplify()) == sorted(other_space.simplify())
    for sample in _samples(reference_space):
        a = reference_space.freeze(sample).executable_model()
        frozen = other_space.freeze(sample)
        built = [frozen.executable_model()]
        if other_spec.serializable:  # and the same again after a trip through JSON
            built.append(other_cls.from_payload(json.loads(json.dumps(frozen.to_payload()))).executable_model())
        for b in built:
            assert _tree(a) == _tree(b), sample
            assert _shapes(a) == _shapes(b), sample
            b.load_state_dict(a.state_dict())
            a.eval(), b.eval()
            x = torch.randn(5, 6)
            assert torch.allclose(a(x), b(x), atol=1e-6), sample


def test_labels_are_reproducible_across_builds():
    first = sorted(SameSampleNet().simplify())
    second = sorted(SameSampleNet().simplify())
    assert first == second
    assert {"width", "skip", "depth", "hidden"} <= set(first) and len(first) == 5
