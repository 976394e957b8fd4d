"""A trial worker: ``python -m nascore_training_service.worker --commands-fd R --events-fd W [--once]``.

Reads one JSON command per line from fd R (``{"trial_id", "payload_file", "stdout", "stderr"}``), runs the
trial with :func:`nascore.training_service.run_trial` with fd 1/2 redirected into the trial's log files, and
writes JSON event lines to fd W. Before a trial's end event it may write ``{"event": "retire", "reason"}``:
the trial left something behind (non-daemon threads), so the worker exits after that trial instead of
taking another. With ``--once`` it exits after one trial. It kills its own process group when its parent
dies, so no trial outlives the experiment.
"""
from __future__ import annotations

import argparse
import faulthandler
import importlib
import json
import os
import signal
import sys
import threading
import time

from nascore.process_tree import descendants, kill_tree
from nascore.training_service import EventWriter, run_trial
from nascore.trial_state import TrialState


#: the parent sends this to cancel the running trial without killing the worker (see LocalTrainingService.cancel)
CANCEL_SIGNAL = signal.SIGUSR1
_running = threading.Event()
_cancelled = threading.Event()


class TrialCancelled(BaseException):
    """Raised in the trial (main thread) when the parent cancels it; the trial ends and the worker stays."""


def _on_cancel(signum, frame) -> None:
    if _running.is_set():  # between trials a late signal is ignored
        _running.clear()
        _cancelled.set()
        raise TrialCancelled("cancelled by the experiment")


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # re-parented: the experiment is gone
            kill_tree(os.getpid(), group=os.getpgid(0) == os.getpid())  # setsid'd children of a trial too


def _live_threads() -> set:
    return {t for t in threading.enumerate() if t.is_alive() and not t.daemon}


def _run_one(command: dict, emit: EventWriter) -> bool:
    """Run one trial; True when the worker must retire afterwards."""
    trial_id = command["trial_id"]
    with open(command["payload_file"]) as f:
        payload = json.load(f)
    state, threads = TrialState.capture(), _live_threads()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(command["stdout"], "ab", buffering=0) as out, open(command["stderr"], "ab", buffering=0) as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            # when the trial really begins: a worker's start-up (imports) is not charged to its duration
            emit.raw({"event": "started", "trial_id": trial_id, "time": time.time()})
            _cancelled.clear()
            _running.set()
            try:
                end = run_trial(payload, emit, trial_id)
            finally:
                _running.clear()
                if _cancelled.is_set():  # processes the cancelled trial started go with it, as with a kill
                    for pid in descendants(os.getpid()):
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except (ProcessLookupError, PermissionError):
                            pass
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    # the next trial here starts as in a fresh worker: environment, cwd, dtype, RNG states, rlimits put back
    problem = state.restore()
    leaked = sorted(t.name for t in _live_threads() - threads)
    if leaked:
        problem = f"left threads running: {', '.join(leaked)}"
    if problem:
        emit.raw({"event": "retire", "reason": f"trial {trial_id} {problem}"})
    emit(end)
    return bool(problem)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nascore_training_service.worker")
    parser.add_argument("--commands-fd", type=int, required=True)
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--once", action="store_true", help="exit after one trial")
    parser.add_argument("--preload", default="torch", help="comma-separated modules to import up front")
    args = parser.parse_args(argv)
    for fd in (args.commands_fd, args.events_fd):
        os.set_inheritable(fd, False)  # trial subprocesses must not hold our pipes open
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="nascore-parent-watch", daemon=True).start()
    signal.signal(CANCEL_SIGNAL, _on_cancel)
    faulthandler.enable()  # a segfault's traceback lands in the trial's stderr (fd 2 at that moment)
    for module in filter(None, args.preload.split(",")):
        try:  # the point of a warm worker: pay these imports once, before the first trial arrives
            importlib.import_module(module)
        except ImportError as exc:
            print(f"nascore worker: cannot preload {module!r}: {exc}", file=sys.stderr)
    from nascore.plugins import get_plugin_manager
    get_plugin_manager()
    emit = EventWriter(args.events_fd)
    with os.fdopen(args.commands_fd, "rb") as commands:
        for line in commands:
            if not line.strip():
                continue
            if _run_one(json.loads(line), emit) or args.once:
                break
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # do not wait for threads a trial left behind


if __name__ == "__main__":
    main()
