"""``worker``: runs trial after trial in this process. Commands (JSON lines) come on stdin; each trial's
stdout/stderr go to the files the command names; events go as JSON lines to ``events_fd``."""
import json
import os
import signal
import sys
import threading

from .procs import TREE_VAR, kill_tree
from .wire import write_all

#: the agent sends this to cancel the running trial and keep the worker warm for the next one
CANCEL_SIGNAL = signal.SIGUSR1
_running = []  # non-empty while a trial runs: a late signal between trials is ignored


class TrialCancelled(BaseException):
    """Raised inside the trial when the agent cancels it; the trial ends and this worker stays."""


def _on_cancel(signum, frame):
    if _running:
        _running.clear()
        raise TrialCancelled("cancelled by the experiment")


class _Installed:
    """Finds ``nascore`` and ``nascore_*`` packages where this Python has them installed, not in the uploaded
    code folder (a clone of nascore uploaded as trial code must not replace the machine's nascore)."""

    def __init__(self, specs):
        self.specs = specs

    def find_spec(self, name, path=None, target=None):
        return self.specs.pop(name, None)  # once: the import that uses it caches the module


def _pin_installed(code):
    code = os.path.abspath(code)
    try:
        names = [n for n in os.listdir(code) if n == "nascore" or n.startswith("nascore_")]
    except OSError:
        return
    import importlib.util
    saved = sys.path[:]
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != code]
    try:
        specs = {n: importlib.util.find_spec(n) for n in names}
    finally:
        sys.path[:] = saved
    specs = {n: spec for n, spec in specs.items() if spec is not None}
    if specs:
        sys.meta_path.insert(0, _Installed(specs))


def run_worker(events_fd, script_dir):
    # the agent's own folder must not shadow the trial's modules (a user module named ``agent``, say)
    sys.path[:] = [p for p in sys.path if not p or os.path.abspath(p) != script_dir]
    _pin_installed(os.getcwd())  # the worker runs in the code folder
    from nascore.training_service import event_to_json, run_trial
    from nascore.trial_state import TrialState
    devnull = os.open(os.devnull, os.O_WRONLY)
    signal.signal(CANCEL_SIGNAL, _on_cancel)

    lock = threading.Lock()  # a trial reporting from several threads must not interleave lines on the pipe

    def write(event):
        data = (event_to_json(event) + "\n").encode()
        # a cancel arriving mid-line would leave half a line on the pipe: it waits until the line is written
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {CANCEL_SIGNAL})
        try:
            with lock:
                write_all(events_fd, data)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    for line in sys.stdin:
        command = json.loads(line)
        out = os.open(command["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        err = os.open(command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        state = TrialState.capture()
        _running.append(True)
        try:
            end = run_trial(command["payload"], write, command["trial_id"])
        finally:
            cancelled = not _running
            _running.clear()
        if cancelled:  # what the cancelled trial started goes with it, as with a kill (not us: we stay)
            kill_tree(0, os.environ.get(TREE_VAR), group=False)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        problem = state.restore()  # the next trial here starts as in a fresh worker
        write(end)
        if problem:  # a lowered hard limit: this worker cannot run another trial as a fresh one would
            return 0
    return 0
