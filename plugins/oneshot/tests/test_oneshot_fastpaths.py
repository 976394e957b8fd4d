"""The speed-ups keep the maths: mixed-op gradients, sliced-layer fast paths, frozen flags, channels_last."""
import pytest
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from nascore import nn as nnn
from nascore.mutable import Categorical
from nascore_oneshot import SupernetData, SupernetTrainer, convert_to_supernet
from nascore_oneshot.choices import _weighted_sum


def _naive_mix(outputs, weights):
    return sum(w * o for w, o in zip(weights, outputs))


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("upstream", ["dense", "broadcast"])
def test_mixture_matches_the_plain_weighted_sum_and_its_gradients(layout, upstream):
    torch.manual_seed(0)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    base = [torch.randn(2, 3, 4, 5, dtype=torch.float64).contiguous(memory_format=fmt) for _ in range(3)]
    results = []
    for mix in (_naive_mix, lambda o, w: _weighted_sum(o, w, "x")):
        alpha = torch.tensor([0.1, -0.3, 0.5], dtype=torch.float64, requires_grad=True)
        outs = [b.clone().requires_grad_() for b in base]
        outs.append(outs[0])  # the same tensor twice (an InputChoice offered one input twice)
        weights = torch.softmax(torch.cat([alpha, alpha[:1]]), 0)
        y = mix(outs, weights)
        g = torch.ones(()).expand_as(y) if upstream == "broadcast" else torch.randn(
            y.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).contiguous(memory_format=fmt)
        y.backward(g)
        results.append((y.detach(), alpha.grad, [o.grad for o in outs[:3]]))
    (y0, a0, g0), (y1, a1, g1) = results
    assert torch.allclose(y0, y1) and torch.allclose(a0, a1)
    for p, q in zip(g0, g1):
        assert torch.allclose(p, q)


def test_mixture_without_weight_gradient_still_passes_gradients_to_candidates():
    outs = [torch.randn(4, 3, requires_grad=True) for _ in range(2)]
    weights = torch.tensor([0.25, 0.75])  # constant, as in the weight step
    _weighted_sum(outs, weights, "x").sum().backward()
    assert torch.allclose(outs[0].grad, torch.full((4, 3), 0.25))
    assert torch.allclose(outs[1].grad, torch.full((4, 3), 0.75))


class BNSpace(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        ch = Categorical([4, 8], label="ch")
        self.conv = nnn.Conv1d(2, ch, 3, padding=1)
        self.bn = nnn.BatchNorm1d(ch, momentum=None)  # cumulative average: reads num_batches_tracked

    def forward(self, x):
        return self.bn(self.conv(x))


def test_sliced_batchnorm_and_conv1d_match_plain_layers_in_training():
    torch.manual_seed(0)
    space = BNSpace()
    ctx = convert_to_supernet(space, "sample")
    ctx.sample = {"ch": 4}
    conv, bn = nn.Conv1d(2, 4, 3, padding=1), nn.BatchNorm1d(4, momentum=None)
    with torch.no_grad():
        conv.weight.copy_(space.conv.weight[:4])
        conv.bias.copy_(space.conv.bias[:4])
    space.train()
    for seed in (1, 2):
        x = torch.randn(5, 2, 7, generator=torch.Generator().manual_seed(seed))
        assert torch.allclose(space(x), bn(conv(x)), atol=1e-6)
    assert int(space.bn.num_batches_tracked) == 2
    assert torch.allclose(space.bn.running_mean[:4], bn.running_mean, atol=1e-6)
    assert torch.allclose(space.bn.running_var[:4], bn.running_var, atol=1e-6)
    assert space.bn.running_mean[4:].abs().sum() == 0  # the unused channels are untouched


class SmallConvNet(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        ch = Categorical([4, 8], label="ch")
        self.stem = nn.Conv2d(2, 4, 3, padding=1)
        self.op = nnn.LayerChoice([nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4)),
                                   nn.MaxPool2d(3, 1, 1), nn.Identity()], label="op")
        self.conv = nnn.Conv2d(4, ch, 3, padding=1)
        self.head = nnn.Linear(ch, 3)

    def forward(self, x):
        return self.head(torch.relu(self.conv(self.op(self.stem(x)))).mean((2, 3)))


def _loader(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, 6, 6, generator=g, dtype=torch.float64)
    return DataLoader(TensorDataset(x, torch.randint(0, 3, (n,), generator=g)), batch_size=8)


def _trained(channels_last, frozen_stem=False):
    # float64 so that the two layouts' different kernels agree far below what Adam's normalisation amplifies
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        space = SmallConvNet()
        if frozen_stem:
            space.stem.weight.requires_grad_(False)
        initial = (space.stem.weight.detach().clone(), space.stem.bias.detach().clone())
        data = SupernetData(_loader(32, 0), _loader(16, 1), max_epochs=1)
        trainer = SupernetTrainer(space, data, "darts", arch_learning_rate=1e-2, channels_last=channels_last)
        trainer.fit()
    finally:
        torch.set_default_dtype(saved)
    return space, trainer, initial


def test_darts_keeps_frozen_flags_and_channels_last_trains_the_same():
    space, trainer, (weight, bias) = _trained(False, frozen_stem=True)
    # the architecture / weight steps freeze weights / alphas only while they run
    assert all(a.requires_grad for a in trainer.context.arch_parameters())
    assert not space.stem.weight.requires_grad and space.stem.bias.requires_grad
    assert all(p.requires_grad for n, p in space.named_parameters() if n != "stem.weight")
    assert torch.equal(space.stem.weight, weight) and not torch.equal(space.stem.bias, bias)
    plain, plain_trainer, _ = _trained(False)
    fast, fast_trainer, _ = _trained(True)
    assert fast.conv.weight.is_contiguous(memory_format=torch.channels_last)
    for (name, a), b in zip(plain.state_dict().items(), fast.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-9), name
    for label, values in plain_trainer.context.alpha_state().items():
        assert values == pytest.approx(fast_trainer.context.alpha_state()[label], abs=1e-9)
    assert plain_trainer.curve == fast_trainer.curve


def test_darts_cuts_validation_batches_to_the_training_batch_size():
    from nascore_oneshot.data import bilevel_batches

    def loader(n, batch):
        x = torch.arange(n, dtype=torch.float32)[:, None]
        return DataLoader(TensorDataset(x, torch.arange(n)), batch_size=batch)

    pairs = list(bilevel_batches(loader(40, 8), loader(20, 20)))
    assert [len(t[1]) for t, _ in pairs] == [8] * 5
    # one validation pass of 20 in pieces of 8, 8, 4, then it starts again
    assert [v[1].tolist() for _, v in pairs] == [list(range(0, 8)), list(range(8, 16)), list(range(16, 20)),
                                                 list(range(0, 8)), list(range(8, 16))]
    # without a validation loader the training batches alternate between the two steps
    pairs = list(bilevel_batches(loader(24, 8), None))
    assert [(t[1][0].item(), None if v is None else v[1][0].item()) for t, v in pairs] == [(0, 8), (16, None)]
