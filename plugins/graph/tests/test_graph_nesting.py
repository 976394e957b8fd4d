"""Choices nested in choices (and other shapes users write) give the simplified format's model for every sample.

For each space in ``graph_nesting_spaces`` and both frontends: the same choices as the simplified format, and for
samples covering every value of every choice, the frozen graph model (through its JSON payload) has the same
state_dict keys and shapes and, with the simplified model's weights, the same outputs.
"""
from __future__ import annotations

import itertools
import json
import random
import sys
from pathlib import Path
from typing import Optional

import pytest
import torch
import torch.nn as nn

from nascore.plugins import get_plugin_manager
from nascore_graph import GraphConversionError, GraphModelSpace

sys.path.insert(0, str(Path(__file__).parent))  # the space module lives next to this file

import graph_nesting_spaces as spaces  # noqa: E402

FRONTENDS = ["fx", "torchscript"]


def _simplified():
    return get_plugin_manager().get_model_format("simplified").load()


def _samples(space, n_random: int = 3):
    """Every value of every choice at least once (cycled side by side), plus a few random samples."""
    leaves = space.simplify()
    values = {label: list(m.grid_values()) for label, m in leaves.items()}
    longest = max((len(v) for v in values.values()), default=1)
    out = [{label: v[i % len(v)] for label, v in values.items()} for i in range(longest)]
    out = [s for s in out if space.check_contains(s) is None]
    rng = random.Random(0)
    return out + [space.random(random_state=rng).sample for _ in range(n_random)]


def _flat(value):
    return list(value) if isinstance(value, (tuple, list)) else [value]


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("space_cls", spaces.SPACES, ids=[c.__name__ for c in spaces.SPACES])
def test_nested_space_matches_the_simplified_format(space_cls, frontend):
    torch.manual_seed(0)
    ref = _simplified().from_model(space_cls())
    graph = GraphModelSpace.from_model(space_cls(), config=frontend)
    assert sorted(graph.simplify()) == sorted(ref.simplify())
    x = torch.randn(3, 4)
    for sample in _samples(ref):
        expected = ref.freeze(sample).executable_model()
        payload = json.loads(json.dumps(graph.freeze(sample).to_payload()))
        got = GraphModelSpace.from_payload(payload).executable_model()
        shapes = {k: tuple(v.shape) for k, v in expected.state_dict().items()}
        assert {k: tuple(v.shape) for k, v in got.state_dict().items()} == shapes, sample
        got.load_state_dict(expected.state_dict())
        with torch.no_grad():
            a, b = _flat(expected(x)), _flat(got(x))
        assert len(a) == len(b), sample
        for p, q in zip(a, b):
            assert p.shape == q.shape and torch.allclose(p, q, atol=1e-6), sample


def _ir_summary(space):
    return {name: sorted((n.operation.type, n.operation.target) for n in g.nodes.values())
            for name, g in space.ir.graphs.items()}


@pytest.mark.parametrize("space_cls", spaces.NESTED, ids=[c.__name__ for c in spaces.NESTED])
def test_nested_choices_stay_opaque_and_frontends_agree(space_cls):
    fx = GraphModelSpace.from_model(space_cls(), config="fx")
    ts = GraphModelSpace.from_model(space_cls(), config="torchscript")
    assert _ir_summary(fx) == _ir_summary(ts)
    # a nested choice is an entry of its owner, never traced as a graph of its own
    assert not {g.class_name for g in fx.ir.graphs.values()} & {"LayerChoice", "Repeat", "InputChoice", "Cell"}


def test_nested_entries_resolve_to_the_chosen_modules():
    space = GraphModelSpace.from_model(spaces.TripleNesting(), config="fx")
    model = space.freeze({"c": 0, "d": 2, "op0": 1, "act0": 1, "op1": 0, "act1": 0}).executable_model()
    tree = [(name, type(m).__name__) for name, m in model.named_modules() if name]
    assert tree == [("c", "Sequential"), ("c.0", "ReLU"), ("c.1", "Linear")]


class Shifted(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, shift: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.lin(x)
        if shift is not None:
            y = y + shift
        return y


class MixedNone(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Shifted()

    def forward(self, x):
        return self.block(x, x) + self.block(x)  # shift given once, left out once


class PassThrough(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 1, batch_first=True)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]


class MixedNoneHarmless(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = PassThrough()

    def forward(self, x):
        mask = torch.zeros(5, 5, dtype=torch.bool)
        return self.block(x, mask) + self.block(x)


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_call_site_dependent_none_names_the_module(frontend):
    # one graph per module instance cannot hold both branches of `if shift is not None`
    with pytest.raises(GraphConversionError, match=r"module 'block'.*'shift' is None.*pass the same kind"):
        GraphModelSpace.from_model(MixedNone(), config=frontend)


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_none_passed_through_at_some_call_sites_is_fine(frontend):
    model = MixedNoneHarmless().eval()
    x = torch.randn(2, 5, 4)
    generated = GraphModelSpace.from_model(model, config=frontend).executable_model().eval()
    with torch.no_grad():
        assert torch.allclose(generated(x), model(x), atol=1e-6)


def test_samples_cover_every_candidate():
    ref = _simplified().from_model(spaces.DictNested())
    seen = {label: {s[label] for s in _samples(ref, n_random=0)} for label in ref.simplify()}
    assert seen == {"outer": {"nested", "id", "lin"}, "inner": {"tanh", "lin"}}
    assert len(list(itertools.islice(_samples(ref), 10))) == 6


class Inner(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return torch.relu(self.lin(x))


class Outer(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Inner()

    def forward(self, x):
        return self.inner(x) + 1


class AliasUnderCalledChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Outer()
        self.b = self.a.inner  # called as `b`; `a.inner` is part of a's graph

    def forward(self, x):
        return self.b(self.a(x))


class CallIntoCalledChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Outer()

    def forward(self, x):
        return self.a.inner(self.a(x))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_alias_of_a_module_inside_a_called_child(frontend):
    model = AliasUnderCalledChild().eval()
    x = torch.randn(2, 4)
    generated = GraphModelSpace.from_model(model, config=frontend).executable_model().eval()
    assert set(generated.state_dict()) == set(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(generated(x), model(x), atol=1e-6)


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_call_into_a_called_child_calls_the_same_child(frontend):
    model = CallIntoCalledChild().eval()
    space = GraphModelSpace.from_model(model, config=frontend)
    assert "self.a.inner(" in space.to_code()  # the parent's child, called a second time
    generated = space.executable_model().eval()
    assert set(generated.state_dict()) == set(model.state_dict())
    x = torch.randn(2, 4)
    with torch.no_grad():
        assert torch.allclose(generated(x), model(x), atol=1e-6)
