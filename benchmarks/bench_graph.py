"""Graph format: conversion time of a ResNet-18-sized space and plain network (fx, torchscript), freeze + codegen time of one
sampled model, and IR memory per frozen model (tracemalloc). ``python -m benchmarks.bench_graph``."""
from __future__ import annotations

import json
import time
import tracemalloc
from typing import Dict, List


import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import nascore.nn as snn  # noqa: E402
from nascore.mutable import Categorical  # noqa: E402


class Block(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, label: str, plain: bool) -> None:
        super().__init__()
        conv3 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.conv1 = conv3 if plain else snn.LayerChoice([conv3, nn.Conv2d(cin, cout, 5, stride, 2, bias=False)],
                                                         label=label)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.down is not None:
            x = self.down(x)
        return F.relu(out + x)


def _layers(plain: bool) -> list:
    layers, cin = [], 64
    for i, w in enumerate((64, 128, 256, 512)):
        layers.append(nn.Sequential(Block(cin, w, 1 if i == 0 else 2, f"l{i}b0", plain),
                                    Block(w, w, 1, f"l{i}b1", plain)))
        cin = w
    return layers


class PlainResNet18(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1, self.layer2, self.layer3, self.layer4 = _layers(True)
        self.fc = nn.Linear(512, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


class ResNet18Space(snn.ModelSpace):
    """ResNet-18 with a kernel-size LayerChoice per block and a value choice on the classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = snn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1, self.layer2, self.layer3, self.layer4 = _layers(False)
        self.fc = snn.Linear(512, Categorical([10, 100], label="classes"))

    forward = PlainResNet18.forward


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run() -> List[Dict]:
    from nascore_graph.space import GraphModelSpace
    space = ResNet18Space()
    plain = PlainResNet18()
    results: List[Dict] = []
    # both frontends on the space itself (choices become opaque call nodes) and on the same network
    # built without choices (a plain ResNet-18)
    for frontend, limit, model, what in (("fx", 0.5, space, "space"), ("fx", 0.5, plain, "plain"),
                                         ("torchscript", 1.0, space, "space"), ("torchscript", 1.0, plain, "plain")):
        GraphModelSpace.from_model(model, config=frontend)  # warm caches (imports, TorchScript type store)
        seconds = _best(lambda: GraphModelSpace.from_model(model, config=frontend), 3)
        results.append({"benchmark": "graph_convert_resnet18", "frontend": frontend, "model": what,
                        "seconds": round(seconds, 4), "target_seconds": limit, "ok": seconds <= limit})
    graph_space = GraphModelSpace.from_model(space)
    sample = {label: m.default_value() for label, m in graph_space.simplify().items()}
    sample.update({"l0b0": 1, "classes": 100})
    seconds = _best(lambda: graph_space.freeze(sample).to_code(), 10)
    results.append({"benchmark": "graph_freeze_codegen", "seconds": round(seconds, 5), "target_seconds": 0.02,
                    "ok": seconds <= 0.02})
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    frozen = [graph_space.freeze(sample) for _ in range(10)]
    per_model = (tracemalloc.get_traced_memory()[0] - before) / len(frozen)
    tracemalloc.stop()
    results.append({"benchmark": "graph_ir_memory_per_frozen_model", "bytes": int(per_model),
                    "target_bytes": 200_000, "ok": per_model <= 200_000})
    return results


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
