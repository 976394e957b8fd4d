"""Worker processes of the ``local`` training service: their handles, the trial each runs, how they end.

A worker leads its own process group (``start_new_session``); killing it takes the group and every descendant
(children that called ``setsid`` too) with it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from nascore.process_tree import kill_tree
from nascore.space import ModelStatus
from nascore.training_service import TrialLogs, TrialRequest

__all__ = ["RunningTrial", "WorkerProcess", "exit_reason", "worker_pythonpath", "worker_command", "log_tail"]

# Run before the worker imports anything: the packages nascore is made of load from where this process loaded
# them, whatever sits in the working directory or on PYTHONPATH (a clone's ``nascore/`` folder, say).
_BOOTSTRAP = """
import importlib.machinery, json, runpy, sys
pinned = json.loads(sys.argv[1])
class _Pinned:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in pinned:
            return importlib.machinery.PathFinder.find_spec(name, [pinned[name]])
        return None
sys.meta_path.insert(0, _Pinned)
sys.argv = [sys.argv[0]] + sys.argv[2:]
runpy.run_module("nascore_training_service.worker", run_name="__main__", alter_sys=True)
"""


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
    log: Optional[str] = None  # the worker's own output (before a trial's logs take over, and after)
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
        """Kill the worker, its group (it leads one: start_new_session) and every descendant (setsid ones too)."""
        kill_tree(self.proc.pid, group=True)


def _pinned_packages() -> dict:
    """``{top-level package: folder it was imported from}`` for nascore and its plugins, as loaded here."""
    pinned = {}
    for name, module in list(sys.modules.items()):
        if "." in name or not (name == "nascore" or name.startswith("nascore_")):
            continue
        locations = list(getattr(module, "__path__", None) or [])
        if locations:
            pinned[name] = os.path.dirname(os.path.realpath(locations[0]))
    pinned.setdefault("nascore", os.path.dirname(os.path.dirname(os.path.realpath(__import__("nascore").__file__))))
    return pinned


def worker_command(python: str, args: List[str]) -> List[str]:
    """The command line of a worker: the bootstrap pins nascore's packages to this process's (run it with
    ``PYTHONSAFEPATH=1`` so Python adds no working directory of its own; PYTHONPATH carries the user's)."""
    import json
    return [python, "-c", _BOOTSTRAP, json.dumps(_pinned_packages()), *args]


def log_tail(path: Optional[str], lines: int = 3, limit: int = 600) -> str:
    """The last ``lines`` non-empty lines of a log file (what a dead worker said last), or ""."""
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 8192))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-limit:]


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
