"""Finding and ending the processes of a Ray instance by a marker in their environment (every process a Ray node
starts inherits it), and the reaper: ``python -m nascore_ray.processes PARENT_PID NAME VALUE`` waits until the
experiment process PARENT dies -- SIGKILL included -- then kills every process marked ``NAME=VALUE``."""
from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import List

__all__ = ["processes_with_env", "kill_marked", "PRIVATE_MARKER"]

PRIVATE_MARKER = "NASCORE_RAY_PRIVATE"


def processes_with_env(name: str, value_prefix: str) -> List[int]:
    """Pids whose environment has ``name`` starting with ``value_prefix`` (this process excluded)."""
    needle = f"{name}={value_prefix}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if any(item.startswith(needle) for item in environ.split(b"\0")):
            found.append(int(entry.name))
    return found


def kill_marked(name: str, value_prefix: str, rounds: int = 20) -> List[int]:
    """SIGKILL every process marked ``name=value_prefix...``, sweeping until none is left (a dying raylet may
    still start a worker); returns the pids killed."""
    killed: List[int] = []
    for _ in range(rounds):
        pids = processes_with_env(name, value_prefix)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return killed


def _reap(parent: int, name: str, value: str) -> None:
    while os.getppid() == parent:  # re-parented: the experiment process is gone, however it died
        time.sleep(0.5)
    kill_marked(name, value)


if __name__ == "__main__":  # pragma: no cover - run as a process by the tests
    _reap(int(sys.argv[1]), sys.argv[2], sys.argv[3])
