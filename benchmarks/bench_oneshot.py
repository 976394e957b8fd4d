"""One-shot supernet cost: one supernet training epoch vs one epoch of the largest single candidate.

Targets: RandomOneShot <= 1.5x, DARTS <= 3x (the DARTS epoch includes its architecture steps). Both sides
use the same plain-torch loop, data and optimiser, measured interleaved (median of repeats) on this machine.
"""
from __future__ import annotations

import statistics
import time
from typing import Dict, List

import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

from nascore import nn as nnn
from nascore.mutable import Categorical

BATCHES, BATCH_SIZE, REPEATS, SIZE = 16, 64, 3, 32


def _conv(c_in: int, c_out: int, k: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.BatchNorm2d(c_out), nn.ReLU())


class BenchSpace(nnn.ModelSpace):
    """Two searchable ops (3x3 / 5x5 conv / avg-pool (CPU max-pool with indices alone costs more than a conv)), a searchable width and a searchable depth."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _conv(3, 16, 3)
        self.ops = nn.ModuleList([
            nnn.LayerChoice([_conv(16, 16, 3), _conv(16, 16, 5), nn.AvgPool2d(3, 1, 1)], label=f"op{i}")
            for i in range(2)])
        width = Categorical([16, 32], label="width")
        self.expand = nnn.Conv2d(16, width, 3, padding=1)
        self.blocks = nnn.Repeat(lambda i: nn.Sequential(nnn.Conv2d(width, width, 3, padding=1), nn.ReLU()),
                                 (1, 2), label="depth")
        self.head = nnn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for op in self.ops:
            x = op(x)
        return self.head(self.blocks(torch.relu(self.expand(x))).mean((2, 3)))


LARGEST = {"op0": 1, "op1": 1, "width": 32, "depth": 2}


def _loaders() -> tuple:
    g = torch.Generator().manual_seed(0)
    n = BATCHES * BATCH_SIZE
    x, y = torch.randn(n, 3, SIZE, SIZE, generator=g), torch.randint(0, 10, (n,), generator=g)
    train = DataLoader(TensorDataset(x, y), batch_size=BATCH_SIZE)
    val = DataLoader(TensorDataset(x[: n // 2], y[: n // 2]), batch_size=BATCH_SIZE)
    return train, val


def _plain_epoch(model: nn.Module, loader: DataLoader, optimizer: torch.optim.Optimizer) -> float:
    criterion = nn.CrossEntropyLoss()
    model.train()
    start = time.perf_counter()
    for x, y in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
    return time.perf_counter() - start


def run() -> List[Dict]:
    from nascore_oneshot import SupernetData, SupernetTrainer

    torch.manual_seed(0)
    train, val = _loaders()
    data = SupernetData(train, val, max_epochs=1)
    largest = BenchSpace().freeze(LARGEST)
    largest_opt = torch.optim.Adam(largest.parameters(), lr=1e-3)
    trainers = {"random": SupernetTrainer(BenchSpace(), data, "random", seed=0),
                "darts": SupernetTrainer(BenchSpace(), data, "darts")}
    _plain_epoch(largest, train, largest_opt)  # warm-up (allocator, kernels)
    for trainer in trainers.values():
        trainer.train_epoch()
    times: Dict[str, List[float]] = {"largest": [], "random": [], "darts": []}
    for _ in range(REPEATS):  # interleaved: the machine is shared and noisy
        times["largest"].append(_plain_epoch(largest, train, largest_opt))
        for name, trainer in trainers.items():
            start = time.perf_counter()
            trainer.train_epoch()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["largest"])
    results = []
    for name, limit in (("random", 1.5), ("darts", 3.0)):
        ratio = statistics.median(times[name]) / base
        results.append({"metric": f"{name}_epoch_vs_largest_candidate", "ratio": round(ratio, 3), "limit": limit,
                        "ok": ratio <= limit, "batches": BATCHES, "repeats": REPEATS,
                        "largest_epoch_s": round(base, 4), "supernet_epoch_s": round(statistics.median(times[name]), 4)})
    return results


if __name__ == "__main__":
    import json
    for row in run():
        print(json.dumps({"benchmark": "oneshot", **row}), flush=True)
