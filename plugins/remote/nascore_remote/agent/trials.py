"""The daemon's trial runner: worker processes (each in its own process group, reused after a clean trial
with the same environment), timeouts, cancellation and the end event of every trial, logs included."""
import json
import os
import selectors
import signal
import subprocess
import sys
import time

from .procs import TREE_VAR, kill_tree
from .wire import LineReader, encode, safe_name
from .worker_events import BadWorkerLine, check_unfinished, parse_worker_event

MAX_IDLE_WORKERS = 8
CANCEL_GRACE = 3.0  # seconds a cancelled trial gets to end inside its worker before the worker is killed
INLINE_LOG_BYTES = 64 * 1024
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def thread_env(env, threads):
    """``env`` plus intra-op thread counts: ``threads`` (the client's share of this machine's cores per trial)
    unless the trial's env or this login environment already sets one; a user's single setting counts for
    both names (torch reads both). Without it concurrent trials each start one thread per core."""
    if not threads:
        return env
    own = [env.get(n) or os.environ.get(n) for n in THREAD_VARS]
    value = next((v for v in own if v), str(threads))
    env = dict(env)
    for name, mine in zip(THREAD_VARS, own):
        env[name] = mine or value
    return env


def _tail(path, size=400):
    """The last ``size`` characters of a file, stripped ("" when missing or empty)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors="replace").strip()[-size:]
    except OSError:
        return ""


class Worker:
    """One ``worker`` process; ``events`` is the read end of its event pipe."""

    def __init__(self, script, code, env_key, env, directory):
        read_fd, write_fd = os.pipe()
        full_env = dict(os.environ)
        full_env.update(env)
        self.tag = "%d-%s" % (os.getpid(), os.urandom(6).hex())
        full_env[TREE_VAR] = self.tag  # inherited by all it spawns: found again even after a setsid()
        full_env["PYTHONPATH"] = code + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
        full_env["PYTHONUNBUFFERED"] = "1"
        os.makedirs(os.path.join(directory, "workers"), exist_ok=True)
        # what the worker says outside a trial (an import error before its first one): named in a failed trial
        self.log = os.path.join(directory, "workers", "worker-%s.log" % self.tag)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, script, "worker", "--events-fd", str(write_fd), "--dir", directory],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log, pass_fds=(write_fd,), cwd=code,
                env=full_env, start_new_session=True)  # own process group: a kill takes the trial's children too
        os.close(write_fd)
        self.events = os.fdopen(read_fd, "rb", buffering=0)
        self.reader = LineReader()
        self.broken = False  # it wrote a bad line: the rest of its pipe is ignored until it is gone
        self.env_key = env_key
        self.trial = None

    def kill(self):
        kill_tree(self.process.pid, self.tag)


class TrialRunner:
    """Trials of one daemon. ``emit(event)`` publishes an event to the client; worker pipes are registered
    on ``sel`` with the worker as data, and the daemon hands their readiness to :meth:`worker_output`."""

    def __init__(self, script, directory, code, sel, emit):
        self.script = script
        self.directory = directory
        self.code = code
        self.sel = sel
        self.emit = emit
        self.trials = {}  # trial_id -> dict(worker, deadline, timeout, end)
        self.known = set()
        self.idle = []
        self.started_pids = set()  # every worker this daemon started: their GPU contexts are ours

    def trial_dir(self, trial_id):
        return os.path.join(self.directory, "trials", safe_name(trial_id))

    def submit(self, msg):
        trial_id = msg["trial_id"]
        if trial_id in self.known:
            return  # a resent submit after reconnecting: the first one counts
        self.known.add(trial_id)
        env = thread_env({str(k): str(v) for k, v in (msg.get("env") or {}).items()}, msg.get("threads"))
        env_key = json.dumps(sorted(env.items()))
        worker = next((w for w in self.idle if w.env_key == env_key), None)
        if worker is not None:
            self.idle.remove(worker)
        else:
            worker = Worker(self.script, self.code, env_key, env, self.directory)
            self.started_pids.add(worker.process.pid)
            self.sel.register(worker.events, selectors.EVENT_READ, worker)
        logs = self.trial_dir(trial_id)
        os.makedirs(logs, mode=0o700, exist_ok=True)
        command = {"trial_id": trial_id, "payload": msg["payload"], "stdout": os.path.join(logs, "stdout"),
                   "stderr": os.path.join(logs, "stderr")}
        timeout = msg.get("timeout")
        self.trials[trial_id] = {"worker": worker, "timeout": timeout, "end": None, "log_limit": msg.get("log_limit"),
                                 "deadline": time.time() + timeout if timeout else None}
        worker.trial = trial_id
        try:
            worker.process.stdin.write(encode(command))
            worker.process.stdin.flush()
        except OSError:
            pass  # the worker died; its end-of-events reports the trial as failed

    def stop(self, trial_id, status, reason, cooperative=False):
        """End a trial with ``status``: kill its worker, or (``cooperative``) ask the worker to end the trial and
        stay warm for the next one, killing it only if the trial has not ended ``CANCEL_GRACE`` s later."""
        info = self.trials.get(trial_id)
        if info is None or info["end"] is not None:
            return
        info["end"] = (status, reason)
        if cooperative:
            try:
                os.kill(info["worker"].process.pid, signal.SIGUSR1)
                info["kill_at"] = time.time() + CANCEL_GRACE
                return
            except OSError:
                pass  # already gone: its end-of-events reports the trial
        info["worker"].kill()

    def cap_logs(self, trial_id, info):
        """Keep the trial's logs under the client's ``log_limit`` (while it runs, and at its end)."""
        if info.get("log_limit"):
            from nascore.training_service import cap_log  # nascore is there: the machine's check said so
            for name in ("stdout", "stderr"):
                cap_log(os.path.join(self.trial_dir(trial_id), name), info["log_limit"])

    def check_deadlines(self):
        now = time.time()
        for trial_id, info in list(self.trials.items()):
            self.cap_logs(trial_id, info)
            if info["deadline"] is not None and now > info["deadline"]:
                self.stop(trial_id, "failed", "exceeded max_trial_duration (%ss)" % info["timeout"])
            if info.get("kill_at") is not None and now > info["kill_at"]:  # a cancel the trial did not obey
                info["kill_at"] = None
                info["worker"].kill()

    def worker_output(self, worker):
        data = worker.events.read(65536)
        if data:
            if worker.broken:
                return
            try:
                for line in worker.reader.lines(data):
                    self._worker_event(worker, parse_worker_event(line, worker.trial))
                check_unfinished(worker.reader.buffer, worker.trial)
            except BadWorkerLine as exc:
                self.bad_line(worker, exc)
            return
        # end of events: the worker process is gone (crash, kill, timeout, cancel)
        self.sel.unregister(worker.events)
        worker.events.close()
        code = worker.process.wait()
        worker.kill()  # what the trial spawned dies with it, setsid() children included
        if worker in self.idle:
            self.idle.remove(worker)
        if worker.trial is not None:
            info = self.trials.pop(worker.trial)
            self.cap_logs(worker.trial, info)
            said = _tail(os.path.join(self.trial_dir(worker.trial), "stderr"))
            last = [line for line in _tail(worker.log).splitlines() if line.strip()][-2:]
            said = "; stderr ends with: " + said if said else (
                "; the worker said: " + " | ".join(last) + " (see %s)" % worker.log if last else "")
            status, reason = info["end"] or ("failed", "trial process exited with code %s%s" % (code, said))
            self.emit(self._attach_logs({"event": "end", "trial_id": worker.trial, "status": status,
                                         "reason": reason}))

    def bad_line(self, worker, error):
        """A worker wrote something that is no event of its trial (its user code can reach the pipe): fail that
        trial with ``error`` as its reason (its end event brings it to the client) and kill the worker; what the
        trial reported before stays, and the daemon and every other trial run on."""
        sys.stderr.write("killing a worker: %s\n" % error)  # stderr is agent.log
        sys.stderr.flush()
        worker.broken = True
        if worker in self.idle:
            self.idle.remove(worker)  # no next trial may land on it while it dies
        if worker.trial is not None:
            self.stop(worker.trial, "failed", str(error))
        worker.kill()  # even if the trial was already stopping: its end-of-events reports it

    def _worker_event(self, worker, event):
        trial_id = worker.trial
        if trial_id is None:
            return
        info = self.trials[trial_id]
        ending = info["end"]
        if ending is not None and (event.get("event") != "end" or info.get("kill_at") is None):
            return  # a stopped trial may still flush a line before it ends (or its killed worker dies)
        if event.get("event") == "end":
            if ending is not None:  # the worker ended a cancelled trial itself: our status and reason win
                event["status"], event["reason"] = ending
            self.cap_logs(trial_id, info)
            self._attach_logs(event)
            del self.trials[trial_id]
            worker.trial = None
            self.idle.append(worker)
            while len(self.idle) > MAX_IDLE_WORKERS:
                self.idle.pop(0).kill()
        self.emit(event)

    def _attach_logs(self, event):
        """Small logs travel inside the end event (no SFTP round trips); big ones are fetched by the client."""
        logs = {}
        for name in ("stdout", "stderr"):
            path = os.path.join(self.trial_dir(event["trial_id"]), name)
            try:
                if os.path.getsize(path) > INLINE_LOG_BYTES:
                    return event
                with open(path, "rb") as f:
                    logs[name] = f.read().decode(errors="replace")
            except OSError:
                logs[name] = ""
        event["logs"] = logs
        return event

    def stop_all(self):
        """Kill every worker and reap it (before the client hears that the daemon is gone)."""
        workers = [t["worker"] for t in self.trials.values()] + self.idle
        for worker in workers:
            worker.kill()
        for worker in workers:
            worker.process.wait()
