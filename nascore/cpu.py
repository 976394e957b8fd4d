"""How many threads training in this process (or a trial) should use: the cores actually free.

torch starts one intra-op thread per core; when another process keeps a core busy, contended OpenMP threads
slow to a crawl (a 2-core machine with one busy core ran a one-shot search several times slower). A user's
``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` (or ``NASCORE_THREADS``) always wins.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Iterator, Optional

__all__ = ["available_cores", "free_cores", "user_threads", "training_threads", "sized_torch_threads"]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity; a container's limit)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _physical_cores() -> Optional[int]:
    """Physical cores (torch's default thread count on machines with hyper-threading), when Linux says."""
    try:
        with open("/proc/cpuinfo") as f:
            pairs, physical = set(), None
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical = value.strip()
                elif key == "core id":
                    pairs.add((physical, value.strip()))
        return len(pairs) or None
    except OSError:
        return None


def _cpu_times() -> Optional[tuple]:
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return fields[3] + fields[4], sum(fields)  # idle + iowait, total


def free_cores(sample: float = 0.2) -> int:
    """Cores idle over the next ``sample`` seconds (Linux ``/proc/stat``), between 1 and :func:`available_cores`;
    elsewhere all available cores."""
    first = _cpu_times()
    if first is None:
        return available_cores()
    time.sleep(sample)  # measuring the machine's load over a short window
    second = _cpu_times()
    idle, total = second[0] - first[0], second[1] - first[1]  # type: ignore[index]
    if total <= 0:
        return available_cores()
    idle_cores = idle / total * (os.cpu_count() or 1)
    return max(1, min(available_cores(), int(idle_cores + 0.5)))


def user_threads() -> Optional[int]:
    """Threads the user asked for (``NASCORE_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``), or None."""
    for name in ("NASCORE_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def training_threads(slots: int = 1) -> int:
    """Intra-op threads for each of ``slots`` trainings running at once: the user's setting, else the free cores
    split between them (at least 1)."""
    return user_threads() or max(1, free_cores() // max(1, slots))


@contextlib.contextmanager
def sized_torch_threads() -> Iterator[Optional[int]]:
    """While the block runs, torch in this process uses :func:`training_threads` threads — unless torch is not
    loaded, or the user set a thread count (environment, or ``torch.set_num_threads`` before): then nothing
    changes. The previous count comes back afterwards."""
    torch = sys.modules.get("torch")
    if torch is None or user_threads() is not None:
        yield None
        return
    before = torch.get_num_threads()
    if before not in (available_cores(), _physical_cores()):  # not torch's default: the user chose it
        yield None
        return
    threads = training_threads()
    torch.set_num_threads(threads)
    try:
        yield threads
    finally:
        torch.set_num_threads(before)
