"""Bringing machines up, re-attaching after a dropped connection (with backoff) and removing agents. The
service keeps the trial bookkeeping; these functions only deal with connections and agents."""
from __future__ import annotations

import concurrent.futures
import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from nascore_remote.connection import RemoteError
from nascore_remote.machine import RemoteMachine, _LazyArchive
from nascore_remote.upload import CodeTree

__all__ = ["ORPHAN_TIMEOUT", "bring_up", "reattach", "remove_agent"]

#: how long a detached agent waits for its client to come back before it stops its trials and exits
ORPHAN_TIMEOUT = 600.0


def bring_up(machines: Sequence[RemoteMachine], code: CodeTree, plugins: Dict[str, str]) -> Dict[int, Dict[str, Any]]:
    """Connect, prepare and attach every machine in parallel; ``{machine index: hello reply}``. If any
    fails, the agents already started are removed and a :class:`RemoteError` lists every problem."""
    archive = _LazyArchive(code)

    def up(machine: RemoteMachine) -> Dict[str, Any]:
        machine.connect()
        machine.prepare(code, plugins, archive)
        return machine.attach(0, ORPHAN_TIMEOUT, retire=True)

    with concurrent.futures.ThreadPoolExecutor(len(machines)) as pool:
        futures = [pool.submit(up, m) for m in machines]
        errors = [f.exception() for f in futures]
    problems = [str(e) for e in errors if e is not None]
    if problems:
        for machine in machines:
            remove_agent(machine)
        raise RemoteError("training service 'remote' cannot use every machine:\n  " + "\n  ".join(problems))
    return {m.index: f.result() for m, f in zip(machines, futures)}


def reattach(machine: RemoteMachine, after: int, timeout: float,
             closed: Callable[[], bool]) -> Tuple[Optional[Dict[str, Any]], Optional[BaseException]]:
    """Reconnect and say hello asking for the events after ``after``, retrying with backoff for ``timeout``
    seconds or until ``closed()``: ``(hello reply, None)``, or ``(None, last error)`` on giving up."""
    deadline = time.monotonic() + timeout
    delay = 0.1
    error: Optional[BaseException] = None
    while not closed() and time.monotonic() < deadline:
        try:
            machine.connect()
            return machine.attach(after, ORPHAN_TIMEOUT), None
        except Exception as exc:  # noqa: BLE001 - every failure means: try again later
            error = exc
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 2, 5.0)
    return None, error


def remove_agent(machine: RemoteMachine, wait: Optional[threading.Thread] = None) -> None:
    """Ask the agent to kill its trials and remove itself, wait until it hung up, close the connection.
    ``wait``: the machine's reader thread, which returns when the agent closes the channel."""
    if machine.send({"op": "shutdown"}) and wait is not None and wait is not threading.current_thread():
        wait.join(timeout=10)
    elif machine.channel is not None and wait is None:
        while machine.receive() is not None:  # no reader thread yet: drain until the agent hangs up
            pass
    machine.close()

