"""Model spaces and evaluators for the CGO tests, importable by module path in trial processes."""
from __future__ import annotations

import torch
import torch.nn as tnn
from torch.utils.data import DataLoader

import nascore.nn as nn
from nascore.evaluator import Classification, Regression, digits_dataset
from nascore.trace import trace


class DigitsNet(nn.ModelSpace):
    """4 candidates for the first layer; candidate 3 outputs 12 features where 16 are expected (a shape
    mismatch that only shows when the model runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.LayerChoice([tnn.Linear(64, 16), tnn.Linear(64, 16, bias=False),
                                   tnn.Sequential(tnn.Linear(64, 16), tnn.Tanh()), tnn.Linear(64, 12)],
                                  label="fc1")
        self.fc2 = tnn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


class DropoutNet(nn.ModelSpace):
    """3 working candidates, each followed by dropout: its masks draw from torch's generator in training."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.LayerChoice([tnn.Linear(64, 16), tnn.Linear(64, 16, bias=False),
                                   tnn.Sequential(tnn.Linear(64, 16), tnn.Tanh())], label="fc1")
        self.drop = tnn.Dropout(0.5)
        self.fc2 = tnn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(torch.relu(self.fc1(x))))


class RegNet(nn.ModelSpace):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.LayerChoice([tnn.Linear(64, 8), tnn.Linear(64, 8, bias=False)], label="fc1")
        self.fc2 = tnn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def loader(split: str, batch_size: int = 128, seed: int = 0, shuffle: bool = False) -> DataLoader:
    return trace(DataLoader)(trace(digits_dataset)(split, seed=seed, image=False), batch_size=batch_size,
                             shuffle=shuffle)


def classification(max_epochs: int = 2, seed: int = 0, shuffle: bool = False, **kwargs) -> Classification:
    return Classification(train_dataloaders=loader("train", seed=seed, shuffle=shuffle),
                          val_dataloaders=loader("val", seed=seed), max_epochs=max_epochs, **kwargs)


class DigitsSum(torch.utils.data.Dataset):
    """Regression target: the mean pixel value of a digit."""

    def __init__(self, split: str) -> None:
        self.inner = digits_dataset(split, image=False)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        x, _ = self.inner[index]
        return x, x.mean()


def regression(max_epochs: int = 2, **kwargs) -> Regression:
    make = lambda split: trace(DataLoader)(trace(DigitsSum)(split), batch_size=128)  # noqa: E731
    return Regression(train_dataloaders=make("train"), val_dataloaders=make("val"), max_epochs=max_epochs,
                      **kwargs)
