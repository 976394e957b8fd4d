import random

import pytest
import torch
import torch.nn as tnn

import nascore.nn as nn
from nascore.mutable import Categorical, SampleValidationError, ensure_frozen, frozen_context


class Block(nn.ParameterizedModule):
    def __init__(self, c: int, k: int = 3):
        super().__init__()
        assert isinstance(c, int) and isinstance(k, int)  # user code sees plain values
        self.conv = tnn.Conv2d(c, c, k, padding=k // 2)

    def forward(self, x):
        return torch.relu(self.conv(x))


class Sub(nn.ModelSpace):
    def __init__(self, c):
        super().__init__()
        self.op = nn.LayerChoice([Block(c, 1), Block(c, 3)])

    def forward(self, x):
        return self.op(x)


class Net(nn.ModelSpace, label_prefix="net"):
    def __init__(self, num_classes: int = 10, dropout: float = 0.0, search_hidden: bool = True):
        super().__init__()
        c = Categorical([4, 8], label="c")
        self.stem = nn.Conv2d(3, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.choice = nn.LayerChoice({"conv": Block(c, Categorical([1, 3, 5], label="k")),
                                      "id": tnn.Identity()}, label="op")
        self.inp = nn.InputChoice(3, 2, reduction="mean", label="inp")
        self.rep = nn.Repeat(lambda i: Block(c, 3), (0, 2), label="depth")
        self.sub = Sub(c)
        self.cell = nn.Cell([lambda i, j, k: Block(c, 1), lambda i, j: tnn.Identity()],
                            num_nodes=2, num_ops_per_node=2, num_predecessors=2,
                            merge_op="loose_end", label="cell")
        # ensure_frozen makes __init__ depend on a value: structural freeze must then re-run __init__
        self.hidden = ensure_frozen(Categorical([16, 32], label="hidden")) if search_hidden else 16
        self.fc1 = nn.Linear(c, self.hidden)
        self.anchor = nn.MutationAnchor("anchor")
        self.drop = nn.Dropout(dropout)
        self.fc2 = tnn.Linear(self.hidden, num_classes)

    def forward(self, x):
        x = self.bn(self.stem(x))
        y = self.choice(x)
        x = self.inp([x, y, x * 2])
        x = self.sub(self.rep(x))
        x = self.cell(x, y)
        x = x.mean((2, 3))
        x = x[:, : self.fc1.in_features]  # the cell emits 1 or 2 loose ends of c channels each
        return self.fc2(self.drop(self.anchor(self.fc1(x))))


def arch(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}, [
        (n, type(m).__name__) for n, m in model.named_modules()]


def test_dry_run_and_trace():
    net = Net(10, dropout=0.1)
    assert net.trace_symbol is Net and net.trace_args == ()
    assert net.trace_kwargs == {"num_classes": 10, "dropout": 0.1}
    assert not net.frozen
    labels = set(net.simplify())
    assert {"net/c", "net/k", "net/op", "net/inp", "net/depth", "net/hidden",
            "net/cell/op_0_0", "net/cell/input_1_1"} <= labels
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    assert isinstance(net.stem, tnn.Conv2d) and isinstance(net.stem, nn.ParameterizedModule)
    assert net.stem.trace_kwargs["out_channels"] is net.simplify()["net/c"]
    assert net.stem.out_channels == 4  # dry-run uses defaults
    assert net.anchor.label == "net/anchor" and net.anchor.is_basic_unit
    assert set(Net(10).simplify()) == labels  # reproducible labels


@pytest.mark.parametrize("search_hidden", [True, False])
def test_freezes_agree_on_random_samples(search_hidden):
    net = Net(10, search_hidden=search_hidden)
    assert bool(net.__dict__.get("_nascore_needs_reinit")) == search_hidden
    rng = random.Random(0)
    x = torch.randn(2, 3, 8, 8)
    for _ in range(12):
        memo: dict = {}
        frozen = net.random(memo=memo, random_state=rng)
        with frozen_context(memo):
            rebuilt = Net(10, search_hidden=search_hidden)
        assert arch(frozen) == arch(rebuilt), memo
        assert frozen.frozen and rebuilt.frozen and rebuilt.sample == memo
        assert frozen.simplify() == {} and rebuilt.simplify() == {}
        assert not any(isinstance(m, nn.MutableModule) and m.mutables for m in rebuilt.modules())
        assert isinstance(frozen.stem, tnn.Conv2d) and type(frozen.stem) is tnn.Conv2d
        assert type(rebuilt.stem) is tnn.Conv2d and frozen.stem.out_channels == memo["net/c"]
        assert len(frozen.rep) == memo["net/depth"]
        if not search_hidden and memo["net/op"] == "conv" and memo["net/k"] == 1 and memo["net/c"] == 4:
            # structural freeze keeps the space's weights where shapes did not change
            assert torch.equal(frozen.choice.conv.weight, net.choice["conv"].conv.weight)
        rebuilt.load_state_dict(frozen.state_dict())
        frozen.eval(), rebuilt.eval()
        assert torch.allclose(frozen(x), rebuilt(x))


def test_structural_freeze_keeps_weights():
    class Plain(nn.ModelSpace):
        def __init__(self):
            super().__init__()
            self.a = nn.LayerChoice([tnn.Linear(4, 4), tnn.Linear(4, 4, bias=False)], label="a")
            self.r = nn.Repeat(tnn.Linear(4, 4), (1, 3), label="r")
            self.p = nn.Linear(4, 4)
            self.d = nn.Dropout(Categorical([0.0, 0.5], label="p"))

        def forward(self, x):
            return self.d(self.p(self.r(self.a(x))))

    space = Plain()
    frozen = space.freeze({"a": 1, "r": 2, "p": 0.5})
    assert frozen.a.weight.data_ptr() != space.a[1].weight.data_ptr()  # a deep copy...
    assert torch.equal(frozen.a.weight, space.a[1].weight)  # ...with the same weights
    assert torch.equal(frozen.r[1].weight, space.r.blocks[1].weight)
    assert torch.equal(frozen.p.weight, space.p.weight) and type(frozen.p) is tnn.Linear
    assert type(frozen.d) is tnn.Dropout and frozen.d.p == 0.5
    assert space.a.candidates[1] is space.a[1] and space.a.names == [0, 1]
    assert len(list(space.grid())) == 2 * 3 * 2
    assert isinstance(space.default(), Plain) and len(space.default().r) == 1


def test_validation_errors_name_path():
    net = Net(10)
    sample = net.default(memo := {}) and memo
    bad = dict(sample, **{"net/k": 4})
    with pytest.raises(SampleValidationError) as e:
        net.freeze(bad)
    assert "net/k: 4 is not one of [1, 3, 5]" in str(e.value)
    assert any("choice" in p for p in e.value.paths)
    with frozen_context(bad), pytest.raises(SampleValidationError):
        Net(10)
    missing = {k: v for k, v in sample.items() if k != "net/depth"}
    assert not net.contains(missing)


def test_repeat_depth_zero_and_fixed():
    rep = nn.Repeat(tnn.Linear(3, 3), (0, 2), label="d0")
    x = torch.randn(2, 3)
    assert torch.equal(rep(x), x) and rep.depth == 0
    frozen = rep.freeze({"d0": 0})
    assert isinstance(frozen, tnn.Sequential) and len(frozen) == 0 and torch.equal(frozen(x), x)
    fixed = nn.Repeat([tnn.Linear(3, 3), tnn.ReLU()], 2)
    assert fixed.simplify() == {} and len(fixed.freeze({})) == 2
    with frozen_context({"d0": 2}):
        seq = nn.Repeat(tnn.Linear(3, 3), (0, 2), label="d0")
    assert type(seq) is tnn.Sequential and len(seq) == 2
    with pytest.raises(ValueError):
        nn.Repeat([tnn.ReLU()], (1, 3))


def test_input_choice_reductions():
    xs = [torch.full((1, 2), float(i)) for i in range(3)]
    assert torch.equal(nn.InputChoice(3, 1, label="i1")(xs), xs[0])
    ic = nn.InputChoice(3, 2, reduction="concat", label="i2")
    assert ic(xs).shape == (1, 4) and ic.chosen == [0, 1]
    frozen = ic.freeze({"i2": [0, 2]})
    assert isinstance(frozen, nn.ChosenInputs) and torch.equal(frozen(xs), torch.cat([xs[0], xs[2]], 1))
    assert torch.equal(nn.ChosenInputs([1, 2], "mean")(xs), torch.full((1, 2), 1.5))
    assert nn.ChosenInputs([2], "none")(xs) == [xs[2]]
    assert not ic.contains({"i2": [2, 0]}) and not ic.contains({"i2": 1})
    with frozen_context({"i3": 2}):
        assert nn.InputChoice(3, label="i3").chosen == [2]


def test_dict_layer_choice_under_frozen_context():
    cands = {"relu": tnn.ReLU(), "tanh": tnn.Tanh()}
    lc = nn.LayerChoice(cands, label="act")
    assert lc["tanh"] is cands["tanh"] and lc.choice.values == ["relu", "tanh"]
    assert isinstance(lc.freeze({"act": "tanh"}), tnn.Tanh)
    with frozen_context({"act": "tanh"}):
        assert nn.LayerChoice(cands, label="act") is cands["tanh"]
    with pytest.raises(SampleValidationError):
        lc.freeze({"act": 0})


def test_cell_forward_and_freeze():
    cell = nn.Cell({"lin": lambda i, j: tnn.Linear(4, 4), "id": tnn.Identity()}, num_nodes=3,
                   num_predecessors=2, label="c")
    a, b = torch.randn(2, 4), torch.randn(2, 4)
    assert cell(a, b).shape == (2, 12) and cell([a, b]).shape == (2, 12)
    assert sorted(cell.simplify()) == sorted(
        [f"c/{k}_{i}_0" for i in range(3) for k in ("input", "op")])
    sample = {"c/input_0_0": 1, "c/op_0_0": "lin", "c/input_1_0": 2, "c/op_1_0": "id",
              "c/input_2_0": 0, "c/op_2_0": "id"}
    frozen = cell.freeze(sample)
    assert type(frozen) is nn.Cell and frozen.simplify() == {}
    assert torch.allclose(frozen(a, b), torch.cat([cell.ops[0][0]["lin"](b)] * 2 + [a], 1))
    loose = nn.Cell([tnn.Identity()], 2, merge_op="loose_end", label="lc")
    assert loose(a).shape == (2, 8)  # by default both nodes read the predecessor: both are loose ends
    # node 1 reads node 0 (state index 1), so only node 1 is a loose end
    assert loose.freeze({"lc/input_0_0": 0, "lc/op_0_0": 0, "lc/input_1_0": 1, "lc/op_1_0": 0})(a).shape == (2, 4)


def test_parameterized_module_trace_and_wrap():
    k = Categorical([1, 3], label="kk")
    b = Block(4, k=k)
    assert b.trace_kwargs == {"c": 4, "k": k} and b.mutables == [k]
    assert b.frozen_init_kwargs({"kk": 3}) == {"c": 4, "k": 3}
    assert b.conv.kernel_size == (1, 1)
    frozen = b.freeze({"kk": 3})
    assert type(frozen) is Block and frozen.conv.kernel_size == (3, 3) and frozen.mutables == []
    Wrapped = nn.ParameterizedModule.wrap(tnn.GELU)
    g = Wrapped(approximate="tanh")
    assert isinstance(g, tnn.GELU) and g.trace_kwargs == {"approximate": "tanh"}
    lin = nn.Linear(Categorical([2, 3], label="in"), 5)
    assert lin.in_features == 2 and lin.weight.shape == (5, 2)
    assert lin.freeze({"in": 3}).weight.shape == (5, 3)
    assert nn.Linear.__module__ == "nascore.nn.layers" and nn.Conv2d.is_basic_unit
    import copy
    assert copy.deepcopy(lin).trace_kwargs["out_features"] == 5


def test_nested_space_labels_and_reinstantiate():
    class Outer(nn.ModelSpace):
        def __init__(self):
            super().__init__()
            self.x = nn.LayerChoice([tnn.ReLU(), tnn.Tanh()])
            self.inner = Sub(4)
            self.y = nn.LayerChoice([tnn.ReLU(), tnn.Tanh()])

    o1, o2 = Outer(), Outer()
    assert list(o1.simplify()) == list(o2.simplify()) == ["_mutable_1", "_mutable_2", "_mutable_3"]
    sample = {"_mutable_1": 1, "_mutable_2": 0, "_mutable_3": 1}
    with frozen_context(sample):
        rebuilt = Outer()
    assert arch(rebuilt) == arch(o1.freeze(sample))
    re2 = o1.reinstantiate(sample)
    assert arch(re2) == arch(rebuilt)
