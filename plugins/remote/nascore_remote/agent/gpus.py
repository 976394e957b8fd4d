"""Which GPUs run compute processes that are not ours, from ``nvidia-smi`` (polled in a thread: it may
take a second, and the daemon's loop must not stall on it).

A process is ours when it is one of this daemon's workers or lives in a worker's session (each worker starts
a new session; a trial's children inherit it), so an idle worker that keeps a CUDA context does not make its
GPU look taken. A process we cannot place (another pid namespace) counts as foreign.
"""
import os
import subprocess
import sys
import threading


def _query(executable, what):
    try:
        out = subprocess.run([executable, what, "--format=csv,noheader"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, universal_newlines=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return [[part.strip() for part in line.split(",")] for line in out.stdout.splitlines() if line.strip()]


def compute_apps(executable):
    """``[(gpu index, pid or None)]`` for every compute process; [] when nvidia-smi is unavailable."""
    gpus = _query(executable, "--query-gpu=index,pci.bus_id")
    apps = _query(executable, "--query-compute-apps=gpu_bus_id,pid")
    if not gpus or not apps:
        return []
    by_bus = {row[1].upper(): int(row[0]) for row in gpus if len(row) >= 2 and row[0].isdigit()}
    found = []
    for row in apps:
        if row and row[0].upper() in by_bus:
            pid = int(row[1]) if len(row) >= 2 and row[1].isdigit() else None
            found.append((by_bus[row[0].upper()], pid))
    return found


def _session(pid):
    try:
        return os.getsid(pid)
    except OSError:
        return None


def foreign_gpus(apps, ours):
    """Sorted indices of GPUs in ``apps`` that run a process outside the worker pids ``ours``."""
    return sorted({index for index, pid in apps
                   if pid is None or (pid not in ours and _session(pid) not in ours)})


class GpuWatcher:
    """Keeps :attr:`apps` fresh: one query at construction (so the first hello is already right), then one
    every ``interval`` seconds in a daemon thread."""

    def __init__(self, executable, interval):
        self.executable = executable
        self.interval = max(0.05, interval)
        self.apps = compute_apps(executable)
        if not self.apps and _query(executable, "--query-gpu=index") is None:
            sys.stderr.write("nvidia-smi (%s) is not usable here: no GPU is considered busy\n" % executable)
        self._stop = threading.Event()
        threading.Thread(target=self._poll, daemon=True, name="gpu-watch").start()

    def _poll(self):
        while not self._stop.wait(self.interval):
            self.apps = compute_apps(self.executable)  # a plain assignment: the daemon reads it as is

    def busy(self, ours):
        return foreign_gpus(self.apps, ours)

    def stop(self):
        self._stop.set()
