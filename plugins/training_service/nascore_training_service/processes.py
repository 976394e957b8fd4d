"""Worker processes of the ``local`` training service: their handles, the trial each runs, how they end.

A worker leads its own process group (``start_new_session``), so killing the group takes the trial and
everything it spawned with it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from nascore.space import ModelStatus
from nascore.training_service import TrialLogs, TrialRequest

__all__ = ["RunningTrial", "WorkerProcess", "exit_reason", "worker_pythonpath"]


def exit_reason(returncode: int) -> str:
    """``"exit code 3"`` or ``"killed by signal SIGSEGV"``."""
    if returncode < 0:
        try:
            return f"killed by signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


@dataclass(eq=False)
class RunningTrial:
    """A trial handed to a worker, until its end is delivered."""

    request: TrialRequest
    logs: TrialLogs
    deadline: Optional[float]
    gpus: Optional[List[int]] = None
    ending: Optional[Tuple[ModelStatus, str]] = None  # why we are killing it (timeout, cancel, shutdown)
    ended: bool = False


@dataclass(eq=False)
class WorkerProcess:
    """One worker process and its pipes; ``trial`` is the trial it runs now (None when idle)."""

    proc: subprocess.Popen
    commands: int  # write end of the command pipe
    events: int  # read end of the event pipe
    env_key: Tuple[Tuple[str, str], ...]
    trial: Optional[RunningTrial] = None
    retiring: Optional[str] = None
    thread: Optional[threading.Thread] = field(default=None, repr=False)

    def usable(self, env_key) -> bool:
        return self.trial is None and self.retiring is None and env_key == self.env_key and not self.exited()

    def exited(self) -> bool:
        """Whether the worker has exited, without reaping it (its pid, hence its group id, stays ours)."""
        if self.proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the worker leads its own group (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass


def worker_pythonpath() -> str:
    """cwd and this process's extra import paths first (so evaluators importable here import there)."""
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    entries = [os.getcwd()]
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real and os.path.isdir(real) and not any(real.startswith(p + os.sep) for p in prefixes):
            entries.append(real)
    entries += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return os.pathsep.join(dict.fromkeys(entries))
