"""The two model spaces of the one-shot benchmark (``bench_oneshot.py``), both CIFAR-sized (3x32x32).

``MobileSpace`` -- the benchmark space of the targets. It has every construct the one-shot issue lists, and
shares weights the way ProxylessNAS / FBNet / SPOS-style searches do:

* stem: conv3x3 3->16 + BN + ReLU6;
* stage 1 at 32x32, 16 channels: a ``Repeat`` of depth (1, 2) of inverted-residual (MBConv) blocks;
  each block searches its depthwise kernel size (Categorical [3, 5, 7]) and its expansion ratio
  (Categorical [3, 6], i.e. the hidden channel count) -- value choices in ``nascore.nn`` layers, shared by
  slicing (leading channels, centred kernel window);
* the downsampling op is a ``LayerChoice``: an MBConv with stride 2 (its own kernel / expansion choices),
  a conv3x3 stride 2, or avg-pool + conv1x1, each to 32 channels at 16x16;
* stage 2 at 16x16, 32 channels: ``Repeat`` (1, 2) of MBConv blocks;
* the head reads an ``InputChoice`` between the downsampling op's output and stage 2's; global average
  pool; linear classifier.

Largest candidate: kernel 7 and expansion 6 everywhere, MBConv downsampling, both depths 2.

``DartsCellSpace`` -- a stress case, reported without a target: cells whose ``LayerChoice`` offers the
six heterogeneous DARTS ops (ReLU-conv3x3-BN, ReLU-conv5x5-BN, ReLU-sep-conv3x3-BN, max-pool, avg-pool,
skip) at 32x32 with 16 channels, input choices between the two previous states, a sliced width and a
Repeat depth. A DARTS weight step has to run all six ops, and their pools / BN / ReLU cost as much as the
5x5 conv on a CPU; ``AllCandidates`` is that network written in plain torch, the floor for any exact DARTS.
"""
from __future__ import annotations

from typing import Dict

import torch
import torch.nn as nn

from nascore import nn as nnn
from nascore.mutable import Categorical

__all__ = ["MobileSpace", "MOBILE_LARGEST", "DartsCellSpace", "AllCandidates", "CELL_LARGEST"]


class MBConv(nn.Module):
    """Inverted residual block with a searchable depthwise kernel size and expansion ratio."""

    def __init__(self, cin: int, cout: int, stride: int, prefix: str) -> None:
        super().__init__()
        hidden = Categorical([3, 6], label=f"{prefix}_expand") * cin
        kernel = Categorical([3, 5, 7], label=f"{prefix}_kernel")
        self.block = nn.Sequential(
            nnn.Conv2d(cin, hidden, 1, bias=False), nnn.BatchNorm2d(hidden), nn.ReLU6(),
            nnn.Conv2d(hidden, hidden, kernel, stride=stride, padding=kernel // 2, groups=hidden, bias=False),
            nnn.BatchNorm2d(hidden), nn.ReLU6(),
            nnn.Conv2d(hidden, cout, 1, bias=False), nnn.BatchNorm2d(cout))
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.residual else y


class MobileSpace(nnn.ModelSpace):
    """The benchmark space of the targets (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU6())
        self.stage1 = nnn.Repeat(lambda i: MBConv(16, 16, 1, f"s1b{i}"), (1, 2), label="depth1")
        self.down = nnn.LayerChoice({
            "mbconv": MBConv(16, 32, 2, "down"),
            "conv3x3": nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32),
                                     nn.ReLU6()),
            "pool_conv1x1": nn.Sequential(nn.AvgPool2d(2), nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32)),
        }, label="down")
        self.stage2 = nnn.Repeat(lambda i: MBConv(32, 32, 1, f"s2b{i}"), (1, 2), label="depth2")
        self.head_input = nnn.InputChoice(2, 1, label="head_input")
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        down = self.down(self.stage1(self.stem(x)))
        return self.head(self.head_input([down, self.stage2(down)]).mean((2, 3)))


_MB_BLOCKS = ("s1b0", "s1b1", "down", "s2b0", "s2b1")
MOBILE_LARGEST = {"depth1": 2, "depth2": 2, "down": "mbconv", "head_input": 1,
                  **{f"{b}_expand": 6 for b in _MB_BLOCKS}, **{f"{b}_kernel": 7 for b in _MB_BLOCKS}}

CHANNELS, CELLS = 16, 3


def _relu_conv_bn(c: int, k: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, bias=False), nn.BatchNorm2d(c))


def _sep_conv(c: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))


def _darts_ops(c: int) -> Dict[str, nn.Module]:
    return {"conv3x3": _relu_conv_bn(c, 3), "conv5x5": _relu_conv_bn(c, 5), "sep_conv3x3": _sep_conv(c),
            "max_pool3x3": nn.MaxPool2d(3, 1, 1), "avg_pool3x3": nn.AvgPool2d(3, 1, 1, count_include_pad=False),
            "skip": nn.Identity()}


class DartsCellSpace(nnn.ModelSpace):
    """The stress case (see the module docstring): stem conv3x3 3->16 + BN; three cells of the six DARTS ops;
    a reduction conv3x3 stride 2 to a sliced width (Categorical [16, 32]); Repeat (1, 2) conv blocks; head."""

    def __init__(self) -> None:
        super().__init__()
        c = CHANNELS
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.cells = nn.ModuleList([nnn.LayerChoice(_darts_ops(c), label=f"cell{i}") for i in range(CELLS)])
        self.inputs = nn.ModuleList([nnn.InputChoice(2, 1, label=f"input{i}") for i in range(1, CELLS)])
        width = Categorical([16, 32], label="width")
        self.reduce = nn.Sequential(nnn.Conv2d(c, width, 3, stride=2, padding=1, bias=False),
                                    nnn.BatchNorm2d(width), nn.ReLU())
        self.blocks = nnn.Repeat(lambda i: nn.Sequential(nnn.Conv2d(width, width, 3, padding=1, bias=False),
                                                         nnn.BatchNorm2d(width), nn.ReLU()),
                                 (1, 2), label="depth")
        self.head = nnn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [self.stem(x)]
        for i, cell in enumerate(self.cells):
            h = states[-1] if i == 0 else self.inputs[i - 1](states[-2:])
            states.append(cell(h))
        return self.head(self.blocks(self.reduce(states[-1])).mean((2, 3)))


CELL_LARGEST = {**{f"cell{i}": "conv5x5" for i in range(CELLS)}, **{f"input{i}": 1 for i in range(1, CELLS)},
                "width": 32, "depth": 2}


class AllCandidates(nn.Module):
    """``DartsCellSpace`` in plain torch, no search machinery, running every candidate of every choice and
    summing them with fixed weights (what a DARTS weight step has to compute; width 32 and both depths, like
    DARTS's mixtures of weight slices and depth outputs)."""

    def __init__(self) -> None:
        super().__init__()
        c = CHANNELS
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.cells = nn.ModuleList([nn.ModuleList(_darts_ops(c).values()) for _ in range(CELLS)])
        self.reduce = nn.Sequential(nn.Conv2d(c, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32),
                                    nn.ReLU())
        self.blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32),
                                                   nn.ReLU()) for _ in range(2)])
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states = [self.stem(x)]
        for i, cell in enumerate(self.cells):
            h = states[-1] if i == 0 else 0.5 * states[-2] + 0.5 * states[-1]
            states.append(sum(op(h) for op in cell) / len(cell))
        h = self.blocks[0](self.reduce(states[-1]))
        h = 0.5 * h + 0.5 * self.blocks[1](h)
        return self.head(h.mean((2, 3)))
