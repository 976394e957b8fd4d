"""A one-line live progress display (only when stdout is a terminal) and the final summary line."""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Dict, Optional, TextIO

__all__ = ["Progress", "format_summary"]


def _best(counts: Dict[str, object]) -> str:
    best = counts.get("best")
    return "-" if best is None else f"{best:.4g}"  # type: ignore[str-format]


def format_line(stats: Dict[str, object], elapsed: float) -> str:
    return (f"trials: {stats.get('done', 0)} done, {stats.get('running', 0)} running, "
            f"{stats.get('failed', 0)} failed | best {_best(stats)} | {elapsed:.0f}s")


def format_summary(experiment_id: str, status: str, stats: Dict[str, object], elapsed: float,
                   directory: str) -> str:
    return (f"experiment {experiment_id} {status}: {stats.get('done', 0)} trials done, {stats.get('failed', 0)} "
            f"failed, best metric {_best(stats)}, {elapsed:.1f}s; store: {directory}")


class Progress:
    """Rewrites one line with ``\\r`` every ``interval`` seconds while the experiment runs."""

    def __init__(self, stats: Callable[[], Dict[str, object]], stream: Optional[TextIO] = None,
                 interval: float = 0.5) -> None:
        self.stats = stats
        self.stream = stream or sys.stdout
        self.interval = interval
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._started = time.monotonic()
        self._width = 0

    def __enter__(self) -> "Progress":
        self._started = time.monotonic()
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="nascore-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._write("")  # clear the live line before the summary is printed
            self.stream.write("\r")
            self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._write(format_line(self.stats(), time.monotonic() - self._started))
            except Exception:  # noqa: BLE001 - a display must never break the experiment
                pass

    def _write(self, line: str) -> None:
        padding = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * padding)
        self.stream.flush()
