"""A tiny model space for the end-to-end test (a module of its own: trial workers import it by name)."""
import torch.nn as tnn

import nascore.nn as nn
from nascore.mutable import Categorical, ensure_frozen


class TinyNet(nn.ModelSpace):
    def __init__(self):
        super().__init__()
        width = ensure_frozen(Categorical([2, 4], label="width"))
        self.layer = tnn.Linear(3, width)

    def forward(self, x):
        return self.layer(x)
