"""Profiling overhead: parameter count + FLOPs of a ResNet-18-sized frozen model, and what the cache saves.

A ResNet-18 (11.7 M parameters, 1.8 GMACs at 1x3x224x224) is profiled by a fresh ``ModelProfiler`` (the built-in
``params`` and ``flops`` profilers through the plugin registry, exactly as an experiment does) ``REPEATS`` times;
the median is reported beside one real forward pass of the same model on the same input (the ratio is what
matters on a shared machine), and beside a repeat of the same sample (answered by the cache). Target: the
first profile <= 50 ms, the repeat ~0. FLOPs are counted on meta tensors (shapes only), so the cost is
torch's per-operation dispatch, not arithmetic; the machine's load average is reported with the figures. The
first profile in a process also pays a one-time warm-up of torch's meta kernels (not in the median).
"""
from __future__ import annotations

import os
import statistics
import time
from typing import Dict, List

REPEATS = 5
SHAPE = (1, 3, 224, 224)


def resnet18():
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            y = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))
            return (y + self.down(x)).relu()

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)]
    return nn.Sequential(*layers)


class _Frozen:
    def __init__(self, module):
        self.sample, self.module = {"arch": "resnet18"}, module

    def executable_model(self):
        return self.module


def _ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def run() -> List[Dict]:
    import torch

    from nascore.profilers import ModelProfiler, ProfileContext

    module = resnet18().eval()
    model = _Frozen(module)
    context = ProfileContext(input_shape=SHAPE)
    x = torch.randn(*SHAPE)
    with torch.no_grad():
        module(x)  # warm-up: allocator, kernels
        forward = statistics.median(_ms(lambda: module(x)) for _ in range(REPEATS))
    first, repeat, values = [], [], {}
    for _ in range(REPEATS):
        profiler = ModelProfiler.from_plugins(context)
        first.append(_ms(lambda: values.update(profiler.profile(model, ["params", "flops", "macs"]))))
        repeat.append(_ms(lambda: profiler.profile(model, ["params", "flops", "macs"])))
    first_ms, repeat_ms = statistics.median(first), statistics.median(repeat)
    noise = _latency_noise()
    return [{"case": "resnet18_params_flops", "input_shape": list(SHAPE), "params": values["params"],
             "macs": values["macs"], "profile_ms": round(first_ms, 2), "target_ms": 50,
             "cached_repeat_ms": round(repeat_ms, 4), "forward_ms": round(forward, 2),
             "profile_to_forward": round(first_ms / forward, 3),
             "load_average_1min": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()}, noise]


def _latency_noise() -> Dict:
    """How much ``latency_ms`` of one model varies between measurements (fresh profilers, no cache): a small
    conv net on 1x3x32x32, the built-in profiler's default of 20 timed runs, measured 7 times."""
    from torch import nn

    from nascore.profilers import ModelProfiler, ProfileContext
    module = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                           nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    model, context = _Frozen(module), ProfileContext(input_shape=(1, 3, 32, 32))
    values = [ModelProfiler.from_plugins(context).profile(model, ["latency_ms"])["latency_ms"] for _ in range(7)]
    median = statistics.median(values)
    return {"case": "latency_noise", "runs_per_measurement": context.latency_runs, "measurements": len(values),
            "median_ms": round(median, 4), "spread_pct": round(100 * (max(values) - min(values)) / median, 1),
            "stdev_pct": round(100 * statistics.stdev(values) / median, 1),
            "load_average_1min": round(os.getloadavg()[0], 1)}
