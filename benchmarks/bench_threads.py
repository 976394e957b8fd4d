"""In-process training with one core kept busy by another process: torch's default threads (one per core) vs
``nascore.cpu.training_threads()`` (the cores actually free), side by side, alternating, 3 rounds each.

The workload is a small CNN on 8x8 inputs for a fixed number of steps (what the one-shot example and
sequential trials do). Reported: median seconds of each and their ratio (default / sized; >1 means sizing helps).
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Dict, List

STEPS = 150
SPIN = "import time\nend = time.time() + 600\nwhile time.time() < end: pass\n"


def _train(threads: int) -> float:
    import torch
    from torch import nn
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(32 * 64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(128, 1, 8, 8), torch.randint(0, 10, (128,))
    started = time.perf_counter()
    for _ in range(STEPS):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - started


def run() -> List[Dict[str, object]]:
    from nascore.cpu import available_cores, training_threads
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])  # another user's process keeps a core busy
    try:
        time.sleep(0.5)  # let the spinner get going before the load is measured
        sized = training_threads()
        default = available_cores()
        times: Dict[str, List[float]] = {"default": [], "sized": []}
        for _ in range(3):
            times["default"].append(_train(default))
            times["sized"].append(_train(sized))
    finally:
        spinner.kill()
        spinner.wait()
    d, s = statistics.median(times["default"]), statistics.median(times["sized"])
    return [{"steps": STEPS, "cores": default, "default_threads": default, "sized_threads": sized,
             "default_s": round(d, 3), "sized_s": round(s, 3), "ratio_default_over_sized": round(d / s, 2)}]
