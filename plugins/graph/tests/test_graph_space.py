"""The graph format: IR primitives, JSON, mutators (same samples as the simplified format), payloads, errors."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn as nn

import nascore.nn as snn
from nascore.mutable import Categorical, SampleValidationError, frozen_context
from nascore_graph import GraphConversionError, Mutator, attach_mutator, convert
from nascore_graph.ir import Graph, GraphModel, Operation, Slot
from nascore_graph.space import GraphModelSpace


class Cell(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv(x))


class Space(snn.ModelSpace):
    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        w = Categorical([4, 8], label="w")
        self.stem = snn.Conv2d(3, w, 3, padding=1)
        self.bn = snn.BatchNorm2d(w)
        self.rep = snn.Repeat(lambda i: nn.Sequential(snn.Conv2d(w, w, 1), nn.ReLU()), (0, 2), label="depth")
        self.op = snn.LayerChoice({"conv": snn.Conv2d(w, w, 3, padding=1), "id": nn.Identity()}, label="op")
        self.pick = snn.InputChoice(2, 1, label="pick")
        self.merge = snn.InputChoice(2, None, reduction="sum", label="merge")
        self.anchor = snn.MutationAnchor("anchor")
        self.head = snn.Linear(w, classes)

    def forward(self, x):
        x = self.bn(self.stem(x))
        a, b = self.rep(x), self.op(x)
        x = self.pick([a, b]) + self.merge([a, b])
        return self.head(self.anchor(x).mean((2, 3)))


FRONTENDS = ["fx", "torchscript"]
SAMPLES = [{"w": 4, "depth": 0, "op": "conv", "pick": 0, "merge": [0, 1]},
           {"w": 8, "depth": 2, "op": "id", "pick": 1, "merge": [1]},
           {"w": 8, "depth": 1, "op": "conv", "pick": 0, "merge": [0]}]


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_simplify_matches_the_dsl_space(frontend):
    space = Space()
    graph_space = GraphModelSpace.from_model(space, config=frontend)
    assert graph_space.simplify().keys() == space.simplify().keys()
    assert all(graph_space.simplify()[k].equals(m) for k, m in space.simplify().items())


@pytest.mark.parametrize("frontend", FRONTENDS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_freeze_equals_the_simplified_freeze(sample, frontend):
    graph_space = GraphModelSpace.from_model(Space(), config=frontend)
    frozen = graph_space.freeze(sample)
    assert frozen.sample == sample and frozen.status.value == "frozen"
    with frozen_context(sample):
        reference = Space().eval()
    model = frozen.executable_model().eval()
    model.load_state_dict(reference.state_dict())  # same keys and shapes, no mapping
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(model(x), reference(x), atol=1e-6)
    payload = json.loads(json.dumps(frozen.to_payload()))
    rebuilt = GraphModelSpace.from_payload(payload)
    assert rebuilt.sample == sample and rebuilt.to_code() == frozen.to_code()


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_invalid_sample_names_the_label(frontend):
    graph_space = GraphModelSpace.from_model(Space(), config=frontend)
    with pytest.raises(SampleValidationError, match="op"):
        graph_space.freeze({"w": 4, "depth": 0, "op": "nope", "pick": 0, "merge": [0]})


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_generated_code_runs_on_its_own(tmp_path, frontend):
    frozen = GraphModelSpace.from_model(Space(), config=frontend).freeze(SAMPLES[1])
    source = frozen.to_code()
    assert "import torch" in source and "def build()" in source and "nascore_graph" not in source
    path = tmp_path / "model.py"
    path.write_text(source)
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    assert namespace["build"]()(torch.randn(1, 3, 4, 4)).shape == (1, 3)


class Scale(Mutator):
    """A user mutator: replaces the anchor by a multiplication with a searched factor."""

    def __init__(self) -> None:
        super().__init__([Categorical([1.0, 2.0], label="scale")])

    def mutate(self, model, sample):
        for graph, node in self.anchors(model, "anchor"):
            graph.replace_node(node, Operation("function", "operator.mul", (Slot(0), sample["scale"])))


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_custom_mutator_on_an_anchor(frontend):
    space = attach_mutator(Space(), Scale())
    graph_space = GraphModelSpace.from_model(space, config=frontend)
    assert "scale" in graph_space.simplify()
    with frozen_context(SAMPLES[0]):
        reference = Space().eval()
    x = torch.randn(1, 3, 4, 4)
    outputs = {}
    for scale in (1.0, 2.0):
        frozen = graph_space.freeze(dict(SAMPLES[0], scale=scale))
        assert f"* {scale}" in frozen.to_code()
        model = frozen.executable_model().eval()
        model.load_state_dict(reference.state_dict())
        outputs[scale] = model(x)
    assert torch.allclose(outputs[1.0], reference(x), atol=1e-6)
    assert not torch.allclose(outputs[2.0], reference(x))


def _calls(graph_space):
    """Per graph: its module tree and the (type, target) of every call, in order."""
    from nascore_graph.serialize import encode_value
    out = {}
    for name, graph in graph_space.ir.graphs.items():
        calls = [(n.operation.type, n.operation.target) for n in graph.topo_order()
                 if n.operation.type in ("module", "subgraph", "layerchoice", "inputchoice", "repeat", "cell")]
        out[name] = (graph.inputs, encode_value(graph.modules), calls)
    return out


def test_both_frontends_give_the_same_ir_for_a_space():
    fx, ts = (GraphModelSpace.from_model(Space(), config=f) for f in FRONTENDS)
    assert _calls(fx) == _calls(ts)
    assert [type(m).__name__ for m in fx.mutators] == [type(m).__name__ for m in ts.mutators]
    for sample in SAMPLES:
        assert _calls(fx.freeze(sample)) == _calls(ts.freeze(sample))


def test_ir_primitives_and_json_round_trip():
    g = Graph("g", ["x"])
    a = g.add_node("a", Operation("function", "torch.relu", (Slot(0),)))
    g.add_edge(g.input_node, 0, a, 0)
    g.output_node.operation.args = (Slot(0),)
    edge = g.add_edge(a, 0, g.output_node, 0)
    assert a.successors == [g.output_node] and g.output_node.predecessors == [a]
    b = g.insert_on_edge(edge, "b", Operation("method", "neg", (Slot(0),)))
    assert g.output_node.predecessors == [b] and b.predecessors == [a]
    g.update_operation(b, target="abs")
    assert b.operation.target == "abs"
    model = GraphModel("g")
    model.add_graph(g)
    g.modules = {"w": {"kind": "unit", "cls": "torch.nn.Linear", "args": [1, 2],
                       "kwargs": {"t": (1, slice(None, 2), ...), "d": torch.float16}}}
    data = json.loads(json.dumps(model.to_json()))
    again = GraphModel.from_json(data)
    assert again.to_json() == model.to_json()
    assert again.graphs["g"].modules["w"]["kwargs"]["t"] == (1, slice(None, 2), ...)
    g.remove_node(b)
    assert g.output_node.in_edges == {} and "b" not in g.by_name


def test_convert_any_module_keeps_its_weights():
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).eval()
    space = convert(module, example_inputs=(torch.randn(2, 3),))
    assert torch.allclose(space.executable_model()(torch.ones(1, 3)), module(torch.ones(1, 3)))
    assert "class Sequential(nn.Module)" in space.to_code()


class Untraceable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = Branchy()

    def forward(self, x):
        return self.inner(x)


class Branchy(nn.Module):
    def forward(self, x):
        if x.sum() > 0:  # depends on data: neither frontend can express it
            return x
        return -x


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
def test_unparsable_module_names_its_path_and_the_fix(frontend):
    with pytest.raises(GraphConversionError) as info:
        convert(Untraceable(), frontend=frontend)
    text = str(info.value)
    assert "'inner'" in text and "basic unit" in text


def test_format_is_registered():
    from nascore.plugins import create_plugin_manager
    spec = create_plugin_manager().get_model_format("graph")
    assert spec.load() is GraphModelSpace and spec.serializable
    from nascore_graph.config import GraphConfig
    assert GraphConfig().frontend == "fx" and GraphConfig(frontend="torchscript").name == "graph"


class NotScriptable(nn.Module):
    def forward(self, x):
        return x * len(f"{x.dim()!r}")  # !r conversions do not compile in TorchScript


class Outer(snn.ModelSpace):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 3), NotScriptable())
        self.op = snn.LayerChoice([nn.Tanh(), nn.ReLU()], label="act")

    def forward(self, x):
        return self.op(self.body(x))


def test_torchscript_refusal_names_the_deepest_module_and_the_space_still_converts():
    """TorchScript refuses only body.1: that module is captured with fx (a warning names it and the reason),
    everything else is scripted, and the choice stays a choice."""
    from nascore_graph.errors import FrontendFallbackWarning
    with pytest.warns(FrontendFallbackWarning) as caught:
        space = GraphModelSpace.from_model(Outer(), config="torchscript")
    text = " ".join(str(w.message) for w in caught if issubclass(w.category, FrontendFallbackWarning))
    assert "'body.1' (NotScriptable)" in text and "'<root>'" not in text and "'body'" not in text
    assert space.simplify().keys() == {"act"}
    assert GraphModelSpace.from_model(Outer(), config="fx").simplify().keys() == {"act"}


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        y = self.lin(x)
        y.relu_()  # result unused, but it changes y
        unused = torch.tanh(x)  # noqa: F841 - dead: not emitted
        return y


@pytest.mark.parametrize("frontend", FRONTENDS)
def test_dead_nodes_are_dropped_but_in_place_calls_kept(frontend):
    code = convert(InPlace().eval(), frontend=frontend, example_inputs=(torch.randn(2, 3),)).to_code()
    assert "relu_(" in code and "tanh" not in code
    frozen = GraphModelSpace.from_model(Space(), config=frontend).freeze(SAMPLES[2])  # op's output is dropped
    code = frozen.to_code()
    assert "self.op = nn.Conv2d(" in code and "self.op(" not in code
