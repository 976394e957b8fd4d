"""``worker``: runs trial after trial in this process. Commands (JSON lines) come on stdin; each trial's
stdout/stderr go to the files the command names; events go as JSON lines to ``events_fd``."""
import json
import os
import sys

from .wire import write_all


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

    def write(event):
        write_all(events_fd, (event_to_json(event) + "\n").encode())

    for line in sys.stdin:
        command = json.loads(line)
        out = os.open(command["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        err = os.open(command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        state = TrialState.capture()
        end = run_trial(command["payload"], write, command["trial_id"])
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        problem = state.restore()  # the next trial here starts as in a fresh worker
        write(end)
        if problem:  # a lowered hard limit: this worker cannot run another trial as a fresh one would
            return 0
    return 0
