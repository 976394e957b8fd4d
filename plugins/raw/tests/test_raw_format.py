"""The raw format: frozen models share the space, build lazily from its weights, and never leave the process."""
from __future__ import annotations

import gc
import tracemalloc

import pytest
import torch
import torch.nn as tnn

import nascore.nn as nn
from nascore.mutable import Categorical, SampleValidationError, ensure_frozen
from nascore.plugins import get_plugin_manager
from nascore.space import ModelStatus, NotSerializableError
from nascore_raw.space import RawModelSpace


class Net(nn.ModelSpace):
    def __init__(self, classes: int = 3):
        super().__init__()
        self.stem = tnn.Linear(6, 8)
        self.op = nn.LayerChoice([tnn.Linear(8, 8), tnn.Sequential(tnn.ReLU(), tnn.Linear(8, 8))], label="op")
        self.head = tnn.Linear(8, classes)

    def forward(self, x):
        return self.head(self.op(self.stem(x)))


class WidthNet(nn.ModelSpace):
    def __init__(self):
        super().__init__()
        width = ensure_frozen(Categorical([2, 4], label="width"))
        self.fc = tnn.Linear(3, width)

    def forward(self, x):
        return self.fc(x)


class LrEvaluator:
    def __init__(self, lr=Categorical([0.1, 0.2], label="lr")):
        self.lr = lr

    def simplify(self):
        return {self.lr.label: self.lr} if isinstance(self.lr, Categorical) else {}

    def freeze(self, sample):
        return LrEvaluator(self.lr.freeze(sample))


def test_freeze_shares_the_space_and_builds_from_its_weights():
    net = Net()
    space = RawModelSpace.from_model(net)
    assert space.model_space is net and sorted(space.simplify()) == ["op"]
    frozen = space.freeze({"op": 1})
    assert frozen.status is ModelStatus.Frozen and frozen.sample == {"op": 1}
    assert frozen.model_space is net
    model = frozen.executable_model()
    assert model is frozen.executable_model() and model is not net
    assert isinstance(model.op, tnn.Sequential)
    # the weights the space holds (e.g. a trained supernet) are those of the model
    assert torch.equal(model.op[1].weight, net.op[1][1].weight)
    x = torch.randn(4, 6)
    assert torch.equal(model(x), net.head(net.op[1](net.stem(x))))
    # and the model is a copy: training it does not touch the space
    with torch.no_grad():
        model.head.weight.add_(1.0)
    assert not torch.equal(model.head.weight, net.head.weight)


def test_structure_read_in_init_is_rebuilt():
    frozen = RawModelSpace.from_model(WidthNet()).freeze({"width": 4})
    assert frozen.executable_model().fc.out_features == 4


def test_bad_sample_names_the_label():
    space = RawModelSpace.from_model(Net())
    with pytest.raises(SampleValidationError, match="op"):
        space.freeze({"op": 5})
    with pytest.raises(SampleValidationError, match="'op'"):
        space.freeze({})


def test_evaluator_choices_join_and_freeze():
    space = RawModelSpace.from_model(Net(), LrEvaluator())
    assert sorted(space.simplify()) == ["lr", "op"]
    frozen = space.freeze({"op": 0, "lr": 0.2})
    assert frozen.evaluator.lr == 0.2


def test_not_serializable():
    frozen = RawModelSpace.from_model(Net()).freeze({"op": 0})
    with pytest.raises(NotSerializableError, match="sequential"):
        frozen.to_payload()
    with pytest.raises(NotSerializableError, match="simplified"):
        RawModelSpace.from_payload({"format": "raw"})


def test_plain_module_is_rejected_with_advice():
    with pytest.raises(TypeError, match="subclass nascore.nn.ModelSpace"):
        RawModelSpace.from_model(tnn.Linear(2, 2))


def test_thousand_frozen_models_take_under_5_mb():
    space = RawModelSpace.from_model(Net())
    samples = [{"op": i % 2} for i in range(1000)]
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        frozen = [space.freeze(s) for s in samples]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(frozen) == 1000 and all(f.model_space is space.model_space for f in frozen)
    assert used <= 5 * 1024 * 1024, f"{used / 1024 / 1024:.2f} MB for 1000 frozen models"


def test_registered_through_entry_point():
    spec = get_plugin_manager().get_model_format("raw")
    assert spec.serializable is False and spec.load() is RawModelSpace
    assert spec.config_model(name="raw").name == "raw"


def test_hooks_module_is_light():
    import subprocess
    import sys
    code = "import sys, nascore_raw.hooks; print(sorted(m for m in ('torch', 'paramiko') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
