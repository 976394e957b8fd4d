"""Ending a trial's whole process tree: its process group and every descendant, including children that left the
group with ``setsid`` (a process group kill alone misses them). Linux reads ``/proc``; elsewhere only the group
is killed."""
from __future__ import annotations

import os
import signal
from typing import Dict, List

__all__ = ["descendants", "kill_tree"]


def _parents() -> Dict[int, int]:
    parents: Dict[int, int] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return parents
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return parents


def descendants(pid: int) -> List[int]:
    """Every living descendant of ``pid`` (children first), found through ``/proc``; [] where there is none."""
    children: Dict[int, List[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def kill_tree(pid: int, group: bool = True) -> None:
    """SIGKILL ``pid``'s descendants, then its process group (``group``, when ``pid`` leads one) or ``pid``.

    Descendants are collected before anything is killed, while they are still linked to ``pid``."""
    tree = descendants(pid)
    for target in tree:
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
