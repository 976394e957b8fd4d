"""What an experiment shows while it runs, and the summary line at its end.

On a terminal, one line is rewritten in place: ``12/50 trials, 2 running, 1 failed, best 0.93 (#7), 1m20s, ETA 4m``.
When stdout is not a terminal (a log file, CI), a plain line is printed for each finished trial instead, so a
log shows every result once. ``NASCORE_PROGRESS=off`` silences both (``line``/``lines`` force one style).
"""
from __future__ import annotations

import math
import os
import sys
import threading
import time
from typing import Any, Callable, Dict, Optional, TextIO

__all__ = ["Progress", "format_summary", "format_line", "format_duration"]


def format_duration(seconds: float) -> str:
    """``45s``, ``1m20s``, ``4m``, ``1h05m``: short, and exact enough for a progress line."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s" if secs and minutes < 10 else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _best(stats: Dict[str, Any]) -> str:
    best = stats.get("best")
    if best is None:
        return "-"
    text = f"{best:.4g}"
    return f"{text} (#{stats['best_id']})" if stats.get("best_id") is not None else text


def _finished(stats: Dict[str, Any]) -> int:
    return int(stats.get("finished", int(stats.get("done", 0)) + int(stats.get("failed", 0))))


def eta(stats: Dict[str, Any], elapsed: float) -> Optional[float]:
    """Seconds left: the pace so far times the trials left of the budget, capped by the time budget."""
    left = []
    budget, finished = stats.get("budget"), _finished(stats)
    this_run = finished - int(stats.get("finished_at_start", 0))  # a resumed run's pace counts its own trials
    if budget and this_run > 0 and elapsed > 0:
        left.append(elapsed / this_run * max(0, int(budget) - finished))
    if stats.get("time_budget"):
        left.append(max(0.0, float(stats["time_budget"]) - elapsed))
    return min(left) if left else None


def format_line(stats: Dict[str, Any], elapsed: float) -> str:
    """``12/50 trials, 2 running, 1 failed, best 0.93 (#7), 1m20s, ETA 4m`` (parts without data left out)."""
    finished = _finished(stats)
    budget = stats.get("budget")
    parts = [f"{finished}/{budget} trials" if budget else f"{finished} trials",
             f"{stats.get('running', 0)} running", f"{stats.get('failed', 0)} failed"]
    for key, word in (("stopped", "early-stopped"), ("rejected", "rejected")):
        if stats.get(key):
            parts.append(f"{stats[key]} {word}")
    parts += [f"best {_best(stats)}", format_duration(elapsed)]
    left = eta(stats, elapsed)
    if left is not None and finished < int(budget or math.inf):
        parts.append(f"ETA {format_duration(left)}")
    return ", ".join(parts)


def format_summary(experiment_id: str, status: str, stats: Dict[str, Any], elapsed: float,
                   directory: str) -> str:
    """The one-line summary printed when an experiment ends (trials done/early-stopped/failed, best metric, time,
    store)."""
    no_metric = stats.get("no_metric") or 0
    failed = f"{stats.get('failed', 0)} failed" + (f" ({no_metric} without a usable final metric)" if no_metric else "")
    kept, size = stats.get("weights") or (0, 0)
    weights = f"; trained weights of {kept} model(s) kept ({size / 1e6:.1f} MB)" if kept else ""
    stopped = f"{stats['early_stopped']} early-stopped, " if stats.get("early_stopped") else ""
    return (f"experiment {experiment_id} {status}: {stats.get('done', 0)} trials done, {stopped}{failed}, "
            f"best metric {_best(stats)}, {elapsed:.1f}s{weights}; store: {directory}")


def _trial_line(model: Any, stats: Dict[str, Any], elapsed: float) -> str:
    status = getattr(getattr(model, "status", None), "value", getattr(model, "status", "?"))
    metric = getattr(model, "metric", None)
    what = f"trial #{model.model_id} {status}"
    if isinstance(metric, (int, float)) and not isinstance(metric, bool):
        what += f", metric {metric:.4g}"
    reason = getattr(model, "failure_reason", None)
    if reason and status != "trained":
        what += f": {reason.splitlines()[0][:100]}" if reason.strip() else ""
    return f"{what} | {format_line(stats, elapsed)}"


def _mode(stream: TextIO) -> str:
    chosen = os.environ.get("NASCORE_PROGRESS", "auto").strip().lower()
    if chosen in ("off", "0", "no", "false", "none"):
        return "off"
    if chosen in ("line", "lines"):
        return chosen
    return "line" if bool(getattr(stream, "isatty", lambda: False)()) else "lines"


class Progress:
    """While the experiment runs: a live line on a terminal (rewritten every ``interval`` seconds), else one
    printed line per finished trial (:meth:`trial_finished`)."""

    def __init__(self, stats: Callable[[], Dict[str, Any]], stream: Optional[TextIO] = None,
                 interval: float = 0.5) -> None:
        self.stats = stats
        self.stream = stream or sys.stdout
        self.interval = interval
        self.mode = _mode(self.stream)
        self.enabled = self.mode == "line"
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._started = time.monotonic()
        self._width = 0
        self._lock = threading.Lock()
        self._finished_at_start = 0

    def __enter__(self) -> "Progress":
        self._started = time.monotonic()
        self._stop.clear()
        try:
            self._finished_at_start = _finished(self.stats())
        except Exception:  # noqa: BLE001
            self._finished_at_start = 0
        if self.enabled:
            self._thread = threading.Thread(target=self._loop, name="nascore-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            with self._lock:
                self._write("")  # clear the live line before the summary is printed
                self.stream.write("\r")
                self.stream.flush()
        self._thread = None

    def trial_finished(self, model: Any) -> None:
        """Called once per finished trial: prints its line when the output is not a terminal."""
        if self.mode != "lines" or self._stop.is_set():
            return
        try:
            line = _trial_line(model, self._current(), time.monotonic() - self._started)
            with self._lock:
                self.stream.write(line + "\n")
                self.stream.flush()
        except Exception:  # noqa: BLE001 - a display must never break the experiment
            pass

    def _current(self) -> Dict[str, Any]:
        return {**self.stats(), "finished_at_start": self._finished_at_start}

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                line = format_line(self._current(), time.monotonic() - self._started)
                with self._lock:
                    self._write(line)
            except Exception:  # noqa: BLE001 - a display must never break the experiment
                pass

    def _write(self, line: str) -> None:
        padding = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write("\r" + line + " " * padding)
        self.stream.flush()
