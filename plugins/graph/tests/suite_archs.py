"""Conformance suite, part 3: whole architectures, written small (a few channels, tiny inputs)."""
from __future__ import annotations

from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F


def t(*shape):
    return lambda: (torch.randn(*shape),)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1, self.bn1 = nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)) \
            if stride != 1 or cin != cout else None

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


class BottleneckResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, 2, 1, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, 2, 1))
        self.layer1 = nn.Sequential(Bottleneck(4, 2), Bottleneck(8, 2))
        self.layer2 = nn.Sequential(Bottleneck(8, 4, 2))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _divisible(v: float, divisor: int = 4) -> int:
    return max(divisor, int(v + divisor / 2) // divisor * divisor)


class InvertedResidualV2(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers: List[nn.Module] = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True)]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(inplace=True), nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width: float = 0.5):
        super().__init__()
        c = _divisible(8 * width)
        feats: List[nn.Module] = [nn.Sequential(nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU6(True))]
        for t_, ch, n, s in ((1, 8, 1, 1), (4, 12, 2, 2), (4, 16, 2, 2)):
            cout = _divisible(ch * width)
            for i in range(n):
                feats.append(InvertedResidualV2(c, cout, s if i == 0 else 1, t_))
                c = cout
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(c, 4))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))


class DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Up(nn.Module):
    def __init__(self, cin: int, cout: int, bilinear: bool):
        super().__init__()
        self.bilinear = bilinear
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True) if bilinear \
            else nn.ConvTranspose2d(cin, cin // 2, 2, stride=2)
        self.conv = DoubleConv(cin + cin // 2 if bilinear else cin, cout)

    def forward(self, x1, x2):
        x1 = self.up(x1)
        dy, dx = x2.size()[2] - x1.size()[2], x2.size()[3] - x1.size()[3]
        x1 = F.pad(x1, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2])
        return self.conv(torch.cat([x2, x1], dim=1))


class UNetPadded(nn.Module):
    def __init__(self, bilinear: bool = False):
        super().__init__()
        self.inc = DoubleConv(1, 4)
        self.down1 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(4, 8))
        self.down2 = nn.Sequential(nn.MaxPool2d(2), DoubleConv(8, 16))
        self.up1, self.up2 = Up(16, 8, bilinear), Up(8, 4, bilinear)
        self.outc = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        return self.outc(self.up2(self.up1(x3, x2), x1))


class SEBlock(nn.Module):
    def __init__(self, c: int, r: int = 2):
        super().__init__()
        self.avg = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(c, c // r, bias=False), nn.ReLU(inplace=True), nn.Linear(c // r, c, bias=False),
                                nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.avg(x).view(b, c)
        return x * self.fc(y).view(b, c, 1, 1).expand_as(x)


class SENet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.se = SEBlock(8)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.se(F.relu(self.conv(x))).mean((2, 3)))


class DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int):
        super().__init__()
        self.norm, self.conv = nn.BatchNorm2d(cin), nn.Conv2d(cin, growth, 3, padding=1, bias=False)

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        return self.conv(F.relu(self.norm(torch.cat(feats, 1))))


class DenseBlock(nn.ModuleDict):
    def __init__(self, n: int, cin: int, growth: int):
        super().__init__()
        for i in range(n):
            self.add_module(f"denselayer{i + 1}", DenseLayer(cin + i * growth, growth))

    def forward(self, x):
        feats = [x]
        for _, layer in self.items():
            feats.append(layer(feats))
        return torch.cat(feats, 1)


class DenseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.block1 = DenseBlock(3, 4, 2)
        self.trans = nn.Sequential(nn.BatchNorm2d(10), nn.ReLU(), nn.Conv2d(10, 5, 1, bias=False), nn.AvgPool2d(2))
        self.block2 = DenseBlock(2, 5, 2)
        self.fc = nn.Linear(9, 3)

    def forward(self, x):
        x = self.block2(self.trans(self.block1(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(F.relu(x), 1).flatten(1))


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        half = c // 2
        self.branch = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
                                    nn.Conv2d(half, half, 3, 1, 1, groups=half, bias=False), nn.BatchNorm2d(half))

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((a, self.branch(b)), dim=1), 2)


class ShuffleNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, 2, 1)
        self.units = nn.Sequential(ShuffleUnit(8), ShuffleUnit(8))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.units(self.stem(x)).mean([2, 3]))


class FPN(nn.Module):
    def __init__(self, chans=(4, 8, 16), out: int = 4):
        super().__init__()
        self.body = nn.ModuleList([nn.Conv2d(3 if i == 0 else chans[i - 1], c, 3, 2, 1) for i, c in enumerate(chans)])
        self.lateral = nn.ModuleList([nn.Conv2d(c, out, 1) for c in chans])
        self.smooth = nn.ModuleList([nn.Conv2d(out, out, 3, padding=1) for _ in chans])

    def forward(self, x) -> List[torch.Tensor]:
        feats = []
        for conv in self.body:
            x = F.relu(conv(x))
            feats.append(x)
        laterals = [lat(f) for lat, f in zip(self.lateral, feats)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[-2:], mode="nearest")
        return [s(l) for s, l in zip(self.smooth, laterals)]


class DCGANGenerator(nn.Module):
    def __init__(self, nz: int = 6, ngf: int = 4):
        super().__init__()
        self.nz = nz
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, z):
        return self.main(z.view(-1, self.nz, 1, 1))


class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf: int = 4):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, x):
        return self.main(x).view(-1, 1).squeeze(1)


class BiLSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(12, 4, padding_idx=0)
        self.lstm = nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=True, dropout=0.1)
        self.fc = nn.Linear(10, 2)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embed(tokens))
        return self.fc(torch.cat([h[-2], h[-1]], dim=1))


class LSTMCellUnroll(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(3, 4)
        self.out = nn.Linear(4, 2)

    def forward(self, x):
        h = x.new_zeros(x.size(0), 4)
        c = x.new_zeros(x.size(0), 4)
        for step in x.unbind(1):
            h, c = self.cell(step, (h, c))
        return self.out(h)


class GRUTagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, batch_first=True)
        self.tag = nn.Linear(4, 5)

    def forward(self, x, h0=None):
        out, _ = self.gru(x, h0)
        return F.log_softmax(self.tag(out), dim=-1)


class ViT(nn.Module):
    def __init__(self, d: int = 8):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 4, 4)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, 5, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 2, 2 * d, dropout=0.0, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, 3)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
        return self.head(self.norm(self.encoder(x))[:, 0])


class CausalLM(nn.Module):
    def __init__(self, vocab: int = 10, d: int = 8):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        layer = nn.TransformerEncoderLayer(d, 2, 16, dropout=0.0, batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.lm_head = nn.Linear(d, vocab)

    def forward(self, tokens):
        n = tokens.size(1)
        mask = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
        return self.lm_head(self.blocks(self.embed(tokens), mask=mask))


class Fire(nn.Module):
    def __init__(self, cin: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, squeeze, 1)
        self.e1, self.e3 = nn.Conv2d(squeeze, expand, 1), nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        x = F.relu(self.squeeze(x))
        return torch.cat([F.relu(self.e1(x)), F.relu(self.e3(x))], 1)


class SqueezeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, ceil_mode=True),
                                      Fire(8, 2, 4), Fire(8, 2, 4))
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(8, 3, 1), nn.ReLU(inplace=True),
                                        nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class Inception(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Conv2d(cin, 2, 1), nn.Sequential(nn.Conv2d(cin, 2, 1), nn.Conv2d(2, 3, 3, padding=1)),
            nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(cin, 2, 1))])

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))

    def forward(self, a, b):
        return F.cosine_similarity(self.encoder(a), self.encoder(b))


class Autoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.ReLU())
        self.dec = nn.Sequential(nn.Linear(4, 16), nn.Unflatten(1, (1, 4, 4)), nn.Sigmoid())

    def forward(self, x):
        z = self.enc(x)
        return self.dec(z), z


class PreActBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.equal = cin == cout and stride == 1
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None if self.equal else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        o = F.relu(self.bn1(x))
        y = self.conv2(F.relu(self.bn2(self.conv1(o))))
        return y + (x if self.shortcut is None else self.shortcut(o))


class WideResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.blocks = nn.Sequential(PreActBlock(4, 8, 2), PreActBlock(8, 8, 1))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.blocks(self.conv(x)), 1).flatten(1))


CASES = [
    ("arch_resnet_bottleneck", BottleneckResNet, t(1, 3, 16, 16)), ("arch_mobilenet_v2", MobileNetV2, t(1, 3, 16, 16)),
    ("arch_unet_padded", UNetPadded, t(1, 1, 14, 14)), ("arch_unet_bilinear", lambda: UNetPadded(True), t(1, 1, 12, 12)),
    ("arch_senet", SENet, t(2, 3, 6, 6)), ("arch_densenet", DenseNet, t(1, 3, 8, 8)),
    ("arch_shufflenet", ShuffleNet, t(1, 3, 8, 8)), ("arch_fpn", FPN, t(1, 3, 16, 16)),
    ("arch_dcgan_generator", DCGANGenerator, t(2, 6)), ("arch_dcgan_discriminator", DCGANDiscriminator, t(2, 1, 16, 16)),
    ("arch_bilstm", BiLSTMClassifier, lambda: (torch.randint(0, 12, (2, 5)),)),
    ("arch_lstm_cell_unroll", LSTMCellUnroll, t(2, 4, 3)), ("arch_gru_tagger", GRUTagger, t(2, 4, 3)),
    ("arch_vit", ViT, t(2, 3, 8, 8)), ("arch_causal_lm", CausalLM, lambda: (torch.randint(0, 10, (2, 5)),)),
    ("arch_squeezenet", SqueezeNet, t(1, 3, 17, 17)), ("arch_inception", lambda: nn.Sequential(Inception(3), Inception(7)),
                                                       t(1, 3, 6, 6)),
    ("arch_siamese", Siamese, lambda: (torch.randn(2, 4), torch.randn(2, 4))),
    ("arch_autoencoder", Autoencoder, t(2, 1, 4, 4)), ("arch_wide_resnet", WideResNet, t(1, 3, 8, 8)),
]


class SNDiscriminator(nn.Module):
    """SN-GAN style: spectral norm (parametrizations) and an old-style weight-normed layer."""

    def __init__(self):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.conv1 = sn(nn.Conv2d(1, 4, 4, 2, 1))
        self.conv2 = nn.utils.spectral_norm(nn.Conv2d(4, 8, 4, 2, 1))
        self.fc = nn.utils.weight_norm(nn.Linear(8, 1))

    def forward(self, x):
        x = F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(x), 0.2)), 0.2)
        return self.fc(x.mean((2, 3)))


class TemporalBlock(nn.Module):
    def __init__(self, cin: int, cout: int, dilation: int):
        super().__init__()
        self.pad = (3 - 1) * dilation
        self.conv = nn.utils.parametrizations.weight_norm(nn.Conv1d(cin, cout, 3, padding=self.pad, dilation=dilation))
        self.down = nn.Conv1d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        y = F.relu(self.conv(x)[:, :, :-self.pad])
        return F.relu(y + (x if self.down is None else self.down(x)))


class TCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(TemporalBlock(2, 4, 1), TemporalBlock(4, 4, 2))
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        return self.head(self.blocks(x)[:, :, -1])


CASES += [("arch_sn_discriminator", SNDiscriminator, t(2, 1, 16, 16)), ("arch_tcn_weight_norm", TCN, t(2, 2, 10))]
