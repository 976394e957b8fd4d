"""Batch-norm recalibration before subnets are scored (SPOS-style), and the supernet's own statistics kept."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from nascore import nn as nnn
from nascore.mutable import Categorical
from nascore_oneshot import SupernetData, SupernetTrainer
from nascore_oneshot.recalibration import kept_buffers, recalibrate_batch_norm


class Affine(nn.Module):
    def __init__(self, scale, shift):
        super().__init__()
        self.scale, self.shift = scale, shift

    def forward(self, x):
        return x * self.scale + self.shift


class ShiftNet(nnn.ModelSpace):
    """Both paths solve the task in training mode, but their features live at very different scales, so
    batch-norm statistics averaged over both paths fit neither."""

    def __init__(self):
        super().__init__()
        self.body = nnn.LayerChoice({"plain": Affine(1.0, 0.0), "shifted": Affine(50.0, 300.0)}, label="body")
        self.bn = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.bn(self.body(x)))


def _loader(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=64)


def test_recalibrated_subnet_scores_well_where_supernet_statistics_fail():
    torch.manual_seed(0)
    space = ShiftNet()
    data = SupernetData(_loader(1024, 0), _loader(512, 1), learning_rate=1e-2, max_epochs=4)
    trainer = SupernetTrainer(space, data, "random", seed=0)
    trainer.fit()
    supernet_stats = space.bn.running_mean.clone(), space.bn.running_var.clone()
    recalibrated = {v: trainer.evaluate_sample({"body": v}) for v in ("plain", "shifted")}
    # scoring restored the supernet's statistics
    assert torch.equal(space.bn.running_mean, supernet_stats[0])
    assert torch.equal(space.bn.running_var, supernet_stats[1])
    trainer.bn_recalibration_batches = 0
    raw = {v: trainer.evaluate_sample({"body": v}) for v in ("plain", "shifted")}
    assert min(recalibrated.values()) > 0.9
    assert min(raw.values()) < 0.75  # the mixed statistics ruin at least one path


def test_export_leaves_the_chosen_subnets_statistics_in_the_exported_model():
    torch.manual_seed(0)
    space = ShiftNet()
    data = SupernetData(_loader(512, 0), _loader(256, 1), learning_rate=1e-2, max_epochs=2)
    trainer = SupernetTrainer(space, data, "random", seed=0, bn_recalibration_batches=3)
    trainer.fit()
    sample, scores = trainer.export()
    assert len(scores) == 2
    frozen = space.freeze(sample)
    # the statistics are the plain average over the first 3 training batches of the chosen path
    feats = [frozen.body(x) for x, _ in list(data.train_loader)[:3]]
    mean = torch.stack([f.mean(0) for f in feats]).mean(0)
    var = torch.stack([f.var(0, unbiased=True) for f in feats]).mean(0)
    assert torch.allclose(frozen.bn.running_mean, mean, rtol=1e-4, atol=1e-4)
    assert torch.allclose(frozen.bn.running_var, var, rtol=1e-4, atol=1e-3)
    assert int(frozen.bn.num_batches_tracked) == 3


class SlicedBN(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        ch = Categorical([2, 4], label="ch")
        self.conv = nnn.Conv1d(3, ch, 1)
        self.bn = nnn.BatchNorm1d(ch, momentum=0.1)
        self.head = nnn.Linear(ch, 2)

    def forward(self, x):
        return self.head(self.bn(self.conv(x)).mean(-1))


def test_sliced_batch_norm_is_recalibrated_as_a_cumulative_average_and_restored():
    from nascore_oneshot import convert_to_supernet

    torch.manual_seed(0)
    space = SlicedBN()
    ctx = convert_to_supernet(space, "sample")
    ctx.sample = {"ch": 2}
    batches = [torch.randn(16, 3, 5) for _ in range(4)]
    before = {k: v.clone() for k, v in space.state_dict().items()}
    with kept_buffers(space):
        assert recalibrate_batch_norm(space, batches, space) == 4
        feats = [space.conv(x).detach() for x in batches]
        mean = torch.stack([f.mean((0, 2)) for f in feats]).mean(0)
        assert torch.allclose(space.bn.running_mean[:2], mean, atol=1e-5)
        assert torch.equal(space.bn.running_mean[2:], torch.zeros(2))  # channels this path does not use
        assert all(t.momentum == 0.1 for t in space.bn.templates())  # the layer's momentum came back
    for k, v in space.state_dict().items():
        assert torch.equal(v, before[k]), k
