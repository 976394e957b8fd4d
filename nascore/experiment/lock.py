"""One owner per experiment directory: an OS lock (``flock``) on ``nascore.lock``, held for the whole run.

The kernel drops the lock when the owning process dies (SIGKILL, crash, power loss of a local disk), so a dead
owner never blocks a resume. The file's content names the owner (pid, host, start time) for the refusal message.
Viewers never take the lock: :func:`lock_owner` only asks whether someone holds it.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

try:
    import fcntl
except ImportError:  # not POSIX (Windows): no owner lock there; one process per experiment is then up to the user
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "ExperimentLock", "ExperimentLockedError", "lock_owner"]

LOCK_NAME = "nascore.lock"
_logger = logging.getLogger(__name__)
# A viewer probing the lock holds it for microseconds; an owner starting at that instant retries this long.
_ACQUIRE_GRACE = 0.5


class ExperimentLockedError(RuntimeError):
    """Another live process owns the experiment directory."""

    def __init__(self, directory: Path, owner: Dict[str, Any]):
        self.directory = directory
        self.owner = owner
        pid, host = owner.get("pid", "?"), owner.get("host", "?")
        since = owner.get("since")
        when = f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(since))}" if since else ""
        super().__init__(
            f"experiment {directory} is already running: owned by process {pid} on host {host}{when}. "
            f"Only one process may run an experiment at a time; wait for it to end, stop it (Ctrl-C, or "
            f"`kill -INT {pid}` on {host}), or view it read-only with `nascore view {directory}`")


def _read_owner(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


class ExperimentLock:
    """The held lock of one experiment directory. :meth:`acquire` it, :meth:`release` it at the run's end."""

    def __init__(self, directory: Path, fd: int):
        self.directory = directory
        self._fd: Optional[int] = fd

    @property
    def path(self) -> Path:
        return self.directory / LOCK_NAME

    @classmethod
    def acquire(cls, directory: Union[str, Path]) -> "ExperimentLock":
        """Take the lock of ``directory`` (created if needed) or raise :class:`ExperimentLockedError`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        deadline = time.monotonic() + _ACQUIRE_GRACE
        while fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL):
                    _logger.warning("%s: this file system cannot lock files (%s); nothing stops a second process "
                                    "from running this experiment at the same time", path, exc.strerror)
                    break
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    os.close(fd)
                    raise
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise ExperimentLockedError(directory, _read_owner(path)) from None
                time.sleep(0.01)  # bounded: a viewer's probe lasts microseconds
        owner = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(owner).encode(), 0)
        return cls(directory, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (idempotent). The owner record is cleared so the file names nobody."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> "ExperimentLock":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def lock_owner(directory: Union[str, Path]) -> Optional[Dict[str, Any]]:
    """Who owns ``directory`` now: ``{"pid", "host", "since"}`` (possibly empty if unreadable), or None when no
    live process holds its lock. Takes nothing: a shared probe released at once, and it works read-only."""
    path = Path(directory) / LOCK_NAME
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None  # never locked (or written by a version without locks): nobody owns it
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return _read_owner(path)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
