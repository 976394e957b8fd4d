"""``worker``: runs trial after trial in this process. Commands (JSON lines) come on stdin; each trial's
stdout/stderr go to the files the command names; events go as JSON lines to ``events_fd``."""
import json
import os
import sys

from .wire import write_all


def run_worker(events_fd, script_dir):
    from nascore.training_service import event_to_json, run_trial
    from nascore.trial_state import TrialState
    # the agent's own folder must not shadow the trial's modules (a user module named ``agent``, say)
    sys.path[:] = [p for p in sys.path if not p or os.path.abspath(p) != script_dir]
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
