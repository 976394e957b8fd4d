"""Conformance suite, part 2: control flow, containers, default arguments, modules as init arguments,
shared children and TorchScript-specific constructs (tiny sizes)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


def t(*shape):
    return lambda: (torch.randn(*shape),)


# ---- control flow -------------------------------------------------------------------------------------
class AttrBranch(nn.Module):
    def __init__(self, use_scale: bool = True):
        super().__init__()
        self.use_scale = use_scale
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        y = self.lin(x)
        if self.use_scale:
            y = y * 0.5
        else:
            y = y - 1
        return y


class EarlyReturn(nn.Module):
    def __init__(self, mode: str = "project"):
        super().__init__()
        self.mode = mode
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        if self.mode == "identity":
            return x
        y = self.lin(x)
        if self.mode == "double":
            return y * 2
        return y + x


class ResidualEveryOther(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(4)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            y = F.gelu(layer(x))
            x = x + y if i % 2 == 1 else y
        return x


class RangeLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.n = 3
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        for _ in range(self.n):
            x = torch.relu(self.lin(x)) + x
        return x


class WhileLoop(nn.Module):
    def __init__(self):
        super().__init__()
        self.steps = 2
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        i = 0
        while i < self.steps:
            x = self.lin(x)
            i += 1
        return x


class DataDependent(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x * 2
        return -x


# ---- forward default arguments ------------------------------------------------------------------------
class DefaultNone(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, y: Optional[Tensor] = None):
        out = self.lin(x)
        if y is not None:
            out = out + y
        return out


class DefaultNumbers(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, alpha: float = 0.5, n: int = 2):
        for _ in range(n):
            x = self.lin(x) * alpha
        return x


class DefaultGiven(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, scale: float = 2.0):
        return self.lin(x) * scale


class MaskPassThrough(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x, mask: Optional[Tensor] = None):
        return self.attn(x, x, x, attn_mask=mask, need_weights=False)[0]


class KwOnlyChild(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x, *, residual: bool = True):
        return self.lin(x) + x if residual else self.lin(x)


class KwOnlyParent(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = KwOnlyChild()

    def forward(self, x):
        return self.a(x) + self.a(x, residual=False)


# ---- containers ---------------------------------------------------------------------------------------
class DictHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})

    def forward(self, x) -> Dict[str, Tensor]:
        return {name: head(x) for name, head in self.heads.items()}


class ListSlicing(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])

    def forward(self, x):
        x = self.layers[0](x)
        for layer in self.layers[1:]:
            x = torch.tanh(layer(x))
        return self.layers[-1](x)


class NamedSequential(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(OrderedDict([
            ("conv", nn.Conv2d(2, 3, 3, padding=1)), ("bn", nn.BatchNorm2d(3)), ("act", nn.ReLU()),
            ("inner", nn.Sequential(nn.Conv2d(3, 3, 1), nn.Sigmoid()))]))

    def forward(self, x):
        return self.body(x) * self.body.conv(x)


class ParamContainers(nn.Module):
    def __init__(self):
        super().__init__()
        self.scales = nn.ParameterList([nn.Parameter(torch.randn(3)) for _ in range(2)])
        self.named = nn.ParameterDict({"shift": nn.Parameter(torch.randn(3))})

    def forward(self, x):
        for s in self.scales:
            x = x * s
        return x + self.named["shift"]


class ZipLists(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3)])
        self.b = nn.ModuleList([nn.LayerNorm(3), nn.LayerNorm(3)])

    def forward(self, x):
        for lin, norm in zip(self.a, self.b):
            x = norm(lin(x))
        return x


class ConvBNAct(nn.Sequential):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


class SequentialSubclass(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = ConvBNAct(2, 4, 2)
        self.body = ConvBNAct(4, 4)

    def forward(self, x):
        return self.body(self.stem(x))


class LinearSubclass(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


class UsesSubclass(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = LinearSubclass(3, 2)

    def forward(self, x):
        return self.lin(x)


class HelperMethods(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    @staticmethod
    def _gate(x):
        return x * torch.sigmoid(x)

    def _branch(self, x, layer: nn.Module):
        return self._gate(layer(x))

    def forward(self, x):
        return self._branch(x, self.a) + self._branch(x, self.b)


# ---- modules as init arguments ------------------------------------------------------------------------
class TorchTransformerEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)

    def forward(self, x):
        return self.encoder(x)


class TorchTransformerDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        layer = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, activation=nn.GELU(), batch_first=True)
        self.decoder = nn.TransformerDecoder(layer, 2)

    def forward(self, tgt, memory):
        return self.decoder(tgt, memory)


class TorchTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Transformer(8, 2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16,
                                    dropout=0.0)

    def forward(self, src, tgt):
        return self.model(src, tgt)


class ResidualWrap(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return x + self.fn(x)


class UserModuleArgs(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(ResidualWrap(nn.Linear(3, 3)), ResidualWrap(nn.Sequential(nn.ReLU(), nn.Linear(3, 3))))

    def forward(self, x):
        return self.blocks(x)


# ---- shared children ----------------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return torch.relu(self.lin(x))


class CallThroughParent(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()

    def forward(self, x):
        return self.block(x) + self.block.lin(x)


class TiedEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.embed(tokens))


class SharedAcrossChildren(nn.Module):
    def __init__(self):
        super().__init__()
        shared = nn.Linear(3, 3)
        self.left = nn.Sequential(shared, nn.ReLU())
        self.right = nn.Sequential(nn.Tanh(), shared)

    def forward(self, x):
        return self.left(x) + self.right(x)


# ---- TorchScript-specific constructs ------------------------------------------------------------------
class Stats:
    def __init__(self, mean: Tensor, std: Tensor):
        self.mean = mean
        self.std = std

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.mean) / (self.std + 1e-5)


class UsesObject(nn.Module):
    def forward(self, x):
        s = Stats(x.mean(), x.std())
        return s.normalize(x)


class ClampGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clamp(-1.0, 1.0)

    @staticmethod
    def backward(ctx, grad):
        return grad


class UsesAutogradFunction(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return ClampGrad.apply(self.lin(x) * 3)


class ListOfOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.stages = nn.ModuleList([nn.Conv2d(2, 2, 3, padding=1) for _ in range(3)])

    def forward(self, x) -> List[Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


CASES = [
    ("flow_attr_branch", AttrBranch, t(2, 3)), ("flow_attr_branch_else", lambda: AttrBranch(False), t(2, 3)),
    ("flow_early_return", EarlyReturn, t(2, 3)), ("flow_early_return_double", lambda: EarlyReturn("double"), t(2, 3)),
    ("flow_early_return_identity", lambda: EarlyReturn("identity"), t(2, 3)),
    ("flow_residual_every_other", ResidualEveryOther, t(2, 4)), ("flow_range_loop", RangeLoop, t(2, 3)),
    ("flow_while_loop", WhileLoop, t(2, 3)), ("flow_data_dependent", DataDependent, t(2, 3)),
    ("default_none", DefaultNone, t(2, 3)), ("default_numbers", DefaultNumbers, t(2, 3)),
    ("default_given", DefaultGiven, lambda: (torch.randn(2, 3), 3.0)),
    ("default_mask_given", MaskPassThrough, lambda: (torch.randn(2, 3, 4), torch.zeros(3, 3))),
    ("default_mask_omitted", MaskPassThrough, t(2, 3, 4)), ("default_kwonly_child", KwOnlyParent, t(2, 3)),
    ("container_dict_heads", DictHeads, t(2, 4)), ("container_list_slicing", ListSlicing, t(2, 3)),
    ("container_named_sequential", NamedSequential, t(1, 2, 4, 4)), ("container_params", ParamContainers, t(2, 3)),
    ("container_zip", ZipLists, t(2, 3)), ("container_sequential_subclass", SequentialSubclass, t(1, 2, 6, 6)),
    ("container_linear_subclass", UsesSubclass, t(2, 3)), ("container_helper_methods", HelperMethods, t(2, 3)),
    ("initarg_transformer_encoder", TorchTransformerEncoder, t(2, 5, 8)),
    ("initarg_transformer_decoder", TorchTransformerDecoder, lambda: (torch.randn(2, 4, 8), torch.randn(2, 5, 8))),
    ("initarg_transformer", TorchTransformer, lambda: (torch.randn(5, 2, 8), torch.randn(4, 2, 8))),
    ("initarg_user_modules", UserModuleArgs, t(2, 3)),
    ("shared_call_through_parent", CallThroughParent, t(2, 3)),
    ("shared_tied_embedding", TiedEmbedding, lambda: (torch.randint(0, 10, (2, 4)),)),
    ("shared_across_children", SharedAcrossChildren, t(2, 3)),
    ("ts_create_object", UsesObject, t(2, 3)), ("ts_autograd_function", UsesAutogradFunction, t(2, 3)),
    ("container_list_outputs", ListOfOutputs, t(1, 2, 4, 4)),
]
