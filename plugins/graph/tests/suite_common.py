"""Conformance suite, part 6: patterns common in tutorials and model zoos (spatial transformer, CBAM, LSTM with
zero initial state sized from the batch, stochastic depth, sub-pixel upsampling, heads stacked from a
ModuleList, named-tuple results, dtype conversions, gathers)."""
from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


def t(*shape):
    return lambda: (torch.randn(*shape),)


class SpatialTransformer(nn.Module):
    """STN: an affine grid from predicted parameters and the input's own size."""

    def __init__(self):
        super().__init__()
        self.loc = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 6))
        with torch.no_grad():
            self.loc[-1].weight.mul_(0.01)
            self.loc[-1].bias.copy_(torch.tensor([1.0, 0, 0, 0, 1, 0]))

    def forward(self, x):
        theta = self.loc(x).view(-1, 2, 3)
        grid = F.affine_grid(theta, x.size(), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)


class CBAM(nn.Module):
    def __init__(self, c: int = 8, r: int = 2):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(c, c // r), nn.ReLU(), nn.Linear(c // r, c))
        self.spatial = nn.Conv2d(2, 1, 7, padding=3)

    def forward(self, x):
        avg = self.mlp(x.mean((2, 3)))
        mx = self.mlp(x.amax(dim=(2, 3)))
        x = x * torch.sigmoid(avg + mx).unsqueeze(-1).unsqueeze(-1)
        pooled = torch.cat([x.mean(1, keepdim=True), torch.max(x, 1, keepdim=True)[0]], dim=1)
        return x * torch.sigmoid(self.spatial(pooled))


class LSTMZeroState(nn.Module):
    """The tutorial LSTM: initial states built with the batch size read from the input."""

    def __init__(self):
        super().__init__()
        self.hidden, self.layers = 5, 2
        self.lstm = nn.LSTM(3, 5, 2, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        h0 = torch.zeros(self.layers, x.size(0), self.hidden)
        c0 = torch.zeros(self.layers, x.size(0), self.hidden)
        out, _ = self.lstm(x, (h0, c0))
        return self.fc(out[:, -1, :])


class StochasticDepth(nn.Module):
    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        keep = torch.empty([x.shape[0]] + [1] * (x.ndim - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)


class MBConvSD(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(c, c * 2, 1), nn.BatchNorm2d(c * 2), nn.SiLU(),
                                   nn.Conv2d(c * 2, c * 2, 3, padding=1, groups=c * 2), nn.SiLU(), nn.Conv2d(c * 2, c, 1))
        self.sd = StochasticDepth(0.2)

    def forward(self, x):
        return x + self.sd(self.block(x))


class ESPCN(nn.Module):
    def __init__(self, r: int = 2):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 5, padding=2), nn.Tanh(), nn.Conv2d(8, r * r, 3, padding="same"))
        self.shuffle = nn.PixelShuffle(r)

    def forward(self, x):
        return torch.sigmoid(self.shuffle(self.body(x)))


class MultiHead(nn.Module):
    """Heads stacked from a comprehension over a ModuleList; a split with known sizes unpacked."""

    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleList([nn.Linear(5, 3) for _ in range(3)])

    def forward(self, x):
        a, b = x.split([2, 3], dim=1)
        feats = torch.cat([a, b * 2], 1)
        return torch.stack([h(feats) for h in self.heads], dim=1)


class NamedTupleResults(nn.Module):
    def forward(self, x):
        top = x.max(dim=1).values
        idx = x.argmax(dim=1, keepdim=True)
        picked = torch.gather(x, 1, idx).squeeze(1)
        return top - picked + torch.topk(x, 2, dim=1).values.sum(1)


class DtypeOps(nn.Module):
    def forward(self, x):
        mask = (x > 0).float()
        count = mask.sum(1).long()
        y = x.type_as(mask) * mask + count.unsqueeze(1).to(x.dtype)
        return torch.where(y > 1, y, torch.zeros_like(y)).cumsum(1)


class CausalSelfAttention(nn.Module):
    """GPT-style attention: mask buffer sliced to the sequence length, masked_fill with -inf."""

    def __init__(self, d: int = 8, n: int = 6):
        super().__init__()
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.register_buffer("bias", torch.tril(torch.ones(n, n)).view(1, n, n))

    def forward(self, x):
        q, k, v = self.qkv(x).split(x.size(-1), dim=2)
        att = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(k.size(-1))
        T = x.size(1)
        att = att.masked_fill(self.bias[:, :T, :T] == 0, float("-inf"))
        return self.proj(torch.bmm(F.softmax(att, dim=-1), v))


class SDPA(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(8, 24)

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, 2, 4).permute(2, 0, 3, 1, 4).unbind(0)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return out.transpose(1, 2).reshape(b, n, 8)


class AlexNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(OrderedDict([
            ("conv1", nn.Conv2d(3, 4, 3, 2, 1)), ("relu1", nn.ReLU(inplace=True)),
            ("lrn", nn.LocalResponseNorm(2)), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(4, 8, 3, padding=1)), ("gn", nn.GroupNorm(2, 8)), ("relu2", nn.ReLU(inplace=True))]))
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Dropout(), nn.Linear(32, 16), nn.ReLU(inplace=True), nn.Linear(16, 4))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), start_dim=1))


class ActByName(nn.Module):
    """An activation chosen at init by name from a ModuleDict."""

    def __init__(self, kind: str = "gelu"):
        super().__init__()
        self.kind = kind
        self.acts = nn.ModuleDict({"relu": nn.ReLU(), "gelu": nn.GELU(), "silu": nn.SiLU()})
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.acts[self.kind](self.lin(x))


class AuxHead(nn.Module):
    """GoogLeNet-style auxiliary output only while training (the suite runs eval mode)."""

    def __init__(self):
        super().__init__()
        self.body, self.main, self.aux = nn.Linear(4, 6), nn.Linear(6, 2), nn.Linear(6, 2)

    def forward(self, x):
        h = F.relu(self.body(x))
        out = self.main(h)
        if self.training:
            return out, self.aux(h)
        return out


class EmbeddingBagText(nn.Module):
    def __init__(self):
        super().__init__()
        self.bag = nn.EmbeddingBag(20, 6, mode="mean")
        self.fc = nn.Linear(6, 3)

    def forward(self, text, offsets):
        return self.fc(self.bag(text, offsets))


class InstanceNormStyle(nn.Module):
    """Style transfer residual block: reflection padding, instance norm, upsampling by interpolate."""

    def __init__(self):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(3, 3, 3)
        self.norm = nn.InstanceNorm2d(3, affine=True)

    def forward(self, x):
        y = x + self.norm(self.conv(self.pad(x)))
        return F.interpolate(y, scale_factor=2.0, mode="nearest")


class TemporalConvPermute(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 4, 3, padding=1)
        self.norm = nn.LayerNorm(4)

    def forward(self, x):
        y = self.conv(x.permute(0, 2, 1).contiguous()).permute(0, 2, 1)
        return self.norm(y + x).unflatten(-1, (2, 2))


class ShapeAsserts(nn.Module):
    """timm's checks: a plain assert on a size unpacked from x.shape, and torch._assert."""

    def __init__(self):
        super().__init__()
        self.dim = 4
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        B, N, C = x.shape
        assert C == self.dim, "wrong channel count"
        torch._assert(N > 1, "need two tokens")
        return self.lin(x).reshape(B * N, C)


class ListOfSize(nn.Module):
    """A shape copied into a list and changed in place, int() of a size."""

    def forward(self, x):
        s = list(x.shape)
        s[-1] = s[-1] // 2
        return x[..., : s[-1]].reshape(s) + int(x.size(1) / 2)


class IsTensor(nn.Module):
    def forward(self, x):
        if isinstance(x, torch.Tensor):
            x = [x]
        return torch.cat(x, 1)


class SequentialSlice(nn.Module):
    """A slice of a Sequential made in forward (a new Sequential of installed layers)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh())

    def forward(self, x):
        return self.features[:2](x) + self.features[2:](x)


class DictByAssignment(nn.Module):
    """torchvision segmentation style: outputs put into a dict() one key at a time."""

    def __init__(self):
        super().__init__()
        self.out, self.aux = nn.Linear(3, 2), nn.Linear(3, 2)

    def forward(self, x):
        result = dict()
        result["out"] = self.out(x)
        result["aux"] = self.aux(x)
        return result


class TeacherStudent(nn.Module):
    """A teacher run under torch.no_grad()."""

    def __init__(self):
        super().__init__()
        self.teacher, self.student = nn.Linear(6, 3), nn.Linear(6, 3)

    def forward(self, x):
        with torch.no_grad():
            target = self.teacher(x)
        return self.student(x) - target


class PythonMaxOfSizes(nn.Module):
    def forward(self, x):
        k = max(x.size(1) // 2, 1)
        return x[:, :k] * min(x.size(0), 3)


CASES = [
    ("arch_spatial_transformer", SpatialTransformer, t(2, 1, 8, 8)), ("arch_cbam", CBAM, t(2, 8, 5, 5)),
    ("arch_lstm_zero_state", LSTMZeroState, t(2, 4, 3)), ("arch_mbconv_stochastic_depth", lambda: MBConvSD(4), t(1, 4, 5, 5)),
    ("arch_espcn", ESPCN, t(1, 1, 6, 6)), ("arch_alexnet_small", AlexNetSmall, t(1, 3, 16, 16)),
    ("arch_gpt_attention", CausalSelfAttention, t(2, 5, 8)), ("arch_sdpa_attention", SDPA, t(2, 5, 8)),
    ("arch_style_block", InstanceNormStyle, t(1, 3, 6, 6)), ("arch_temporal_conv", TemporalConvPermute, t(2, 5, 4)),
    ("container_multi_head", MultiHead, t(2, 5)), ("container_act_by_name", ActByName, t(2, 4)),
    ("flow_aux_head_eval", AuxHead, t(2, 4)),
    ("idiom_named_tuple_results", NamedTupleResults, t(3, 4)), ("idiom_dtype_ops", DtypeOps, t(3, 4)),
    ("idiom_shape_asserts", ShapeAsserts, t(2, 3, 4)), ("shape_list_of_size", ListOfSize, t(2, 4, 6)),
    ("idiom_isinstance_tensor", IsTensor, t(2, 3)), ("container_sequential_slice", SequentialSlice, t(2, 3)),
    ("container_dict_by_assignment", DictByAssignment, t(2, 3)), ("idiom_no_grad_teacher", TeacherStudent, t(2, 6)),
    ("shape_python_max", PythonMaxOfSizes, t(2, 6)),
    ("idiom_embedding_bag", EmbeddingBagText, lambda: (torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 4]))),
]
