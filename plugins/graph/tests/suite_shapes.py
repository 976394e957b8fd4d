"""Conformance suite, part 1: plain layers, functional code and shapes used as values (tiny sizes)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def t(*shape):
    return lambda: (torch.randn(*shape),)


# ---- plain layers and functional code ----------------------------------------------------------------
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 3), nn.LogSoftmax(-1))

    def forward(self, x):
        return self.net(x)


class RawParams(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 4))
        self.b = nn.Parameter(torch.zeros(4))

    def forward(self, x):
        return torch.tanh(x @ self.w + self.b)


class FunctionalConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 2, 3, 3) * 0.1)
        self.register_buffer("mean", torch.zeros(4))
        self.register_buffer("var", torch.ones(4))

    def forward(self, x):
        y = F.conv2d(x, self.weight, padding=1)
        return F.relu(F.batch_norm(y, self.mean, self.var, training=False))


class DepthwiseSeparable(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False)
        self.pw = nn.Conv2d(4, 6, 1)
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x):
        return F.relu6(self.bn(self.pw(self.dw(x))))


class ActivationZoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.acts = nn.ModuleList([nn.Mish(), nn.SiLU(), nn.Hardsigmoid(), nn.Softsign(), nn.ELU(0.5), nn.CELU(),
                                   nn.SELU(), nn.Tanhshrink(), nn.Softplus(beta=2.0), nn.Threshold(0.1, -1.0)])
        self.glu = nn.GLU(dim=-1)

    def forward(self, x):
        outs = [act(x) for act in self.acts]
        return self.glu(torch.cat(outs, -1))


class NormZoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(3)
        self.inorm = nn.InstanceNorm1d(3, affine=True)
        self.lrn = nn.LocalResponseNorm(2)
        self.rms = nn.RMSNorm(5)

    def forward(self, x):
        return self.rms(self.bn(x) + self.inorm(x) + self.lrn(x))


class PoolZoo(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.AvgPool2d(3, stride=2, ceil_mode=True, count_include_pad=False)
        self.m = nn.MaxPool2d(2, padding=1)
        self.lp = nn.LPPool2d(2, 2)
        self.ad = nn.AdaptiveMaxPool2d(1)

    def forward(self, x):
        return self.a(x).sum((2, 3)) + self.m(x).mean((2, 3)) + self.lp(x).amax((2, 3)) + self.ad(x).flatten(1)


class ShuffleOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.shuffle = nn.ChannelShuffle(2)
        self.unshuffle = nn.PixelUnshuffle(2)
        self.fold = nn.Fold((4, 4), 2, stride=2)
        self.unfold = nn.Unfold(2, stride=2)

    def forward(self, x):
        y = self.unshuffle(self.shuffle(x))
        return self.fold(self.unfold(x)), y


class PairOps(nn.Module):
    def __init__(self):
        super().__init__()
        self.bil = nn.Bilinear(4, 4, 3)
        self.cos = nn.CosineSimilarity(dim=1)
        self.dist = nn.PairwiseDistance()

    def forward(self, a, b):
        return self.bil(a, b), self.cos(a, b), self.dist(a, b)


class EmbedPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(20, 6, max_norm=None)
        self.fc = nn.Linear(6, 2)

    def forward(self, tokens):
        return self.fc(self.emb(tokens).mean(dim=1))


# ---- shapes used as values ------------------------------------------------------------------------------
class OnesFromSize(nn.Module):
    def forward(self, x):
        return torch.cat([x, torch.ones(x.size(0), 2)], dim=1)


class ZerosFromShape(nn.Module):
    def forward(self, x):
        return torch.zeros(x.shape) + x * 2


class FullFromSize(nn.Module):
    def forward(self, x):
        return x + torch.full((x.size(0), 1), 0.5, dtype=x.dtype)


class NewZeros(nn.Module):
    def forward(self, x):
        pad = x.new_zeros(x.shape[0], 3)
        return torch.cat([pad, x, x.new_ones(x.size())], 1)


class PositionalArange(nn.Module):
    def __init__(self):
        super().__init__()
        self.pos = nn.Embedding(16, 4)

    def forward(self, x):
        idx = torch.arange(x.size(1), device=x.device)
        return x + self.pos(idx)


class EyeFromSize(nn.Module):
    def forward(self, x):
        return x @ torch.eye(x.size(-1)) * 3


class LenAsValue(nn.Module):
    def forward(self, x):
        return x.sum(0) / len(x)


class UnpackShape(nn.Module):
    def forward(self, x):
        b, c, h, w = x.shape
        y = x.flatten(2).transpose(1, 2)
        return y.transpose(1, 2).reshape(b, c, h, w) * (h * w)


class HalfChannels(nn.Module):
    def forward(self, x):
        half = x.shape[1] // 2
        return x[:, :half] * torch.sigmoid(x[:, half:])


class LayerNormFromShape(nn.Module):
    def forward(self, x):
        return F.layer_norm(x, x.shape[1:])


class InterpolateToSize(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 2, 3, stride=2, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=False) + x


class TransposedOutputSize(nn.Module):
    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 4, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1)

    def forward(self, x):
        return self.up(self.down(x), output_size=x.size()) + x


class ViewStarShape(nn.Module):
    def forward(self, x):
        return x.view(*x.shape[:2], -1).mean(-1)


class ScaleBySqrtDim(nn.Module):
    def forward(self, q, k):
        return torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)


class ItemAssign(nn.Module):
    def forward(self, x):
        y = x.clone()
        y[:, 0] = 0.0
        y[:, 1:3] = x[:, 1:3] * 2
        return y


class MaskAssign(nn.Module):
    def forward(self, x):
        y = x.clone()
        y[y < 0] = 0.0
        return y


class IndexPut(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("idx", torch.tensor([0, 2]), persistent=False)

    def forward(self, x):
        y = torch.zeros_like(x)
        y.index_put_((self.idx,), x[self.idx] + 1)
        return y


class IterateChunks(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)

    def forward(self, x):
        out = torch.zeros_like(x[:, :2])
        for part in x.chunk(3, dim=1):
            out = out + self.lin(part)
        return out


class SplitComprehension(nn.Module):
    def forward(self, x):
        return torch.cat([F.relu(p) * (i + 1) for i, p in enumerate(torch.split(x, 2, dim=1))], dim=1)


class ShapeBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 3)

    def forward(self, x):
        if x.dim() == 4:
            x = x.flatten(1)
        return self.fc(x)


class ExpandToken(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls = nn.Parameter(torch.randn(1, 1, 4))

    def forward(self, x):
        return torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)


class CausalMask(nn.Module):
    def forward(self, x):
        t = x.size(1)
        mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        return torch.softmax(x @ x.transpose(1, 2) + mask, dim=-1)


CASES = [
    ("layer_mlp", MLP, t(3, 6)), ("layer_raw_params", RawParams, t(2, 5)),
    ("fn_conv_bn", FunctionalConv, t(1, 2, 5, 5)), ("layer_dwsep", DepthwiseSeparable, t(1, 4, 6, 6)),
    ("layer_activations", ActivationZoo, t(2, 4)), ("layer_norms", NormZoo, t(2, 3, 5)),
    ("layer_pools", PoolZoo, t(1, 2, 7, 7)), ("layer_shuffle_fold", ShuffleOps, t(1, 4, 4, 4)),
    ("layer_pairs", PairOps, lambda: (torch.randn(3, 4), torch.randn(3, 4))),
    ("layer_embed_pool", EmbedPool, lambda: (torch.randint(0, 20, (2, 5)),)),
    ("shape_ones_size", OnesFromSize, t(3, 2)), ("shape_zeros_shape", ZerosFromShape, t(2, 3)),
    ("shape_full_size", FullFromSize, t(3, 2)), ("shape_new_zeros", NewZeros, t(2, 3)),
    ("shape_arange", PositionalArange, t(2, 5, 4)), ("shape_eye", EyeFromSize, t(2, 3)),
    ("shape_len", LenAsValue, t(4, 3)), ("shape_unpack", UnpackShape, t(1, 2, 3, 4)),
    ("shape_half_channels", HalfChannels, t(2, 6)), ("shape_layer_norm", LayerNormFromShape, t(2, 3, 4)),
    ("shape_interpolate_size", InterpolateToSize, t(1, 2, 7, 7)),
    ("shape_convT_output_size", TransposedOutputSize, t(1, 2, 8, 8)),
    ("shape_view_star", ViewStarShape, t(2, 3, 4, 5)),
    ("shape_sqrt_dim", ScaleBySqrtDim, lambda: (torch.randn(2, 3, 4), torch.randn(2, 3, 4))),
    ("shape_item_assign", ItemAssign, t(2, 4)), ("shape_mask_assign", MaskAssign, t(3, 4)),
    ("shape_index_put", IndexPut, t(3, 2)), ("shape_iterate_chunks", IterateChunks, t(2, 6)),
    ("shape_split_comprehension", SplitComprehension, t(2, 6)), ("shape_branch_dim", ShapeBranch, t(2, 3, 2, 2)),
    ("shape_expand_token", ExpandToken, t(2, 3, 4)), ("shape_causal_mask", CausalMask, t(2, 4, 3)),
]
