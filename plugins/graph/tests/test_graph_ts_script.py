"""The torchscript frontend on modules ``torch.jit.script`` refuses: such a module (child or root) is captured
with fx, with a warning naming it and TorchScript's reason; the rest is still scripted. Also: a chunk count
TorchScript assumes is checked in generated code."""
from __future__ import annotations

import warnings
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

from nascore_graph import GraphConversionError, convert
from nascore_graph.codegen import exec_model
from nascore_graph.errors import FrontendFallbackWarning


class StarSum(nn.Module):
    def forward(self, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.star = StarSum()
        self.head = nn.Sequential(nn.Linear(3, 2), nn.ReLU())

    def forward(self, x):
        y = self.lin(x)
        return self.head(self.star(x, y, y * 2))


class RefusedRoot(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x) * x.bool()  # TorchScript has no Tensor.bool()


class DataDependentStar(nn.Module):
    def forward(self, *xs):
        return xs[0] if xs[0].sum() > 0 else -xs[0]


def _built(space):
    source, objects = space.code()
    return exec_model(source, objects)


def test_a_refused_child_is_captured_with_fx_and_the_rest_is_scripted():
    torch.manual_seed(0)
    model, x = Net().eval(), torch.randn(2, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space = convert(model, "torchscript", example_inputs=(x,))
    messages = [str(w.message) for w in caught if issubclass(w.category, FrontendFallbackWarning)]
    assert len(messages) == 1, messages
    assert "'star' (StarSum)" in messages[0] and "variable number of arguments" in messages[0]
    generated = _built(space)
    generated.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(generated.eval()(x), model(x))
    assert "def forward(self, *xs)" in space.to_code()


def test_a_refused_root_is_captured_with_fx():
    torch.manual_seed(0)
    model, x = RefusedRoot().eval(), torch.randn(2, 3)
    with pytest.warns(FrontendFallbackWarning, match=r"'<root>' \(RefusedRoot\).*bool"):
        space = convert(model, "torchscript", example_inputs=(x,))
    generated = _built(space)
    generated.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.allclose(generated.eval()(x), model(x))


def test_the_fallback_can_be_made_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error", FrontendFallbackWarning)
        with pytest.raises(FrontendFallbackWarning, match="star"):
            convert(Net(), "torchscript", example_inputs=(torch.randn(2, 3),))


def test_a_module_neither_frontend_handles_names_both_reasons():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = DataDependentStar()

        def forward(self, x):
            return self.inner(x, x)

    with pytest.raises(GraphConversionError, match=r"module 'inner'.*torch.jit.script cannot compile.*"
                                                   r"torch.fx cannot trace it either"):
        convert(Holder(), "torchscript")


class ChunkCount(nn.Module):
    def forward(self, x):
        parts = x.chunk(4)
        return parts[0] * len(parts)  # TorchScript's list of 4 would fold len() to 4


@pytest.mark.parametrize("frontend", ["torchscript", "fx"])
def test_a_chunk_count_is_never_assumed_silently(frontend):
    """x.chunk(4) gives fewer parts on a short dimension: torchscript's generated code unpacks exactly 4 names
    (so it raises there); fx records len() as a call (so it is right). Never a value computed for 4 parts."""
    generated = _built(convert(ChunkCount(), frontend))
    x, short = torch.randn(8, 2), torch.randn(3, 2)  # short: 3 parts of one row
    assert torch.allclose(generated(x), ChunkCount()(x))
    if frontend == "torchscript":
        with pytest.raises(ValueError, match="not enough values to unpack"):
            generated(short)
    else:
        assert torch.allclose(generated(short), ChunkCount()(short))


class AuxWhileTraining(nn.Module):
    """TorchScript refuses the two return types; fx takes the branch of the mode it is converted in."""

    def __init__(self):
        super().__init__()
        self.main, self.aux = nn.Linear(3, 2), nn.Linear(3, 2)

    def forward(self, x):
        if self.training:
            return self.main(x), self.aux(x)
        return self.main(x)


@pytest.mark.parametrize("frontend", ["torchscript", "fx"])
def test_the_self_check_still_catches_a_captured_module_that_differs(frontend):
    """Converted in training mode, the captured graph returns the training branch's pair; the example_inputs
    self-check (eval mode) refuses it rather than returning a model that differs from the original."""
    warnings.simplefilter("ignore")
    model, x = AuxWhileTraining().train(), torch.randn(2, 3)
    with pytest.raises(AssertionError, match="returns"):
        convert(model, frontend, example_inputs=(x,))
    assert model.training  # the original's mode is restored
    model.eval()
    generated = _built(convert(model, frontend, example_inputs=(x,)))
    generated.load_state_dict(model.state_dict())
    assert torch.allclose(generated.eval()(x), model(x))


class OrderedOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)

    def forward(self, x):
        result = OrderedDict()  # TorchScript: aten::dict(), then an item assignment per key
        result["out"] = self.a(x)
        result["aux"] = self.b(x)
        return result


def test_a_dict_filled_in_place_keeps_its_items():
    """The assignments into an OrderedDict() were dropped as dead code (the model returned {}). The generated
    model returns a plain dict with the same keys, in order, and values."""
    model, x = OrderedOut().eval(), torch.randn(2, 3)
    generated = _built(convert(model, "torchscript"))
    generated.load_state_dict(model.state_dict())
    out, expected = generated(x), model(x)
    assert list(out) == ["out", "aux"]
    assert all(torch.allclose(out[k], expected[k]) for k in expected)
