"""What the ``ray`` service tracks per trial and per slot, and the per-trial bookkeeping: which metrics to deliver
after a re-run, where its logs go."""
from __future__ import annotations

import base64
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from nascore.space import ModelStatus
from nascore.training_service import TrialMetric, TrialRequest

__all__ = ["RunningTrial", "Slot"]

_logger = logging.getLogger(__name__)

_STDERR_TAIL = 64 * 1024


@dataclass(eq=False)
class RunningTrial:
    """A submitted trial until its end is delivered (over every attempt, when its node died)."""

    request: TrialRequest
    directory: Path
    payload: str
    node_failures: int = 0
    intermediates: int = 0  # intermediate metrics delivered (over every attempt)
    skip: int = 0  # intermediates of this attempt that an earlier attempt already delivered
    final_sent: bool = False
    ending: Optional[Tuple[ModelStatus, str]] = None  # why we are stopping it (timeout, cancel, shutdown)
    ended: bool = False
    slot: Optional["Slot"] = None

    def accept(self, event: TrialMetric) -> bool:
        """Whether to deliver ``event``: not after the end, not what an earlier attempt delivered, one final."""
        if self.ended or self.ending is not None:
            return False
        if event.kind == "intermediate":
            if self.skip > 0:
                self.skip -= 1
                return False
            self.intermediates += 1
            return True
        if self.final_sent:
            return False
        self.final_sent = True
        return True

    def write_logs(self, logs: Dict[str, Any]) -> None:
        """Append log text sent back from a node that could not write the experiment directory."""
        for stream in ("stdout", "stderr"):
            text = logs.get(stream) or ""
            if text:
                with open(self.directory / f"{stream}.log", "a", errors="replace") as f:
                    f.write(text)

    def write_weights(self, weights: List[List[str]]) -> None:
        """Write weights files sent back from such a node (``[path, base64 bytes]``) to their paths here, each
        through a temporary file so a reader never sees half a file."""
        for path, data in weights:
            try:
                target = Path(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
                tmp.write_bytes(base64.b64decode(data))
                os.replace(tmp, target)
            except OSError as exc:  # the result stands without its weights (as with the remote service)
                _logger.warning("ray: could not write the weights of %s to %s: %s", self.request.trial_id, path, exc)

    def note(self, text: str) -> None:
        with open(self.directory / "stderr.log", "a") as f:
            f.write(f"\nnascore-ray: {text}\n")

    def stderr_tail(self) -> str:
        try:
            with open(self.directory / "stderr.log", "rb") as f:
                f.seek(max(0, f.seek(0, 2) - _STDERR_TAIL))
                return f.read().decode(errors="replace")
        except OSError:
            return ""


@dataclass(eq=False)
class Slot:
    """One trial that may run at once: its thread and its actor (None while it has none)."""

    index: int
    actor: Any = None
    info: Optional[Dict[str, Any]] = None
    trial: Optional[RunningTrial] = None
    thread: Optional[threading.Thread] = None
