"""The simplified format: reduce, freeze, build, payload round trips (in and across processes), clear errors."""
from __future__ import annotations

import enum
import json
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
import torch
import torch.nn as tnn

import nascore.nn as nn
from nascore.mutable import Categorical, SampleValidationError, ensure_frozen
from nascore.plugins import create_plugin_manager, get_plugin_manager, hookimpl, set_plugin_manager
from nascore.space import ModelStatus, NotSerializableError
from nascore.specs import EngineSpec
from nascore_simplified.space import SimplifiedModelSpace


class Mode(enum.Enum):
    wide = "wide"


def double(x):
    return x * 2


class Net(nn.ModelSpace):
    """A small space: a width choice read in __init__, a LayerChoice, and a class passed as an argument."""

    def __init__(self, in_features: int = 8, classes: int = 3, act: type = tnn.ReLU, scale=double,
                 sizes: tuple = (1, 2)):
        super().__init__()
        width = ensure_frozen(Categorical([4, 8, 16], label="width"))
        self.scale = scale
        self.sizes = sizes
        self.fc1 = tnn.Linear(in_features, width)
        self.act = act()
        self.mid = nn.LayerChoice([tnn.Linear(width, width), tnn.Identity()], label="mid")
        self.fc2 = tnn.Linear(width, classes)

    def forward(self, x):
        return self.fc2(self.mid(self.act(self.fc1(x))))


class WideNet(nn.ModelSpace):
    """A space with a mutable among its init arguments."""

    def __init__(self, hidden=Categorical([5, 7], label="hidden")):
        super().__init__()
        hidden = ensure_frozen(hidden)
        self.fc = tnn.Linear(4, hidden)

    def forward(self, x):
        return self.fc(x)


class ChoiceEvaluator:
    """Duck-typed evaluator with a choice of its own (like an Evaluator with a mutable learning rate)."""

    def __init__(self, lr=Categorical([0.1, 0.01], label="lr")):
        self.lr = lr

    def simplify(self):
        return {self.lr.label: self.lr} if isinstance(self.lr, Categorical) else {}

    def freeze(self, sample):
        return ChoiceEvaluator(self.lr.freeze(sample))

    def evaluate(self, model):
        return self.lr


def _sample(width=8, mid=0):
    return {"width": width, "mid": mid}


def test_from_model_reduces_the_space_to_labelled_mutables():
    space = SimplifiedModelSpace.from_model(Net(classes=5))
    mutables = space.simplify()
    assert sorted(mutables) == ["mid", "width"]
    assert mutables["width"].values == [4, 8, 16]
    assert space.status is ModelStatus.Initialized
    # Mutable API works over the reduced space
    assert len(list(space.grid())) == 6
    frozen = space.random(random_state=0)
    assert frozen.status is ModelStatus.Frozen and space.contains(frozen.sample)


def test_freeze_builds_the_model_of_the_sample_and_caches_it():
    space = SimplifiedModelSpace.from_model(Net(classes=5))
    frozen = space.freeze(_sample(16, 1))
    assert frozen.sample == {"width": 16, "mid": 1} and frozen.status is ModelStatus.Frozen
    model = frozen.executable_model()
    assert model is frozen.executable_model()
    assert model.fc1.out_features == 16 and isinstance(model.mid, tnn.Identity)
    assert model(torch.randn(2, 8)).shape == (2, 5)
    assert not list(model.simplify())  # a plain model: no choices left


def test_freeze_rejects_a_bad_sample_naming_the_label():
    space = SimplifiedModelSpace.from_model(Net())
    with pytest.raises(SampleValidationError, match="width"):
        space.freeze(_sample(width=7))
    with pytest.raises(SampleValidationError, match="'mid'"):
        space.freeze({"width": 8})


def test_payload_is_small_json_and_round_trips_to_the_same_architecture():
    space = SimplifiedModelSpace.from_model(Net(classes=4, act=tnn.GELU, sizes=(3, 4)))
    frozen = space.freeze(_sample(4, 0))
    payload = frozen.to_payload()
    text = json.dumps(payload)
    assert len(text) < 1000
    assert payload["format"] == "simplified"
    assert payload["model_symbol"].endswith(":Net")
    assert payload["sample"] == {"width": 4, "mid": 0}
    assert payload["evaluator"] is None
    again = SimplifiedModelSpace.from_payload(json.loads(text))
    assert again.status is ModelStatus.Frozen and again.sample == frozen.sample
    a, b = frozen.executable_model(), again.executable_model()
    assert isinstance(b.act, tnn.GELU) and b.sizes == (3, 4) and b.scale is double
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 8)
    assert torch.equal(a(x), b(x))


@pytest.mark.parametrize("how", ["in process", "from payload"])
def test_space_built_inside_a_users_label_scope_rebuilds_with_the_same_labels(how):
    from nascore.mutable import label_scope

    with label_scope("outer"):
        Net()  # a sibling first: the counter state matters too, not only the scope's name
        space = SimplifiedModelSpace.from_model(Net())
    labels = sorted(space.simplify())
    assert all(label.startswith("outer/") for label in labels) and len(labels) == 2
    sample = {label: (8 if label.endswith("width") else 1) for label in labels}
    frozen = space.freeze(sample)
    if how == "from payload":
        frozen = SimplifiedModelSpace.from_payload(json.loads(json.dumps(frozen.to_payload())))
    model = frozen.executable_model()
    assert model.fc1.out_features == 8 and isinstance(model.mid, tnn.Identity)


def test_mutable_init_arguments_are_written_as_their_value():
    space = SimplifiedModelSpace.from_model(WideNet())
    assert list(space.simplify()) == ["hidden"]
    frozen = space.freeze({"hidden": 7})
    assert frozen.to_payload()["init_args"]["kwargs"] == {}  # default argument: not recorded
    space = SimplifiedModelSpace.from_model(WideNet(hidden=Categorical([2, 3], label="hidden")))
    frozen = space.freeze({"hidden": 3})
    assert frozen.to_payload()["init_args"]["kwargs"] == {"hidden": 3}
    assert frozen.executable_model().fc.out_features == 3
    assert SimplifiedModelSpace.from_payload(frozen.to_payload()).executable_model().fc.out_features == 3


def test_evaluator_choices_join_the_space_and_are_frozen():
    evaluator = ChoiceEvaluator()
    space = SimplifiedModelSpace.from_model(Net(), evaluator)
    assert sorted(space.simplify()) == ["lr", "mid", "width"]
    with pytest.raises(SampleValidationError, match="lr"):
        space.freeze(_sample())
    frozen = space.freeze({**_sample(), "lr": 0.01})
    assert frozen.evaluator.lr == 0.01 and evaluator.lr.label == "lr"
    # a duck-typed evaluator without to_payload cannot travel
    with pytest.raises(NotSerializableError, match="to_payload"):
        frozen.to_payload()


def test_real_evaluator_travels_with_the_payload():
    try:
        from nascore.evaluator import FunctionalEvaluator
    except ImportError:
        pytest.skip("nascore.evaluator.FunctionalEvaluator is not available yet")
    evaluator = FunctionalEvaluator(double, lr=Categorical([1, 2], label="lr"))
    space = SimplifiedModelSpace.from_model(Net(), evaluator)
    frozen = space.freeze({**_sample(), "lr": 2})
    payload = json.loads(json.dumps(frozen.to_payload()))
    again = SimplifiedModelSpace.from_payload(payload)
    assert again.evaluator.trace_kwargs["lr"] == 2
    assert again.evaluator == frozen.evaluator


def test_label_clash_between_space_and_evaluator_is_reported():
    class Clash(ChoiceEvaluator):
        def __init__(self):
            super().__init__(Categorical([1, 2], label="width"))

    with pytest.raises(ValueError, match="'width' names two different choices"):
        SimplifiedModelSpace.from_model(Net(), Clash())


def test_plain_module_is_rejected_with_advice():
    with pytest.raises(TypeError, match="subclass nascore.nn.ModelSpace"):
        SimplifiedModelSpace.from_model(tnn.Linear(2, 2))


def test_unencodable_arguments_work_in_process_but_refuse_payload():
    space = SimplifiedModelSpace.from_model(Net(act=lambda: tnn.Tanh()))
    frozen = space.freeze(_sample())
    assert isinstance(frozen.executable_model().act, tnn.Tanh)
    with pytest.raises(NotSerializableError, match="lambda.*module level"):
        frozen.to_payload()
    tensor_space = SimplifiedModelSpace.from_model(Net(sizes=torch.ones(2)))
    with pytest.raises(NotSerializableError, match="'sizes': a tensor"):
        tensor_space.freeze(_sample()).to_payload()
    module_space = SimplifiedModelSpace.from_model(Net(scale=tnn.ReLU()))
    with pytest.raises(NotSerializableError, match="'scale': a ReLU module instance.*pass its class"):
        module_space.freeze(_sample()).to_payload()


def test_local_class_refuses_payload_and_fails_early_when_a_training_service_is_used():
    class LocalNet(nn.ModelSpace):
        def __init__(self):
            super().__init__()
            self.fc = nn.LayerChoice([tnn.Linear(2, 2), tnn.Identity()], label="op")

    space = SimplifiedModelSpace.from_model(LocalNet())
    frozen = space.freeze({"op": 1})
    assert isinstance(frozen.executable_model().fc, tnn.Identity)
    with pytest.raises(NotSerializableError, match="inside a function.*module level"):
        frozen.to_payload()
    with pytest.raises(NotSerializableError, match="sequential.*inside a function"):
        space.check_serializable()
    SimplifiedModelSpace.from_model(Net()).check_serializable()  # importable: fine

    def engines():
        return [EngineSpec(name="fake-ts", factory=lambda config: None, uses_training_service=True)]

    manager = create_plugin_manager(load_entrypoints=False)
    manager.register(SimpleNamespace(nascore_execution_engines=hookimpl(engines)), "fake-ts")
    previous = set_plugin_manager(manager)
    try:
        config = SimpleNamespace(execution_engine=SimpleNamespace(name="fake-ts"))
        with pytest.raises(NotSerializableError, match="inside a function"):
            SimplifiedModelSpace.from_model(LocalNet(), None, config)
    finally:
        set_plugin_manager(previous)


def test_payload_of_another_format_is_refused():
    with pytest.raises(ValueError, match="format 'graph'"):
        SimplifiedModelSpace.from_payload({"format": "graph"})
    with pytest.raises(ImportError, match="no_such_module"):
        SimplifiedModelSpace.from_payload({"format": "simplified", "model_symbol": "no_such_module:Net",
                                           "init_args": {}, "sample": {}})


def test_registered_through_entry_point():
    spec = get_plugin_manager().get_model_format("simplified")
    assert spec.serializable and spec.load() is SimplifiedModelSpace
    assert spec.config_model(name="simplified").name == "simplified"


SCRIPT_MODULE = '''
import torch.nn as tnn
import nascore.nn as nn
from nascore.mutable import Categorical, ensure_frozen

class PathNet(nn.ModelSpace):
    def __init__(self, classes=3):
        super().__init__()
        width = ensure_frozen(Categorical([4, 8], label="width"))
        self.body = nn.LayerChoice([tnn.Linear(6, width), tnn.Sequential(tnn.Linear(6, width), tnn.ReLU())],
                                   label="body")
        self.head = tnn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.body(x))
'''

MAIN_SCRIPT = '''
import json, sys
import torch
import torch.nn as tnn
import nascore.nn as nn
from nascore.space import NotSerializableError
from nascore_simplified.space import SimplifiedModelSpace

class MainNet(nn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.op = nn.LayerChoice([tnn.Linear(3, 3), tnn.Identity()], label="op")

result = {}
frozen = SimplifiedModelSpace.from_model(MainNet()).freeze({"op": 0})
result["main_builds"] = type(frozen.executable_model().op).__name__
try:
    frozen.to_payload()
except NotSerializableError as exc:
    result["main_error"] = str(exc)
# a payload made by the parent process, rebuilt here
other = SimplifiedModelSpace.from_payload(json.loads(sys.argv[1]))
model = other.executable_model()
result["state"] = {k: list(v.shape) for k, v in model.state_dict().items()}
print(json.dumps(result))
'''


def test_payload_rebuilds_in_another_process_and_main_classes_stay_in_process(tmp_path, monkeypatch):
    (tmp_path / "pathnet_models.py").write_text(textwrap.dedent(SCRIPT_MODULE))
    (tmp_path / "main_script.py").write_text(textwrap.dedent(MAIN_SCRIPT))
    monkeypatch.syspath_prepend(str(tmp_path))
    from pathnet_models import PathNet

    frozen = SimplifiedModelSpace.from_model(PathNet(classes=2)).freeze({"width": 8, "body": 1})
    payload = json.dumps(frozen.to_payload())
    expected = {k: list(v.shape) for k, v in frozen.executable_model().state_dict().items()}
    env = {"PYTHONPATH": str(tmp_path) + ":" + ":".join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, str(tmp_path / "main_script.py"), payload], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["state"] == expected
    assert result["main_builds"] == "Linear"
    assert "__main__" in result["main_error"] and "importable module" in result["main_error"]


def test_hooks_module_is_light():
    import subprocess
    import sys
    code = "import sys, nascore_simplified.hooks; print(sorted(m for m in ('torch', 'paramiko') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
