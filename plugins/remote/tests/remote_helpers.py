"""Helpers the remote tests import by name (a module of its own: every plugin's tests have a ``conftest``, and
``from conftest import ...`` reaches whichever was imported last in a whole-suite run)."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Callable, List

HERE = Path(__file__).parent
PYTHON = sys.executable  # the "remote" python is this venv's: nascore and the plugins are installed there


class Recorder:
    """A TrialListener that records every event and lets tests wait for conditions (no sleeps)."""

    def __init__(self) -> None:
        self.events: List = []
        self.cv = threading.Condition()

    def on_trial_metric(self, event) -> None:
        with self.cv:
            self.events.append(event)
            self.cv.notify_all()

    def on_trial_end(self, event) -> None:
        with self.cv:
            self.events.append(event)
            self.cv.notify_all()

    def ends(self):
        from nascore.training_service import TrialEnd
        return {e.trial_id: e for e in self.events if isinstance(e, TrialEnd)}

    def metrics(self, trial_id: str):
        from nascore.training_service import TrialMetric
        return [(e.kind, e.metric) for e in self.events if isinstance(e, TrialMetric) and e.trial_id == trial_id]

    def attempts(self, trial_id: str):
        """``(kind, metric, attempt)`` of every metric of ``trial_id``, in order."""
        from nascore.training_service import TrialMetric
        return [(e.kind, e.metric, e.attempt) for e in self.events
                if isinstance(e, TrialMetric) and e.trial_id == trial_id]

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0) -> None:
        # woken by events, and re-checked every 20 ms for conditions that are not events (machine status)
        deadline = time.monotonic() + timeout
        with self.cv:
            while not predicate():
                assert time.monotonic() < deadline, f"timed out; events so far: {self.events}"
                self.cv.wait(0.02)

    def wait_ended(self, *trial_ids: str, timeout: float = 60.0) -> None:
        self.wait(lambda: all(t in self.ends() for t in trial_ids), timeout)


def agent_processes(run_id: str) -> List[int]:
    """Pids of processes (agent daemon, relays, workers) started for service ``run_id``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "agent.py" in cmdline and f"/run/{run_id}-" in cmdline:
                pids.append(int(entry.name))
    return pids
