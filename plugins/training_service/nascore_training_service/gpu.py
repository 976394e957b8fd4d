"""GPU placement for trials on one machine: a pure scheduler (no I/O) plus nvidia-smi helpers.

``GpuScheduler`` is shared by every service that places trials on GPUs (local here; the remote service keeps
one per machine).
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from typing import Collection, Dict, List, Optional, Sequence, Set

__all__ = ["GpuScheduler", "detect_gpus", "busy_gpus", "cuda_env"]


def cuda_env(indices: Optional[Sequence[int]]) -> Dict[str, str]:
    """The environment a trial gets for ``indices`` (None: do not touch; []: hide every GPU)."""
    if indices is None:
        return {}
    return {"CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in indices)}


class GpuScheduler:
    """Assigns GPUs to trials: at most ``max_trial_number_per_gpu`` trials per GPU, least-loaded GPUs first.

    With ``use_active_gpu=False``, a GPU that runs processes we did not start (``busy`` passed by the caller,
    e.g. from :func:`busy_gpus`) is skipped. The scheduler never looks at the machine itself, so it is tested
    and reused without GPUs.
    """

    def __init__(self, gpu_indices: Sequence[int], max_trial_number_per_gpu: int = 1,
                 use_active_gpu: bool = True) -> None:
        if max_trial_number_per_gpu < 1:
            raise ValueError(f"max_trial_number_per_gpu must be >= 1, got {max_trial_number_per_gpu}")
        if len(set(gpu_indices)) != len(gpu_indices):
            raise ValueError(f"gpu_indices has duplicates: {list(gpu_indices)}")
        self.gpu_indices = list(gpu_indices)
        self.max_trial_number_per_gpu = max_trial_number_per_gpu
        self.use_active_gpu = use_active_gpu
        self._load: Dict[int, int] = {i: 0 for i in self.gpu_indices}
        self._assigned: Dict[str, List[int]] = {}

    def _candidates(self, busy: Collection[int]) -> List[int]:
        usable = [i for i in self.gpu_indices if self._load[i] < self.max_trial_number_per_gpu
                  and (self.use_active_gpu or i not in busy or self._load[i] > 0)]
        # busy GPUs on which our own trials run count as ours: their processes are ours
        return sorted(usable, key=lambda i: (self._load[i], self.gpu_indices.index(i)))

    def acquire(self, trial_id: str, number: int, busy: Collection[int] = ()) -> Optional[List[int]]:
        """GPUs for ``trial_id`` (recorded until :meth:`release`), or None when ``number`` do not fit now."""
        if number > len(self.gpu_indices):
            raise ValueError(f"a trial needs {number} GPU(s) but only {len(self.gpu_indices)} are configured "
                             f"(gpu_indices={self.gpu_indices}); lower trial_gpu_number or add GPUs")
        if trial_id in self._assigned:
            raise ValueError(f"trial {trial_id!r} already holds GPUs {self._assigned[trial_id]}")
        chosen = self._candidates(busy)[:number]
        if len(chosen) < number:
            return None
        for i in chosen:
            self._load[i] += 1
        self._assigned[trial_id] = sorted(chosen)
        return sorted(chosen)

    def release(self, trial_id: str) -> None:
        for i in self._assigned.pop(trial_id, []):
            self._load[i] -= 1

    def free_slots(self, number: int, busy: Collection[int] = ()) -> int:
        """How many more trials needing ``number`` GPUs each would fit right now."""
        if number <= 0:
            return sys.maxsize
        spare = {i: self.max_trial_number_per_gpu - self._load[i] for i in self._candidates(busy)}
        count = 0
        while True:  # place greedily on the GPUs with the most spare room, as acquire would
            best = sorted((i for i in spare if spare[i] > 0), key=lambda i: -spare[i])[:number]
            if len(best) < number:
                return count
            for i in best:
                spare[i] -= 1
            count += 1

    def assigned(self, trial_id: str) -> Optional[List[int]]:
        return self._assigned.get(trial_id)


def _nvidia_smi(*query: str) -> Optional[List[str]]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, *query, "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else None


def detect_gpus() -> List[int]:
    """Indices of this machine's GPUs: nvidia-smi, else ``torch.cuda.device_count()`` in a subprocess (so
    CUDA is never initialised in the experiment process, which would break forked workers). Cached."""
    return list(_detect_gpus())


@functools.lru_cache(maxsize=1)
def _detect_gpus() -> tuple:
    lines = _nvidia_smi("--query-gpu=index")
    if lines is not None:
        return tuple(int(line) for line in lines)
    code = "import torch; print(torch.cuda.device_count())"
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        return tuple(range(int(out.stdout.strip() or 0)))
    except (OSError, subprocess.SubprocessError, ValueError):
        return ()


def busy_gpus() -> Set[int]:
    """GPUs that run compute processes (any owner), from nvidia-smi; empty when it is unavailable."""
    gpus = _nvidia_smi("--query-gpu=index,pci.bus_id") or []
    apps = _nvidia_smi("--query-compute-apps=gpu_bus_id") or []
    by_bus = {line.split(",")[1].strip(): int(line.split(",")[0]) for line in gpus if "," in line}
    return {by_bus[bus] for bus in apps if bus in by_bus}
