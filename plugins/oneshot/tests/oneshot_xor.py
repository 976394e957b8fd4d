"""The XOR task and the two-candidate space shared by the one-shot tests (imported through conftest's path)."""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from nascore import nn as nnn
from nascore_oneshot import SupernetData


def xor_loader(n, seed):
    # the label is the sign of x0 * x1: a linear head on the raw input cannot do better than chance
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    y = ((x[:, 0] * x[:, 1]) > 0).long()
    return DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(seed))


class XorNet(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.body = nnn.LayerChoice([nn.Identity(), nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 8))],
                                    label="body")
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.body(x))


def xor_data(epochs=8):
    return SupernetData(xor_loader(1024, 0), xor_loader(512, 1), nn.CrossEntropyLoss, "accuracy",
                        learning_rate=1e-2, max_epochs=epochs)
