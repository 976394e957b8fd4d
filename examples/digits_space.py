"""A small CNN model space for scikit-learn's 8x8 digits, used by quickstart.py.

It lives in its own module (not in the script) so that trial processes can import it by name.
"""
import torch
import torch.nn as nn

from nascore.mutable import Categorical
from nascore.nn import Conv2d, InputChoice, LayerChoice, Linear, ModelSpace, Repeat


class ConvBlock(nn.Module):
    def __init__(self, channels, index: int):  # channels: an int or a choice of ints
        super().__init__()
        # one labelled choice per repetition: a 3x3 conv, a 5x5 conv or a cheap depthwise-separable conv
        self.op = LayerChoice({
            "conv3x3": Conv2d(channels, channels, 3, padding=1),
            "conv5x5": Conv2d(channels, channels, 5, padding=2),
            "sepconv": nn.Sequential(Conv2d(channels, channels, 3, padding=1, groups=channels),
                                     Conv2d(channels, channels, 1)),
        }, label=f"block{index}_op")
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.op(x))


class DigitsNet(ModelSpace, label_prefix="digits"):
    """stem (searchable width) -> 1-3 conv blocks -> skip or no skip -> global pool -> classifier."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        width = Categorical([8, 16], label="width")
        self.stem = nn.Sequential(Conv2d(1, width, 3, padding=1), nn.ReLU())
        self.blocks = Repeat(lambda i: ConvBlock(width, i), (1, 3), label="depth")
        # use the blocks' output alone, or add the stem's output to it (a skip connection)
        self.skip = InputChoice(2, n_chosen=1, label="skip")
        self.head = Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.stem(x)
        out = self.blocks(stem)
        out = self.skip([out, out + stem])
        return self.head(out.mean(dim=(2, 3)))
