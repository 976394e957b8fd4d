"""Finding and ending every process a trial started, and retiring the agents of an earlier run.

A trial's worker is started with ``NASCORE_TRIAL_TREE=<tag>`` in its environment; every process it spawns
inherits it, including children that call ``setsid()`` (which leave the worker's process group, so a group
kill misses them). Ending a trial kills its group, then every process of ours whose environment carries the
tag. Linux ``/proc`` only; elsewhere the group kill is all there is.
"""
import os
import signal
import time

TREE_VAR = "NASCORE_TRIAL_TREE"


def _pids():
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def tagged(tag):
    """Pids of our processes whose environment holds ``NASCORE_TRIAL_TREE=tag``."""
    needle = ("%s=%s\0" % (TREE_VAR, tag)).encode()
    found = []
    for pid in _pids():
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                if needle in f.read() + b"\0":
                    found.append(pid)
        except OSError:  # gone, or another user's
            continue
    return found


def kill_tree(group_leader, tag, group=True):
    """SIGKILL the process group of ``group_leader`` and every process tagged ``tag`` (setsid children too) but
    this one; ``group=False``: the tagged processes only (a worker ending what its cancelled trial started)."""
    if group:
        try:
            os.killpg(group_leader, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in tagged(tag) if tag else []:
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def alive(pid):
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
            return True
        except OSError:
            return False


def retire_others(own_dir, owner, timeout=10.0):
    """Stop the daemons of earlier runs of the same experiment (``owner`` file equal to ours) on this machine:
    their trials are being re-run by the new owner and must not finish twice. Waits until they are gone."""
    parent = os.path.dirname(own_dir)
    pids = []
    try:
        names = os.listdir(parent)
    except OSError:
        return []
    for name in names:
        path = os.path.join(parent, name)
        if path == own_dir:
            continue
        try:
            with open(os.path.join(path, "owner")) as f:
                if f.read().strip() != owner:
                    continue
            with open(os.path.join(path, "agent.pid")) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if path.encode() not in f.read():
                    continue  # the pid was reused by something else
            os.kill(pid, signal.SIGTERM)  # the daemon kills its trials and removes its run directory
            pids.append(pid)
        except (OSError, ValueError):
            continue
    deadline = time.time() + timeout
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.02)  # bounded: the daemon's SIGTERM handler kills its workers and exits
    for pid in pids:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return pids
