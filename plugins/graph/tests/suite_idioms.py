"""Conformance suite, part 4: common model idioms (attention masks, positional encodings, recurrent cells,
pretrained embeddings, padding='same', tuple inputs)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class MHAMask(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x, pad):
        out, w = self.attn(x, x, x, key_padding_mask=pad)
        return out, w


class UpsampleSize(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(size=(6, 6), mode="nearest")

    def forward(self, x):
        return self.up(x)


class PositionalEncoding(nn.Module):
    def __init__(self, d=8, max_len=20):
        super().__init__()
        self.dropout = nn.Dropout(0.1)
        pe = torch.zeros(max_len, d)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

    def forward(self, x):
        return self.dropout(x + self.pe[: x.size(0), :])


class TutorialTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(12, 8)
        self.pos = PositionalEncoding()
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.1), 2)
        self.out = nn.Linear(8, 12)
        self.d = 8

    def forward(self, src, src_mask=None):
        src = self.emb(src) * math.sqrt(self.d)
        src = self.pos(src)
        return self.out(self.enc(src, src_mask))


class FlattenParams(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, proj_size=2, batch_first=True)

    def forward(self, x):
        self.lstm.flatten_parameters()
        out, (h, c) = self.lstm(x)
        return out, h, c


class PaddingMaskEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8, padding_idx=0)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True), 1, enable_nested_tensor=False)

    def forward(self, tokens):
        return self.enc(self.emb(tokens), src_key_padding_mask=tokens == 0).mean(1)


class Pretrained(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding.from_pretrained(torch.randn(5, 3), freeze=True)
        self.conv = nn.Conv1d(3, 3, 3, padding="same")

    def forward(self, t):
        return self.conv(self.emb(t).transpose(1, 2))


class GRUCellSteps(nn.Module):
    def __init__(self):
        super().__init__()
        self.cell = nn.GRUCell(3, 3)
        self.steps = 3

    def forward(self, x):
        h = torch.zeros_like(x)
        outs = []
        for _ in range(self.steps):
            h = self.cell(x, h)
            outs.append(h)
        return torch.stack(outs, 1)


class StaticScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(8, 8)

    def forward(self, x):
        q = self.q(x)
        att = (q @ q.transpose(-2, -1)) * q.shape[-1] ** -0.5
        mask = torch.tril(torch.ones(x.size(1), x.size(1))).bool()
        att = att.masked_fill(~mask, float("-inf"))
        return F.softmax(att, -1) @ q


class TupleInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)

    def forward(self, pair):
        x, y = pair
        return self.a(x) + y


class StarArgs(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, *xs):
        return self.lin(xs[0]) + xs[1]


class CallsStarArgs(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = StarArgs()

    def forward(self, x):
        return self.inner(x, x * 2)


CASES = [
    ("mha_mask", MHAMask, lambda: (torch.randn(2, 4, 8), torch.tensor([[False, False, True, True], [False] * 4]))),
    ("upsample_size", UpsampleSize, lambda: (torch.randn(1, 1, 3, 3),)),
    ("tutorial_transformer", TutorialTransformer, lambda: (torch.randint(0, 12, (5, 2)),)),
    ("flatten_params", FlattenParams, lambda: (torch.randn(2, 4, 3),)),
    ("padding_mask_encoder", PaddingMaskEncoder, lambda: (torch.tensor([[1, 2, 0], [3, 0, 0]]),)),
    ("pretrained", Pretrained, lambda: (torch.tensor([[1, 2, 3, 4]]),)),
    ("grucell_steps", GRUCellSteps, lambda: (torch.randn(2, 3),)),
    ("static_scale", StaticScale, lambda: (torch.randn(2, 4, 8),)),
    ("tuple_input", TupleInput, lambda: ((torch.randn(2, 3), torch.randn(2, 3)),)),
    ("star_args_root", StarArgs, lambda: (torch.randn(2, 3), torch.randn(2, 3))),
    ("star_args_child", CallsStarArgs, lambda: (torch.randn(2, 3),)),
]
