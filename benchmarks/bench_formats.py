"""Freeze time and size per model for the raw and simplified formats on a 20-choice space.

Targets: simplified ``freeze`` <= 0.2 ms and a frozen model <= 2 KB of JSON; raw: 1,000 frozen models
<= 5 MB of memory (tracemalloc). Raw and simplified freeze times are measured side by side.
"""
from __future__ import annotations

import gc
import json
import random
import statistics
import time
import tracemalloc
from typing import Dict, List

import torch.nn as tnn

import nascore.nn as nn

CHOICES = 20
FREEZES = 2000
MEMORY_MODELS = 1000


class TwentyChoiceNet(nn.ModelSpace):
    """20 labelled LayerChoices of three small candidates each (module level: importable for payloads)."""

    def __init__(self, width: int = 4, choices: int = CHOICES):
        super().__init__()
        self.layers = tnn.ModuleList(
            nn.LayerChoice([tnn.Linear(width, width), tnn.Sequential(tnn.ReLU(), tnn.Linear(width, width)),
                            tnn.Identity()], label=f"layer_{i:02d}")
            for i in range(choices))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


def _samples(space, n: int) -> List[dict]:
    rng = random.Random(0)
    labels = list(space.simplify())
    return [{label: rng.randrange(3) for label in labels} for _ in range(n)]


def _freeze_ms(space, samples: List[dict]) -> float:
    """Median of 5 rounds of the mean freeze time over ``samples``."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for sample in samples:
            space.freeze(sample)
        rounds.append((time.perf_counter() - started) / len(samples) * 1e3)
    return statistics.median(rounds)


def _memory_bytes(space, samples: List[dict]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        frozen = [space.freeze(s) for s in samples]
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    del frozen
    return used


def run() -> List[Dict]:
    from nascore_raw.space import RawModelSpace
    from nascore_simplified.space import SimplifiedModelSpace

    results = []
    net = TwentyChoiceNet()
    simplified = SimplifiedModelSpace.from_model(net)
    raw = RawModelSpace.from_model(net)
    assert len(simplified.simplify()) == CHOICES
    samples = _samples(simplified, FREEZES)

    s_ms, r_ms = _freeze_ms(simplified, samples), _freeze_ms(raw, samples)
    payload_bytes = max(len(json.dumps(simplified.freeze(s).to_payload())) for s in samples[:100])
    results.append({"name": "simplified_freeze", "choices": CHOICES, "freeze_ms": round(s_ms, 4),
                    "target_ms": 0.2, "ok": s_ms <= 0.2, "payload_bytes": payload_bytes,
                    "payload_target_bytes": 2048, "payload_ok": payload_bytes <= 2048})
    s_mem = _memory_bytes(simplified, samples[:MEMORY_MODELS])
    results.append({"name": "simplified_memory", "models": MEMORY_MODELS, "mb": round(s_mem / 2 ** 20, 3),
                    "bytes_per_model": s_mem // MEMORY_MODELS})

    r_mem = _memory_bytes(raw, samples[:MEMORY_MODELS])
    results.append({"name": "raw_freeze", "choices": CHOICES, "freeze_ms": round(r_ms, 4),
                    "ratio_raw_to_simplified": round(r_ms / s_ms, 2) if s_ms else None})
    results.append({"name": "raw_memory", "models": MEMORY_MODELS, "mb": round(r_mem / 2 ** 20, 3),
                    "target_mb": 5.0, "ok": r_mem <= 5 * 2 ** 20, "bytes_per_model": r_mem // MEMORY_MODELS})

    # building the module of a frozen model (deferred to executable_model in both formats)
    build = {}
    for name, space in (("simplified", simplified), ("raw", raw)):
        frozen = [space.freeze(s) for s in samples[:50]]
        started = time.perf_counter()
        for model in frozen:
            model.executable_model()
        build[name] = (time.perf_counter() - started) / len(frozen) * 1e3
    results.append({"name": "executable_model_build", "simplified_ms": round(build["simplified"], 3),
                    "raw_ms": round(build["raw"], 3),
                    "ratio_raw_to_simplified": round(build["raw"] / build["simplified"], 2)})
    return results


if __name__ == "__main__":
    # Run under the package name so TwentyChoiceNet is importable by path (not a __main__ class) for payloads.
    from benchmarks.bench_formats import run as _run
    for result in _run():
        print(json.dumps(result))
