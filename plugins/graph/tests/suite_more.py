"""Conformance suite, part 5: more whole architectures written the way public code writes them (torchvision /
timm / tutorial style), and more of the constructs real models use (default arguments, modules taking
modules, shapes as values, item assignment, autograd Functions, shared children, tied weights)."""
from __future__ import annotations

import math
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def t(*shape):
    return lambda: (torch.randn(*shape),)


def tokens(n, *shape):
    return lambda: (torch.randint(0, n, shape),)


# ---- whole architectures --------------------------------------------------------------------------------
class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet18(nn.Module):
    """torchvision's ResNet-18 layout (widths divided by 16), built by _make_layer."""

    def __init__(self, num_classes: int = 5):
        super().__init__()
        self.inplanes = 4
        self.conv1 = nn.Conv2d(3, 4, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(4, 2)
        self.layer2 = self._make_layer(8, 2, stride=2)
        self.layer3 = self._make_layer(16, 2, stride=2)
        self.layer4 = self._make_layer(32, 2, stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(32, num_classes)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):  # non-trivial running stats, as after training
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)

    def forward(self, x):
        return self._forward_impl(x)


def _make_divisible(v: float, divisor: int = 4) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class SqueezeExcitation(nn.Module):
    def __init__(self, c: int, squeeze: int, activation=nn.ReLU, scale_activation=nn.Hardsigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1, self.fc2 = nn.Conv2d(c, squeeze, 1), nn.Conv2d(squeeze, c, 1)
        self.activation, self.scale_activation = activation(), scale_activation()

    def _scale(self, x):
        return self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))

    def forward(self, x):
        return self._scale(x) * x


class InvertedResidualV3(nn.Module):
    def __init__(self, cin: int, k: int, exp: int, cout: int, use_se: bool, act: str, stride: int):
        super().__init__()
        self.use_res_connect = stride == 1 and cin == cout
        activation = nn.Hardswish if act == "HS" else nn.ReLU
        layers: List[nn.Module] = []
        if exp != cin:
            layers += [nn.Conv2d(cin, exp, 1, bias=False), nn.BatchNorm2d(exp), activation()]
        layers += [nn.Conv2d(exp, exp, k, stride, (k - 1) // 2, groups=exp, bias=False), nn.BatchNorm2d(exp), activation()]
        if use_se:
            layers.append(SqueezeExcitation(exp, _make_divisible(exp // 4)))
        layers += [nn.Conv2d(exp, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        result = self.block(x)
        if self.use_res_connect:
            result += x
        return result


class MobileNetV3(nn.Module):
    def __init__(self):
        super().__init__()
        cfg = [(8, 3, 8, 8, True, "RE", 2), (8, 3, 24, 12, False, "RE", 2), (12, 3, 36, 12, False, "RE", 1),
               (12, 5, 48, 16, True, "HS", 2), (16, 5, 64, 16, True, "HS", 1)]
        layers: List[nn.Module] = [nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish())]
        layers += [InvertedResidualV3(*c) for c in cfg]
        layers.append(nn.Sequential(nn.Conv2d(16, 48, 1, bias=False), nn.BatchNorm2d(48), nn.Hardswish()))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(48, 32), nn.Hardswish(inplace=True), nn.Dropout(0.2, inplace=True),
                                        nn.Linear(32, 5))

    def forward(self, x):
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class UNetInterp(nn.Module):
    """A U-Net whose decoder resizes to the skip's spatial size (x.shape[-2:]) before concatenating."""

    def __init__(self):
        super().__init__()
        self.enc = nn.ModuleList([nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 8, 3, padding=1), nn.Conv2d(8, 16, 3, padding=1)])
        self.dec = nn.ModuleList([nn.Conv2d(16 + 8, 8, 3, padding=1), nn.Conv2d(8 + 4, 4, 3, padding=1)])
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        skips = []
        for i, conv in enumerate(self.enc):
            x = F.relu(conv(x))
            if i < len(self.enc) - 1:
                skips.append(x)
                x = F.max_pool2d(x, 2)
        for conv, skip in zip(self.dec, skips[::-1]):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = F.relu(conv(torch.cat([x, skip], dim=1)))
        return self.head(x)


class DenseLayerCat(nn.Module):
    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.norm, self.conv = nn.BatchNorm2d(cin), nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, prev: List[torch.Tensor]) -> torch.Tensor:
        return self.conv(F.relu(self.norm(torch.cat(prev, 1))))


class DenseNetList(nn.Module):
    """torchvision-style dense block: every layer gets the list of all earlier feature maps."""

    def __init__(self, growth: int = 3, n: int = 3):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1)
        self.layers = nn.ModuleList([DenseLayerCat(4 + i * growth, growth) for i in range(n)])
        self.trans = nn.Sequential(nn.BatchNorm2d(4 + n * growth), nn.ReLU(), nn.Conv2d(4 + n * growth, 4, 1),
                                   nn.AvgPool2d(2))

    def forward(self, x):
        features = [self.stem(x)]
        for layer in self.layers:
            features.append(layer(features))
        return self.trans(torch.cat(features, 1))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    batchsize, num_channels, height, width = x.size()
    x = x.view(batchsize, groups, num_channels // groups, height, width)
    return torch.transpose(x, 1, 2).contiguous().view(batchsize, -1, height, width)


class ShuffleV2Unit(nn.Module):
    def __init__(self, c: int, stride: int):
        super().__init__()
        self.stride = stride
        half = c // 2
        cin = c if stride > 1 else half
        if stride > 1:
            self.branch1 = nn.Sequential(nn.Conv2d(c, c, 3, stride, 1, groups=c, bias=False), nn.BatchNorm2d(c),
                                         nn.Conv2d(c, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))
        else:
            self.branch1 = nn.Sequential()
        self.branch2 = nn.Sequential(nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
                                     nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
                                     nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True))

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.stage2 = nn.Sequential(ShuffleV2Unit(8, 2), ShuffleV2Unit(8, 1))
        self.stage3 = nn.Sequential(ShuffleV2Unit(8, 2), ShuffleV2Unit(8, 1), ShuffleV2Unit(8, 1))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.stage3(self.stage2(self.conv1(x)))
        return self.fc(x.mean([2, 3]))


class FPNZip(nn.Module):
    """Feature pyramid: laterals zipped with backbone levels, top-down by interpolation to each level's size."""

    def __init__(self):
        super().__init__()
        chans = [4, 8, 16]
        self.body = nn.ModuleList([nn.Conv2d(3 if i == 0 else chans[i - 1], c, 3, 2, 1) for i, c in enumerate(chans)])
        self.lateral = nn.ModuleList([nn.Conv2d(c, 6, 1) for c in chans])
        self.smooth = nn.ModuleList([nn.Conv2d(6, 6, 3, padding=1) for _ in chans])

    def forward(self, x):
        feats = []
        for conv in self.body:
            x = F.relu(conv(x))
            feats.append(x)
        lats = [lat(f) for lat, f in zip(self.lateral, feats)]
        top = lats[-1]
        outs = [top]
        for lat in lats[-2::-1]:
            top = lat + F.interpolate(top, size=lat.shape[-2:], mode="nearest")
            outs.insert(0, top)
        return [s(o) for s, o in zip(self.smooth, outs)]


class ConditionalGenerator(nn.Module):
    """cGAN generator: the label's embedding joins the noise, reshaped to a 1x1 map sized from the batch."""

    def __init__(self, nz: int = 4, classes: int = 3, ngf: int = 4):
        super().__init__()
        self.label_emb = nn.Embedding(classes, classes)
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz + classes, ngf * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2), nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z, labels):
        x = torch.cat([z, self.label_emb(labels)], 1)
        return self.main(x.view(z.size(0), -1, 1, 1))


class Seq2SeqLSTM(nn.Module):
    """Encoder LSTM state handed to a decoder LSTM (tuples of tensors between modules)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 6)
        self.enc = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.dec = nn.LSTM(6, 8, num_layers=2, batch_first=True)
        self.out = nn.Linear(8, 11)

    def forward(self, src, tgt):
        _, (h, c) = self.enc(self.emb(src))
        y, _ = self.dec(self.emb(tgt), (h, c))
        return self.out(y)


class BiGRUEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 5, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(10, 2)

    def forward(self, x):
        _, h = self.gru(x)
        return self.fc(torch.cat((h[-2], h[-1]), dim=1))


class PatchEmbed(nn.Module):
    def __init__(self, patch: int, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViTClsToken(nn.Module):
    """ViT from torch blocks: class token expanded to the batch, learned positions, TransformerEncoder + norm."""

    def __init__(self, dim: int = 8, depth: int = 2):
        super().__init__()
        self.patch = PatchEmbed(4, dim)
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, 5, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, 2, dim * 2, dropout=0.1, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False)
        self.head = nn.Linear(dim, 3)

    def forward(self, x):
        x = self.patch(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos
        return self.head(self.encoder(x)[:, 0])


class Attention(nn.Module):
    """timm-style attention: shapes unpacked from x.shape, qkv reshaped and permuted, scaled dot product."""

    def __init__(self, dim: int, heads: int = 2):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv, self.proj = nn.Linear(dim, dim * 3), nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class MlpBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.norm1, self.attn = nn.LayerNorm(dim), Attention(dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class TimmViT(nn.Module):
    def __init__(self, dim: int = 8):
        super().__init__()
        self.patch = PatchEmbed(4, dim)
        self.blocks = nn.Sequential(*[MlpBlock(dim) for _ in range(2)])
        self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, 3)

    def forward(self, x):
        return self.head(self.norm(self.blocks(self.patch(x))).mean(dim=1))


class Seq2SeqTransformer(nn.Module):
    """nn.Transformer with a causal mask made from the target's length."""

    def __init__(self):
        super().__init__()
        self.src_emb, self.tgt_emb = nn.Embedding(9, 8), nn.Embedding(9, 8)
        self.transformer = nn.Transformer(8, 2, 1, 1, 16, dropout=0.1, batch_first=True)
        self.out = nn.Linear(8, 9)

    def forward(self, src, tgt):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.size(1))
        return self.out(self.transformer(self.src_emb(src), self.tgt_emb(tgt), tgt_mask=mask))


class GetattrLayers(nn.Module):
    """Stages reached by name in a loop (getattr(self, f"layer{i}"))."""

    def __init__(self):
        super().__init__()
        for i in range(1, 4):
            setattr(self, f"layer{i}", nn.Sequential(nn.Linear(4, 4), nn.ReLU()))

    def forward(self, x):
        for i in range(1, 4):
            x = getattr(self, f"layer{i}")(x)
        return x


# ---- default arguments ----------------------------------------------------------------------------------
class ReturnFeatures(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x, return_features: bool = False):
        f = F.relu(self.body(x))
        out = self.head(f)
        if return_features:
            return out, f
        return out


class TempScaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 4)

    def forward(self, x, temperature: float = 2.0, dim: int = -1):
        return F.softmax(self.lin(x) / temperature, dim=dim)


class ChildDefaults(nn.Module):
    """A child whose forward has defaults, called with and without them."""

    def __init__(self):
        super().__init__()
        self.block = TempScaled()

    def forward(self, x):
        return self.block(x) + self.block(x, 0.5)


# ---- modules taking modules -----------------------------------------------------------------------------
class PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module):
        super().__init__()
        self.norm, self.fn = nn.LayerNorm(dim), fn

    def forward(self, x, **kwargs):
        return self.fn(self.norm(x), **kwargs)


class Residual(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


class PreNormStack(nn.Module):
    def __init__(self, dim: int = 6):
        super().__init__()
        self.layers = nn.ModuleList([Residual(PreNorm(dim, nn.Sequential(nn.Linear(dim, 12), nn.GELU(), nn.Linear(12, dim))))
                                     for _ in range(2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class BlockFactory(nn.Module):
    """Blocks built from a class and a norm-layer factory passed in (torchvision's norm_layer argument)."""

    def __init__(self, block=BasicBlock, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), norm_layer(4))
        self.block = block(4, 4)

    def forward(self, x):
        return self.block(F.relu(self.stem(x)))


# ---- shapes as values -----------------------------------------------------------------------------------
class ShapeArithmetic(nn.Module):
    def forward(self, x):
        b, c = x.size(0), x.size(1)
        flat = x.view(b, -1)
        pos = torch.arange(flat.shape[1], device=x.device).float() / flat.shape[1]
        fill = x.new_full((b, 1), 0.5)
        zeros = torch.zeros_like(flat[:, :1]).expand(-1, c)
        return torch.cat([flat + pos, fill, zeros], 1) * math.sqrt(c)


class ReshapeHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        y = self.lin(x)
        y = y.reshape(y.shape[0], y.shape[1], 2, -1).transpose(1, 2)
        return y.reshape(x.size(0), x.size(1), -1)


class ScaleFactorUp(nn.Module):
    def forward(self, x):
        up = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.adaptive_avg_pool2d(up, (x.size(2), x.size(3))) - x


# ---- item assignment ------------------------------------------------------------------------------------
class SliceAssign(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        out = torch.zeros(x.size(0), 5)
        out[:, :2] = self.lin(x)
        out[:, 2:] = x
        out[..., -1] += 1.0
        return out


class MaskedAssign(nn.Module):
    def forward(self, x):
        y = x.clone()
        y[y < 0] = 0.0
        y.masked_fill_(y > 1, 1.0)
        idx = torch.tensor([0, 2])
        y.index_put_((idx,), torch.ones(2, x.size(1)), accumulate=True)
        return y


# ---- autograd functions ---------------------------------------------------------------------------------
class RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


class ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale: float):
        ctx.scale = scale
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


class Quantized(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return RoundSTE.apply(ScaleGrad.apply(self.lin(x) * 4, 0.5)) / 4


# ---- shared children and tied weights -------------------------------------------------------------------
class RecurrentBlock(nn.Module):
    """One block applied three times (weights shared across steps) and one activation module reused."""

    def __init__(self):
        super().__init__()
        self.block, self.act = nn.Linear(4, 4), nn.Tanh()

    def forward(self, x):
        for _ in range(3):
            x = self.act(self.block(x))
        return self.act(x)


class Encoder(nn.Module):
    def __init__(self, shared: nn.Module):
        super().__init__()
        self.shared, self.own = shared, nn.Linear(4, 4)

    def forward(self, x):
        return self.own(self.shared(x))


class SharedBetweenParents(nn.Module):
    def __init__(self):
        super().__init__()
        shared = nn.Linear(4, 4)
        self.a, self.b = Encoder(shared), Encoder(shared)

    def forward(self, x):
        return self.a(x) - self.b(x)


class TiedAutoencoder(nn.Module):
    """Decoder uses the encoder's weight transposed (functional use of another module's parameter)."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(6, 3)
        self.dec_bias = nn.Parameter(torch.zeros(6))

    def forward(self, x):
        return F.linear(torch.sigmoid(self.enc(x)), self.enc.weight.t(), self.dec_bias)


class TiedLM(nn.Module):
    """A language model whose output projection is the embedding (the weight object assigned)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 6)
        self.rnn = nn.GRU(6, 6, batch_first=True)
        self.decoder = nn.Linear(6, 10)
        self.decoder.weight = self.emb.weight

    def forward(self, tok):
        y, _ = self.rnn(self.emb(tok))
        return self.decoder(y)


CASES = [
    ("arch_resnet18", ResNet18, t(1, 3, 32, 32)), ("arch_mobilenet_v3", MobileNetV3, t(2, 3, 32, 32)),
    ("arch_unet_interp", UNetInterp, t(1, 1, 12, 10)), ("arch_densenet_list", DenseNetList, t(1, 3, 8, 8)),
    ("arch_shufflenet_v2", ShuffleNetV2, t(1, 3, 16, 16)), ("arch_fpn_zip", FPNZip, t(1, 3, 16, 16)),
    ("arch_conditional_gan", ConditionalGenerator, lambda: (torch.randn(2, 4), torch.tensor([0, 2]))),
    ("arch_seq2seq_lstm", Seq2SeqLSTM, lambda: (torch.randint(0, 11, (2, 5)), torch.randint(0, 11, (2, 4)))),
    ("arch_bigru_encoder", BiGRUEncoder, t(2, 4, 3)), ("arch_vit_cls_token", ViTClsToken, t(2, 3, 8, 8)),
    ("arch_timm_vit", TimmViT, t(2, 3, 8, 8)),
    ("arch_seq2seq_transformer", Seq2SeqTransformer, lambda: (torch.randint(0, 9, (2, 5)), torch.randint(0, 9, (2, 4)))),
    ("arch_getattr_layers", GetattrLayers, t(2, 4)),
    ("default_return_features", ReturnFeatures, t(2, 3)), ("default_temperature", TempScaled, t(2, 3)),
    ("default_child_called_both_ways", ChildDefaults, t(2, 3)),
    ("initarg_prenorm_stack", PreNormStack, t(2, 3, 6)), ("initarg_block_factory", BlockFactory, t(1, 3, 6, 6)),
    ("shape_arithmetic", ShapeArithmetic, t(2, 3, 2)), ("shape_reshape_heads", ReshapeHeads, t(2, 3, 8)),
    ("shape_scale_factor_up", ScaleFactorUp, t(1, 2, 3, 5)),
    ("assign_slices", SliceAssign, t(2, 3)), ("assign_masked", MaskedAssign, t(3, 4)),
    ("autograd_quantized", Quantized, t(2, 3)),
    ("shared_recurrent_block", RecurrentBlock, t(2, 4)), ("shared_between_parents", SharedBetweenParents, t(2, 4)),
    ("tied_autoencoder", TiedAutoencoder, t(2, 6)), ("tied_lm", TiedLM, tokens(10, 2, 5)),
]
