"""A tiny model space for the end-to-end remote experiment (importable on the machines: uploaded with the
trial code directory)."""
from __future__ import annotations

from torch import nn

from nascore.nn import LayerChoice, ModelSpace


class TinySpace(ModelSpace):
    def __init__(self, width: int = 4):
        super().__init__()
        self.layer = LayerChoice([nn.Linear(width, 2), nn.Linear(width, 8)], label="layer")

    def forward(self, x):
        return self.layer(x)
