"""One-shot search on scikit-learn's digits: DARTS and RandomOneShot train the space as one supernet.

    python examples/oneshot_search.py

Both strategies run in this process on the space object itself (raw format, sequential engine: the defaults
for one-shot strategies). Each exports one architecture; ``formatter="instance"`` gives it as a plain
``nn.Module`` holding the weights it was trained with inside the supernet, scored here without retraining.
"""
import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from nascore.evaluator import Classification, digits_dataset
from nascore.experiment import NasExperiment
from nascore.mutable import Categorical
from nascore.nn import BatchNorm2d, Conv2d, InputChoice, LayerChoice, Linear, ModelSpace, Repeat
from nascore_oneshot import DARTS, RandomOneShot


def conv_bn(width, kernel, groups=1) -> list:
    return [Conv2d(width, width, kernel, padding=kernel // 2, groups=groups, bias=False), BatchNorm2d(width)]


class Block(nn.Module):
    """A 3x3 or 5x5 conv (one weight: the 3x3 is its centre) or a depthwise-separable conv."""

    def __init__(self, width, index: int):
        super().__init__()
        kernel = Categorical([3, 5], label=f"block{index}_kernel")
        self.op = LayerChoice({
            "conv": nn.Sequential(*conv_bn(width, kernel), nn.ReLU()),
            "sepconv": nn.Sequential(*conv_bn(width, 3, groups=width), nn.ReLU(), *conv_bn(width, 1), nn.ReLU()),
        }, label=f"block{index}_op")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class OneShotDigits(ModelSpace, label_prefix="digits"):
    """stem (width 16 or 32, shared by slicing) -> 1-3 blocks -> optional skip -> global pool -> classifier.
    Batch norm keeps the shared weights trainable from any path (and is recalibrated per scored subnet)."""

    def __init__(self):
        super().__init__()
        width = Categorical([16, 32], label="width")
        self.stem = nn.Sequential(Conv2d(1, width, 3, padding=1, bias=False), BatchNorm2d(width), nn.ReLU())
        self.blocks = Repeat(lambda i: Block(width, i), (1, 3), label="depth")
        self.skip = InputChoice(2, n_chosen=1, label="skip")
        self.head = Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stem = self.stem(x)
        out = self.blocks(stem)
        return self.head(self.skip([out, out + stem]).mean(dim=(2, 3)))


@torch.no_grad()
def accuracy(model: torch.nn.Module, loader: DataLoader) -> float:
    model.eval()
    device = next(model.parameters()).device  # the supernet trained on the GPU when there is one
    hits = sum(int((model(x.to(device)).argmax(-1).cpu() == y).sum()) for x, y in loader)
    return hits / len(loader.dataset)


def main() -> None:
    torch.manual_seed(0)
    train = DataLoader(digits_dataset("train"), batch_size=64, shuffle=True)
    val = DataLoader(digits_dataset("val"), batch_size=256)
    for strategy in (DARTS(arch_learning_rate=3e-3), RandomOneShot(num_samples=12, seed=0)):
        evaluator = Classification(learning_rate=1e-2, train_dataloaders=train, val_dataloaders=val, max_epochs=15)
        experiment = NasExperiment(OneShotDigits(), evaluator, strategy)
        experiment.run()
        [sample] = experiment.export_top_models(formatter="dict")
        [model] = experiment.export_top_models(formatter="instance")
        print(f"{type(strategy).__name__}: {sample}")
        print(f"  inherited weights, validation accuracy {accuracy(model, val):.3f}; store: {experiment.directory}")


if __name__ == "__main__":
    main()
