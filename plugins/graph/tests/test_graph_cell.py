"""nascore.nn.Cell in the graph format: a sample freezes to the simplified format's model (both frontends)."""
from __future__ import annotations

import json
import random

import pytest
import torch
import torch.nn as nn

import nascore.nn as snn
from nascore.mutable import frozen_context
from nascore_graph.space import GraphModelSpace


class SepConv(nn.Module):
    """A user-module candidate: becomes its own graph."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 3, padding=1, groups=c)
        self.pw = nn.Conv2d(c, c, 1)

    def forward(self, x):
        return self.pw(torch.relu(self.dw(x)))


def _ops(c: int) -> dict:
    return {"conv": lambda node, op: nn.Conv2d(c, c, 3, padding=1), "sep": lambda node, op: SepConv(c),
            "skip": nn.Identity()}


class CellSpace(snn.ModelSpace):
    def __init__(self, merge_op: str = "loose_end") -> None:
        super().__init__()
        self.stem = snn.Conv2d(3, 4, 1)
        self.cell = snn.Cell(_ops(4), num_nodes=3, num_ops_per_node=2, num_predecessors=2, merge_op=merge_op,
                             label="cell")
        self.single = snn.Cell([nn.Conv2d(4, 4, 1), nn.Tanh()], num_nodes=2, merge_op=merge_op, label="single")

    def forward(self, x):
        s = self.stem(x)
        y = self.cell(s, torch.relu(s))  # predecessors as arguments
        z = self.cell([s, s * 2])  # ... or as one list (same cell, called twice)
        return y.mean((2, 3)), z.sum(1), self.single(s)


def _samples(graph_space, n: int = 4):
    rng = random.Random(0)
    return [graph_space.random(random_state=rng).sample for _ in range(n)]


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
@pytest.mark.parametrize("merge_op", ["loose_end", "all"])
def test_cell_freezes_like_the_simplified_format(frontend, merge_op):
    space = CellSpace(merge_op)
    graph_space = GraphModelSpace.from_model(space, config=frontend)
    assert graph_space.simplify().keys() == space.simplify().keys()
    assert {"cell/op_2_1", "cell/input_2_1", "single/input_1_0"} <= set(graph_space.simplify())
    x = torch.randn(1, 3, 3, 3)
    widths = set()
    for sample in _samples(graph_space):
        frozen = graph_space.freeze(sample)
        with frozen_context(sample):
            reference = CellSpace(merge_op).eval()
        with torch.no_grad():
            expected = reference(x)
        widths.add(expected[0].shape[1])
        for model in (frozen.executable_model(),
                      GraphModelSpace.from_payload(json.loads(json.dumps(frozen.to_payload()))).executable_model()):
            model.eval().load_state_dict(reference.state_dict())  # same keys and shapes, no mapping
            with torch.no_grad():
                for got, want in zip(model(x), expected):
                    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-6), sample
    if merge_op == "loose_end":  # the output width follows the sample's loose ends
        assert len(widths) > 1


def test_frozen_cell_code_reads_like_the_cell():
    graph_space = GraphModelSpace.from_model(CellSpace(), config="torchscript")
    sample = {label: m.default_value() for label, m in graph_space.simplify().items()}
    sample.update({"cell/op_0_0": "sep", "cell/input_0_0": 1, "cell/input_1_0": 2})
    code = graph_space.freeze(sample).to_code()
    assert "class Cell(nn.Module)" in code and "class SepConv(nn.Module)" in code
    assert "def forward(self, s0, s1):" in code and "torch.cat([" in code
    assert "nn.Conv2d(in_channels=4, out_channels=4, kernel_size=3, padding=1)" in code  # defaults left out
    assert "self.ops[0].add_module('0', SepConv())" in code and "node_0 = op_0_0 + op_0_1" in code
