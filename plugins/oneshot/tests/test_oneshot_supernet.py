"""Supernet modules: value-choice slicing, rejection of unsupported constructs, checkpoints."""
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from nascore import nn as nnn
from nascore.mutable import Categorical, ensure_frozen
from nascore_oneshot import SupernetData, SupernetTrainer, UnsupportedSpaceError, convert_to_supernet


class ConvNet(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        ch = Categorical([4, 8], label="ch")
        k = Categorical([3, 5], label="k")
        self.conv = nnn.Conv2d(2, ch, k, padding=k // 2)
        self.bn = nnn.BatchNorm2d(ch)
        self.blocks = nnn.Repeat(lambda i: nn.Sequential(nnn.Conv2d(ch, ch, 3, padding=1), nn.ReLU()), (1, 3),
                                 label="depth")
        self.head = nnn.Linear(ch, 3)

    def forward(self, x):
        return self.head(self.blocks(self.bn(self.conv(x))).mean((2, 3)))


@pytest.mark.parametrize("mode", ["sample", "mixed"])
def test_value_choice_slice_equals_standalone_layer(mode):
    torch.manual_seed(0)
    space = ConvNet()
    ctx = convert_to_supernet(space, mode)
    assert space.conv.weight.shape == (8, 2, 5, 5)  # the largest weight is held
    ctx.mode, ctx.sample = "sample", {"ch": 4, "k": 3, "depth": 2}
    x = torch.randn(3, 2, 6, 6)
    # a plain layer loaded with the slices: leading channels, centred 3x3 window of the 5x5 kernel
    plain = nn.Conv2d(2, 4, 3, padding=1)
    with torch.no_grad():
        plain.weight.copy_(space.conv.weight[:4, :, 1:4, 1:4])
        plain.bias.copy_(space.conv.bias[:4])
    assert torch.allclose(space.conv(x), plain(x), atol=1e-6)
    lin = nn.Linear(4, 3)
    with torch.no_grad():
        lin.weight.copy_(space.head.weight[:, :4])
        lin.bias.copy_(space.head.bias)
    h = torch.randn(5, 4)
    assert torch.allclose(space.head(h), lin(h), atol=1e-6)
    # the structural freeze of the converted space holds the same slices, whole model included
    space.eval()
    frozen = space.freeze(ctx.sample)
    assert type(frozen.conv) is nn.Conv2d and frozen.conv.weight.shape == (4, 2, 3, 3)
    assert len(frozen.blocks) == 2
    assert torch.allclose(frozen.conv.weight, plain.weight)
    assert torch.allclose(frozen(x), space(x), atol=1e-6)


class MBConvNet(nnn.ModelSpace):
    """An inverted-residual block searching its depthwise kernel and expansion (groups = sliced channels)."""

    def __init__(self):
        super().__init__()
        hidden = Categorical([2, 4], label="expand") * 3
        k = Categorical([3, 5, 7], label="k")
        self.block = nn.Sequential(
            nnn.Conv2d(3, hidden, 1, bias=False), nnn.BatchNorm2d(hidden), nn.ReLU6(),
            nnn.Conv2d(hidden, hidden, k, padding=k // 2, groups=hidden, bias=False), nnn.BatchNorm2d(hidden),
            nn.ReLU6(), nnn.Conv2d(hidden, 3, 1, bias=False))
        self.down = nnn.LayerChoice({"conv": nn.Conv2d(3, 3, 3, padding=1), "pool": nn.AvgPool2d(3, 1, 1)},
                                    label="down")
        self.pick = nnn.InputChoice(2, 1, label="pick")

    def forward(self, x):
        return self.pick([x + self.block(x), self.down(x)])


@pytest.mark.parametrize("sample", [{"expand": 2, "k": 3, "down": "pool", "pick": 0},
                                    {"expand": 4, "k": 7, "down": "conv", "pick": 1},
                                    {"expand": 2, "k": 5, "down": "conv", "pick": 0}])
def test_darts_with_one_hot_weights_computes_the_single_path(sample):
    # DARTS mixes sliced weights (masks of the kernel window and channels, grouped convs included) instead of
    # outputs: with all its weight on one value it must compute exactly that value's network
    torch.manual_seed(0)
    space = MBConvNet()
    ctx = convert_to_supernet(space, "mixed")
    for label, alpha in ctx.alphas.items():
        with torch.no_grad():
            alpha.fill_(-100.0)[ctx.values[label].index(sample[label])] = 100.0
    x = torch.randn(4, 3, 8, 8)
    mixed = space(x)
    ctx.mode, ctx.sample = "sample", sample
    assert torch.allclose(mixed, space(x), atol=1e-5)
    frozen = space.freeze(sample)
    assert frozen.block[3].groups == frozen.block[3].weight.shape[0] == 3 * sample["expand"]
    assert frozen.block[3].kernel_size == (sample["k"],) * 2
    assert torch.allclose(frozen(x), mixed, atol=1e-5)


def test_darts_mixture_has_gradients_for_every_label():
    space = ConvNet()
    ctx = convert_to_supernet(space, "mixed")
    assert set(ctx.alphas) == {"ch", "k", "depth"}
    space(torch.randn(2, 2, 6, 6)).sum().backward()
    for label, alpha in ctx.alphas.items():
        assert alpha.grad is not None and alpha.grad.abs().sum() > 0, label


def test_bn_slice_updates_the_shared_running_stats():
    space = ConvNet()
    ctx = convert_to_supernet(space, "sample")
    ctx.sample = {"ch": 4, "k": 5, "depth": 1}
    space.train()
    space(torch.randn(4, 2, 6, 6) + 3)
    assert space.bn.running_mean[:4].abs().sum() > 0 and space.bn.running_mean[4:].abs().sum() == 0


class CustomBlock(nnn.ParameterizedModule):
    def __init__(self, width):
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(4, 4) for _ in range(width)])

    def forward(self, x):
        return self.layers(x)


class WithCustom(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.block = CustomBlock(Categorical([1, 2], label="custom_width"))

    def forward(self, x):
        return self.block(x)


class TwoInputs(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.pick = nnn.InputChoice(3, n_chosen=2, label="pick2")

    def forward(self, x):
        return self.pick([x, x, x])


class InitRead(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        n = ensure_frozen(Categorical([1, 2], label="layers_read"))
        self.body = nn.Sequential(*[nn.Linear(4, 4) for _ in range(n)])

    def forward(self, x):
        return self.body(x)


class LooseCell(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.cell = nnn.Cell([nn.Identity(), nn.ReLU()], num_nodes=2, merge_op="loose_end", label="loose")

    def forward(self, x):
        return self.cell(x)


@pytest.mark.parametrize("space_cls, mode, label", [
    (WithCustom, "sample", "custom_width"),
    (TwoInputs, "mixed", "pick2"),
    (InitRead, "sample", "layers_read"),
    (LooseCell, "mixed", "loose"),
])
def test_unsupported_construct_is_rejected_naming_the_label(space_cls, mode, label):
    with pytest.raises(UnsupportedSpaceError, match=label):
        convert_to_supernet(space_cls(), mode)


def test_input_choice_with_several_inputs_works_single_path():
    space = TwoInputs()
    ctx = convert_to_supernet(space, "sample")
    ctx.sample = {"pick2": [0, 2]}
    x = torch.ones(2, 4)
    assert torch.equal(space(x), 2 * x)


def _loader(n, seed):
    g = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(torch.randn(n, 2, 6, 6, generator=g), torch.randint(0, 3, (n,), generator=g)),
                      batch_size=16)


def test_checkpoint_restores_weights_alphas_optimiser_and_epoch(tmp_path):
    torch.manual_seed(0)
    data = SupernetData(_loader(64, 0), _loader(32, 1), max_epochs=2)
    trainer = SupernetTrainer(ConvNet(), data, "darts", arch_learning_rate=1e-2, seed=1)
    trainer.fit(epochs=1)
    trainer.save(tmp_path / "ck.pt")
    again = SupernetTrainer(ConvNet(), data, "darts", arch_learning_rate=1e-2, seed=1)
    again.load(tmp_path / "ck.pt")
    assert again.epoch == 1 and again.curve == trainer.curve
    assert again.context.alpha_state() == trainer.context.alpha_state()
    for a, b in zip(again.space.state_dict().values(), trainer.space.state_dict().values()):
        assert torch.equal(a, b)
    assert again.weight_optimizer.state_dict()["state"].keys() == trainer.weight_optimizer.state_dict()["state"].keys()
    again.fit()  # continues to max_epochs
    assert again.epoch == 2 and len(again.curve) == 2


@pytest.mark.parametrize("algorithm", ["darts", "random"])
def test_resumed_training_continues_exactly_as_the_uninterrupted_run(tmp_path, algorithm):
    # the loaders shuffle with torch's global generator, as a user's usually do: the checkpoint carries its state
    def data():
        g = torch.Generator().manual_seed(0)
        x, y = torch.randn(96, 2, 6, 6, generator=g), torch.randint(0, 3, (96,), generator=g)
        return SupernetData(DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True),
                            DataLoader(TensorDataset(x.flip(0), y.flip(0)), batch_size=32, shuffle=True), max_epochs=4)

    def trainer():
        torch.manual_seed(0)
        return SupernetTrainer(ConvNet(), data(), algorithm, arch_learning_rate=1e-2, seed=1)

    straight = trainer()
    straight.fit()
    first = trainer()
    first.fit(epochs=2)
    first.save(tmp_path / "ck.pt")
    torch.manual_seed(123)  # a new process: another random state until the checkpoint is loaded
    resumed = trainer()
    resumed.load(tmp_path / "ck.pt")
    resumed.fit()
    assert resumed.curve == straight.curve
    assert resumed.context.alpha_state() == straight.context.alpha_state()
    for (name, a), b in zip(resumed.space.state_dict().items(), straight.space.state_dict().values()):
        assert torch.equal(a, b), name
