"""Round-trip cases for the conformance suite: (id, module factory, input factory)."""
from __future__ import annotations

import linecache
from typing import Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


class Fn(nn.Module):
    """Wraps one tensor expression; each case is a subclass so TorchScript sees a plain forward."""


def _fn_case(name, body, arity=1):
    ns: Dict = {"torch": torch, "F": F, "Fn": Fn}
    ann = ", ".join(f"x{i}: torch.Tensor" for i in range(arity))
    src = f"class Case_{name}(Fn):\n    def forward(self, {ann}):\n        return {body}\n"
    filename = f"<graph-case-{name}>"
    # TorchScript reads source through inspect/linecache: register the generated text there
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), ns)
    cls = ns[f"Case_{name}"]
    cls.__module__ = __name__
    globals()[cls.__name__] = cls
    return cls


X = lambda *s: (lambda: (torch.randn(*s),))  # noqa: E731
X2 = lambda *s: (lambda: (torch.randn(*s), torch.randn(*s)))  # noqa: E731

OPS: List[Tuple[str, str, int, object]] = [
    # arithmetic
    ("add", "x0 + x1", 2, X2(2, 3)), ("sub", "x0 - x1", 2, X2(2, 3)), ("mul", "x0 * x1", 2, X2(2, 3)),
    ("div", "x0 / (x1.abs() + 1)", 2, X2(2, 3)), ("pow", "x0 ** 2", 1, X(2, 3)), ("neg", "-x0", 1, X(2, 3)),
    ("scalar", "x0 * 2.5 + 1", 1, X(2, 3)), ("rsub", "1 - x0", 1, X(2, 3)), ("matmul", "x0 @ x1.t()", 2, X2(2, 3)),
    ("addcmul", "torch.addcmul(x0, x0, x1, value=0.5)", 2, X2(2, 3)), ("exp", "torch.exp(x0)", 1, X(2, 3)),
    ("log", "torch.log(x0.abs() + 1)", 1, X(2, 3)), ("sqrt", "torch.sqrt(x0.abs())", 1, X(2, 3)),
    ("clamp", "torch.clamp(x0, -0.5, 0.5)", 1, X(2, 3)), ("abs", "x0.abs()", 1, X(2, 3)),
    ("floor", "torch.floor(x0)", 1, X(2, 3)), ("round", "torch.round(x0)", 1, X(2, 3)),
    ("where", "torch.where(x0 > 0, x0, x1)", 2, X2(2, 3)), ("maximum", "torch.maximum(x0, x1)", 2, X2(2, 3)),
    ("lerp", "torch.lerp(x0, x1, 0.3)", 2, X2(2, 3)), ("bmm", "torch.bmm(x0, x1.transpose(1, 2))", 2, X2(2, 3, 4)),
    ("einsum", "torch.einsum('bij,bkj->bik', x0, x1)", 2, X2(2, 3, 4)),
    # reductions
    ("sum", "x0.sum()", 1, X(2, 3)), ("sum_dim", "x0.sum(dim=1, keepdim=True)", 1, X(2, 3)),
    ("mean", "x0.mean(1)", 1, X(2, 3)), ("amax", "torch.amax(x0, dim=1)", 1, X(2, 3)),
    ("max_dim", "torch.max(x0, dim=1)[0]", 1, X(2, 3)), ("argmax", "torch.argmax(x0, dim=1)", 1, X(2, 3)),
    ("std", "x0.std(dim=0)", 1, X(4, 3)), ("var", "torch.var(x0, 1)", 1, X(2, 5)), ("prod", "x0.prod(1)", 1, X(2, 3)),
    ("norm", "torch.linalg.vector_norm(x0, dim=1)", 1, X(2, 3)), ("logsumexp", "torch.logsumexp(x0, 1)", 1, X(2, 3)),
    ("cumsum", "torch.cumsum(x0, dim=1)", 1, X(2, 3)), ("topk", "torch.topk(x0, 2)[0]", 1, X(2, 5)),
    ("sort", "torch.sort(x0, dim=1)[0]", 1, X(2, 5)),
    # indexing and slicing
    ("index", "x0[0]", 1, X(3, 4)), ("slice", "x0[:, 1:3]", 1, X(3, 4)), ("step", "x0[::2]", 1, X(5, 4)),
    ("neg_index", "x0[-1]", 1, X(3, 4)), ("ellipsis", "x0[..., 0]", 1, X(2, 3, 4)),
    ("none_index", "x0[:, None]", 1, X(3, 4)), ("select", "x0.select(1, 2)", 1, X(3, 4)),
    ("narrow", "x0.narrow(1, 1, 2)", 1, X(3, 4)), ("gather", "torch.gather(x0, 1, x0.argsort(1))", 1, X(3, 4)),
    ("index_select", "torch.index_select(x0, 0, torch.tensor([0, 2]))", 1, X(3, 4)),
    ("masked_fill", "x0.masked_fill(x0 > 0, 0.0)", 1, X(3, 4)), ("tril", "torch.tril(x0)", 1, X(4, 4)),
    # views and reshapes
    ("view", "x0.view(6, 2)", 1, X(3, 4)), ("reshape", "x0.reshape(-1)", 1, X(3, 4)),
    ("flatten", "torch.flatten(x0, 1)", 1, X(2, 3, 4)), ("permute", "x0.permute(2, 0, 1)", 1, X(2, 3, 4)),
    ("transpose", "x0.transpose(0, 1)", 1, X(3, 4)), ("unsqueeze", "x0.unsqueeze(0)", 1, X(3, 4)),
    ("squeeze", "x0.squeeze(1)", 1, X(3, 1, 4)), ("expand", "x0.expand(3, 4)", 1, X(1, 4)),
    ("repeat", "x0.repeat(2, 1)", 1, X(3, 4)), ("contiguous", "x0.t().contiguous()", 1, X(3, 4)),
    ("size_view", "x0.view(x0.size(0), -1)", 1, X(2, 3, 4)), ("shape_reshape", "x0.reshape(x0.shape[0], -1)", 1, X(2, 3, 4)),
    ("flip", "torch.flip(x0, [1])", 1, X(3, 4)), ("roll", "torch.roll(x0, 1, 1)", 1, X(3, 4)),
    # concatenation / splitting
    ("cat", "torch.cat([x0, x1], dim=1)", 2, X2(2, 3)), ("stack", "torch.stack([x0, x1])", 2, X2(2, 3)),
    ("chunk", "torch.chunk(x0, 2, 1)[1]", 1, X(2, 4)), ("split", "torch.split(x0, 1, 0)[0]", 1, X(2, 4)),
    ("unbind", "torch.unbind(x0, 0)[1]", 1, X(2, 4)), ("hstack", "torch.hstack([x0, x1])", 2, X2(2, 3)),
    # comparisons
    ("gt", "x0 > x1", 2, X2(2, 3)), ("eq", "x0 == x0", 1, X(2, 3)), ("lt_scalar", "x0 < 0.1", 1, X(2, 3)),
    ("ne", "x0 != x1", 2, X2(2, 3)), ("isclose", "torch.isclose(x0, x1)", 2, X2(2, 3)),
    ("logical", "torch.logical_and(x0 > 0, x1 > 0)", 2, X2(2, 3)),
    # activations
    ("relu", "F.relu(x0)", 1, X(2, 3)), ("gelu", "F.gelu(x0)", 1, X(2, 3)), ("silu", "F.silu(x0)", 1, X(2, 3)),
    ("sigmoid", "torch.sigmoid(x0)", 1, X(2, 3)), ("tanh", "torch.tanh(x0)", 1, X(2, 3)),
    ("softmax", "F.softmax(x0, dim=-1)", 1, X(2, 3)), ("log_softmax", "F.log_softmax(x0, dim=1)", 1, X(2, 3)),
    ("leaky", "F.leaky_relu(x0, 0.2)", 1, X(2, 3)), ("elu", "F.elu(x0)", 1, X(2, 3)),
    ("hardswish", "F.hardswish(x0)", 1, X(2, 3)), ("softplus", "F.softplus(x0)", 1, X(2, 3)),
    ("relu_method", "x0.relu()", 1, X(2, 3)), ("relu6", "F.relu6(x0)", 1, X(2, 3)),
    # normalisation
    ("layer_norm_f", "F.layer_norm(x0, [3])", 1, X(2, 3)), ("normalize", "F.normalize(x0, dim=1)", 1, X(2, 3)),
    ("group_norm_f", "F.group_norm(x0, 2)", 1, X(2, 4, 3)),
    ("batch_norm_f", "F.batch_norm(x0, torch.zeros(3), torch.ones(3))", 1, X(2, 3)),
    # pooling
    ("max_pool", "F.max_pool2d(x0, 2)", 1, X(1, 2, 4, 4)), ("avg_pool", "F.avg_pool2d(x0, 2)", 1, X(1, 2, 4, 4)),
    ("adaptive", "F.adaptive_avg_pool2d(x0, 1)", 1, X(1, 2, 4, 4)), ("max_pool1d", "F.max_pool1d(x0, 2)", 1, X(1, 2, 4)),
    # convolutions, padding, misc functional
    ("conv_f", "F.conv2d(x0, torch.ones(2, 2, 1, 1))", 1, X(1, 2, 4, 4)), ("pad", "F.pad(x0, [1, 1])", 1, X(2, 3)),
    ("pad_reflect", "F.pad(x0, [1, 1, 1, 1], mode='reflect')", 1, X(1, 1, 3, 3)),
    ("interpolate", "F.interpolate(x0, scale_factor=2.0, mode='nearest')", 1, X(1, 1, 2, 2)),
    ("pixel_shuffle", "F.pixel_shuffle(x0, 2)", 1, X(1, 4, 2, 2)), ("dropout_eval", "F.dropout(x0, 0.5, False)", 1, X(2, 3)),
    ("linear_f", "F.linear(x0, x1)", 2, X2(3, 3)), ("one_hot", "F.one_hot(x0.argmax(1), 4)", 1, X(2, 4)),
    ("sdpa", "F.scaled_dot_product_attention(x0, x0, x1)", 2, X2(1, 2, 3, 4)),
    ("zeros_like", "torch.zeros_like(x0) + x0", 1, X(2, 3)), ("ones", "torch.ones(2, 3) * x0", 1, X(2, 3)),
    ("arange", "x0 + torch.arange(3)", 1, X(2, 3)), ("to_dtype", "x0.to(torch.float64)", 1, X(2, 3)),
    ("float_cast", "(x0 > 0).float()", 1, X(2, 3)), ("tuple_out", "(x0 + 1, x0 * 2)", 1, X(2, 3)),
    ("list_out", "[x0, x0 - 1]", 1, X(2, 3)), ("dict_out", "{'a': x0, 'b': x0.sum()}", 1, X(2, 3)),
]
FN_CASES = [(f"op_{n}", _fn_case(n, body, arity), inp) for n, body, arity, inp in OPS]


def _layer(name: str, make, inputs):
    return (f"layer_{name}", make, inputs)


class LayerWrap(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)


def _w(factory):
    return lambda: LayerWrap(factory())


LAYERS = [
    _layer("linear", _w(lambda: nn.Linear(3, 4)), X(2, 3)), _layer("linear_nobias", _w(lambda: nn.Linear(3, 4, bias=False)), X(2, 3)),
    _layer("bilinear_id", _w(lambda: nn.Identity()), X(2, 3)),
    _layer("conv1d", _w(lambda: nn.Conv1d(2, 3, 3, padding=1)), X(1, 2, 5)),
    _layer("conv2d", _w(lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1)), X(1, 2, 6, 6)),
    _layer("conv2d_groups", _w(lambda: nn.Conv2d(4, 4, 3, groups=4, bias=False)), X(1, 4, 5, 5)),
    _layer("conv2d_dilated", _w(lambda: nn.Conv2d(2, 2, 3, dilation=2, padding_mode="reflect", padding=2)), X(1, 2, 6, 6)),
    _layer("conv3d", _w(lambda: nn.Conv3d(1, 2, 2)), X(1, 1, 3, 3, 3)),
    _layer("convT1d", _w(lambda: nn.ConvTranspose1d(2, 2, 3, stride=2)), X(1, 2, 4)),
    _layer("convT2d", _w(lambda: nn.ConvTranspose2d(2, 3, 2, stride=2, output_padding=0)), X(1, 2, 3, 3)),
    _layer("bn1d", _w(lambda: nn.BatchNorm1d(3)), X(4, 3)), _layer("bn2d", _w(lambda: nn.BatchNorm2d(2, momentum=0.3)), X(2, 2, 3, 3)),
    _layer("ln", _w(lambda: nn.LayerNorm(3, eps=1e-3)), X(2, 3)), _layer("ln_noaffine", _w(lambda: nn.LayerNorm([2, 3], elementwise_affine=False)), X(2, 2, 3)),
    _layer("gn", _w(lambda: nn.GroupNorm(2, 4)), X(2, 4, 3)), _layer("in2d", _w(lambda: nn.InstanceNorm2d(2, affine=True)), X(1, 2, 3, 3)),
    _layer("maxpool", _w(lambda: nn.MaxPool2d(2, stride=1)), X(1, 1, 4, 4)), _layer("avgpool", _w(lambda: nn.AvgPool2d(2)), X(1, 1, 4, 4)),
    _layer("adaptive_max", _w(lambda: nn.AdaptiveMaxPool2d((2, 1))), X(1, 1, 4, 4)),
    _layer("adaptive_avg", _w(lambda: nn.AdaptiveAvgPool1d(2)), X(1, 2, 4)),
    _layer("zeropad", _w(lambda: nn.ZeroPad2d(1)), X(1, 1, 2, 2)), _layer("reflpad", _w(lambda: nn.ReflectionPad1d(1)), X(1, 1, 3)),
    _layer("constpad", _w(lambda: nn.ConstantPad1d(2, 0.5)), X(1, 1, 3)),
    _layer("embedding", _w(lambda: nn.Embedding(10, 3, padding_idx=0)), lambda: (torch.tensor([[1, 2, 0]]),)),
    _layer("embbag", _w(lambda: nn.EmbeddingBag(10, 3, mode="sum")), lambda: (torch.tensor([[1, 2, 0]]),)),
    _layer("relu", _w(lambda: nn.ReLU()), X(2, 3)), _layer("prelu", _w(lambda: nn.PReLU(3)), X(2, 3)),
    _layer("gelu", _w(lambda: nn.GELU(approximate="tanh")), X(2, 3)), _layer("softmax", _w(lambda: nn.Softmax(dim=1)), X(2, 3)),
    _layer("leaky", _w(lambda: nn.LeakyReLU(0.3)), X(2, 3)), _layer("hardtanh", _w(lambda: nn.Hardtanh(-0.5, 0.5)), X(2, 3)),
    _layer("dropout", _w(lambda: nn.Dropout(0.2)), X(2, 3)), _layer("flatten", _w(lambda: nn.Flatten()), X(2, 3, 2)),
    _layer("unflatten", _w(lambda: nn.Unflatten(1, (2, 3))), X(2, 6)),
    _layer("upsample", _w(lambda: nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)), X(1, 1, 2, 2)),
    _layer("pixelshuffle", _w(lambda: nn.PixelShuffle(2)), X(1, 4, 2, 2)),
    _layer("mha", lambda: MHAWrap(), X(2, 3, 4)),
    _layer("encoder_layer", _w(lambda: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True)), X(2, 3, 4)),
    _layer("lstm", lambda: RNNWrap(nn.LSTM(3, 4, num_layers=2, batch_first=True)), X(2, 5, 3)),
    _layer("gru", lambda: RNNWrap(nn.GRU(3, 4, bidirectional=True)), X(5, 2, 3)),
    _layer("rnn", lambda: RNNWrap(nn.RNN(3, 4, nonlinearity="relu")), X(5, 2, 3)),
]


class MHAWrap(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)

    def forward(self, x):
        out, weights = self.attn(x, x, x)
        return out, weights


class RNNWrap(nn.Module):
    def __init__(self, rnn: nn.Module) -> None:
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out, _ = self.rnn(x)
        return out
