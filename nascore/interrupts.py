"""Telling the user's Ctrl-C (or a ``kill``) apart from a ``KeyboardInterrupt`` / ``SystemExit`` raised by code.

While an experiment runs, :func:`handle_signals` turns SIGINT and SIGTERM into :class:`Interrupted` (a
``KeyboardInterrupt``) and remembers that a signal came. An engine that runs user code in this process asks
:func:`signal_received` when the code raises ``KeyboardInterrupt`` or ``SystemExit``: a signal means the user
stops the experiment; none means the trial itself raised it (``sys.exit()`` in an evaluator), which fails that
trial only. Lightning turns a Ctrl-C into ``SystemExit(1)``; the remembered signal still says what happened.
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Iterator, Optional

__all__ = ["Interrupted", "handle_signals", "signal_received", "is_user_interrupt"]


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when SIGINT or SIGTERM arrives during a run; ``signal_name`` says which."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


_received: Optional[str] = None
_depth = 0


def signal_received() -> Optional[str]:
    """The name of the signal (``"SIGINT"``/``"SIGTERM"``) that arrived during the current run, else None."""
    return _received


def is_user_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` (a ``KeyboardInterrupt``/``SystemExit`` out of user code) means "the user stops the run".

    Outside :func:`handle_signals` (an engine used on its own) a ``KeyboardInterrupt`` keeps its usual meaning."""
    if isinstance(exc, Interrupted) or _received is not None:
        return True
    return _depth == 0 and isinstance(exc, KeyboardInterrupt)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread while the block runs (the previous
    handlers come back afterwards). From another thread signals cannot be handled; the block just runs."""
    global _received, _depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        global _received
        name = signal.Signals(signum).name
        _received = _received or name
        raise Interrupted(name)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    if _depth == 0:
        _received = None
    _depth += 1
    try:
        for signum in previous:
            signal.signal(signum, handler)
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _received = None
        for signum, old in previous.items():
            signal.signal(signum, old if old is not None else signal.SIG_DFL)
