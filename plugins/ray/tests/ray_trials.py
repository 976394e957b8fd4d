"""Trial functions run by the tests (imported by module path on the Ray nodes: this folder is the code directory)."""
from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict

from nascore.trial import report_final_result, report_intermediate_result


def _wait_for(path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):  # the test creates it once it has seen what it waits for
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.02)


def steps(sample: Dict[str, Any]) -> None:
    """Reports x, 2x, 3x (after the first, waits for ``sample['gate']`` if given), then final 10x."""
    x = sample["x"]
    print(f"trial x={x} on pid {os.getpid()}")
    print(f"trial x={x} stderr line", file=sys.stderr)
    report_intermediate_result(x)
    if sample.get("marker"):
        Path(sample["marker"]).write_text(os.environ.get("NASCORE_RAY_TEST_NODE", ""))
    if sample.get("gate"):
        _wait_for(sample["gate"])
    report_intermediate_result(2 * x)
    report_intermediate_result(3 * x)
    report_final_result(10 * x)


def crash(sample: Dict[str, Any]) -> None:
    report_intermediate_result(1)
    how = sample["how"]
    if how == "raise":
        raise ValueError("trial raises on purpose")
    if how == "exit":
        os._exit(3)
    if how == "segfault":
        ctypes.string_at(0)
    if how == "hang":
        time.sleep(600)
    report_final_result(1)


def gpus(sample: Dict[str, Any]) -> None:
    import ray
    print(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r} ray={ray.get_gpu_ids()!r}")
    if sample.get("gate"):
        _wait_for(sample["gate"])
    report_final_result(1)


def cuda_devices(sample: Dict[str, Any]) -> None:
    import torch
    torch.zeros(1, device="cuda")  # really uses the GPU Ray assigned
    report_final_result(torch.cuda.device_count())
