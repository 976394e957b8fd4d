"""nascore remote agent: uploaded to each machine and run there with the trial Python. Standard library only
at the top (``worker`` mode imports nascore), since it must start before we know what the machine has.

Modes (``python agent.py MODE ...``):

* ``check PLUGIN...`` -- print a JSON report: can this Python import nascore and the named plugins?
* ``unpack TAR DEST`` -- unpack an uploaded code archive into DEST atomically.
* ``attach DIR CODE`` -- make sure the agent daemon for DIR runs (start it detached if not), then relay this
  process's stdin/stdout to it. The client talks over an SSH channel running this; no port is opened.
* ``serve DIR CODE`` -- the daemon: runs trials in worker processes (each in its own process group, reused
  after a clean trial), enforces timeouts, and numbers every event so a client that reconnects asks for
  ``events after seq N`` and misses or repeats nothing. It outlives dropped connections and exits after
  ``shutdown`` or when no client has attached for ``--orphan-timeout`` seconds.
* ``worker`` -- runs trial after trial read from stdin, events as JSON lines on ``--events-fd``.

Client -> agent (JSON lines): hello{after}, submit{trial_id, payload, env, timeout}, cancel{trial_id,
reason}, ack{seq}, shutdown. Agent -> client: {"seq": n, "event": ...} and replies {"reply": ...}.
"""
import fcntl
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time

SOCKET_NAME = "agent.sock"
MAX_IDLE_WORKERS = 8
INLINE_LOG_BYTES = 64 * 1024


def _safe(trial_id):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", trial_id)[:100] or "trial"


# ---- check / unpack -------------------------------------------------------------------------------------

def check(plugins):
    report = {"python": sys.executable, "version": sys.version.split()[0], "missing": []}
    try:
        import nascore  # noqa: F401
        import nascore.training_service  # noqa: F401
        report["nascore"] = getattr(nascore, "__version__", "?")
    except Exception as exc:  # noqa: BLE001 - reported to the user as is
        report["nascore"] = None
        report["error"] = f"{type(exc).__name__}: {exc}"
        print(json.dumps(report))
        return 0
    from importlib.metadata import entry_points
    names = {ep.name for ep in entry_points(group="nascore")}
    report["missing"] = [p for p in plugins if p not in names]
    print(json.dumps(report))
    return 0


def unpack(archive, dest):
    if os.path.isdir(dest):
        return 0
    tmp = "%s.tmp-%d" % (dest, os.getpid())
    with tarfile.open(archive) as tar:
        try:
            tar.extractall(tmp, filter="data")
        except TypeError:  # Python < 3.10.12 has no extraction filters
            tar.extractall(tmp)
    try:
        os.rename(tmp, dest)
    except OSError:  # another experiment unpacked the same tree meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    os.unlink(archive)
    return 0


# ---- attach: the relay a client's SSH channel runs -------------------------------------------------------

def _connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return sock
    except OSError:
        sock.close()
        return None


def attach(directory, code, extra):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, SOCKET_NAME)
    sock = _connect(path)
    if sock is None:
        log = open(os.path.join(directory, "agent.log"), "ab")
        subprocess.Popen([sys.executable, os.path.abspath(__file__), "serve", directory, code] + extra,
                         stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=directory)
        deadline = time.time() + 30
        while sock is None and time.time() < deadline:
            time.sleep(0.01)  # the daemon is binding its socket
            sock = _connect(path)
        if sock is None:
            sys.stderr.write("agent did not start; see %s\n" % os.path.join(directory, "agent.log"))
            return 1
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ, "in")
    sel.register(sock, selectors.EVENT_READ, "sock")
    while True:
        for key, _ in sel.select():
            if key.data == "in":
                data = os.read(0, 65536)
                if not data:  # the SSH channel closed: detach, the daemon keeps running
                    return 0
                sock.sendall(data)
            else:
                data = sock.recv(65536)
                if not data:
                    return 0
                view = memoryview(data)
                while view:
                    view = view[os.write(1, view):]


# ---- serve: the daemon ----------------------------------------------------------------------------------

class Worker:
    def __init__(self, code, env_key, env, directory):
        read_fd, write_fd = os.pipe()
        full_env = dict(os.environ)
        full_env.update(env)
        full_env["PYTHONPATH"] = code + (os.pathsep + full_env["PYTHONPATH"] if full_env.get("PYTHONPATH") else "")
        full_env["PYTHONUNBUFFERED"] = "1"
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "worker", "--events-fd", str(write_fd),
             "--dir", directory],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=None, pass_fds=(write_fd,), cwd=code,
            env=full_env, start_new_session=True)  # own process group: a kill takes the trial's children too
        os.close(write_fd)
        self.events = os.fdopen(read_fd, "rb", buffering=0)
        self.env_key = env_key
        self.buffer = b""
        self.trial = None

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class Agent:
    def __init__(self, directory, code, orphan_timeout):
        self.directory = directory
        self.code = code
        self.orphan_timeout = orphan_timeout
        self.sel = selectors.DefaultSelector()
        self.client = None
        self.client_buffer = b""
        self.detached_since = time.time()
        self.seq = 0
        self.events = []  # (seq, line) not yet acknowledged
        self.trials = {}  # trial_id -> dict(worker, deadline, timeout, end_reason)
        self.known = set()
        self.idle = []
        self.running = True
        self.instance = "%d-%s" % (os.getpid(), os.urandom(6).hex())  # seq numbers count per instance

    # -- events to the client
    def emit(self, event):
        self.seq += 1
        line = (json.dumps({"seq": self.seq, "event": event}) + "\n").encode()
        self.events.append((self.seq, line))
        self.send(line)

    def send(self, data):
        if self.client is None:
            return
        try:
            self.client.setblocking(True)
            self.client.sendall(data)
            self.client.setblocking(False)
        except OSError:
            self.drop_client()

    def drop_client(self):
        if self.client is not None:
            self.sel.unregister(self.client)
            self.client.close()
            self.client = None
            self.detached_since = time.time()

    # -- trials
    def trial_dir(self, trial_id):
        return os.path.join(self.directory, "trials", _safe(trial_id))

    def submit(self, msg):
        trial_id = msg["trial_id"]
        if trial_id in self.known:
            return  # a resent submit after reconnecting: the first one counts
        self.known.add(trial_id)
        env = {str(k): str(v) for k, v in (msg.get("env") or {}).items()}
        env_key = json.dumps(sorted(env.items()))
        worker = next((w for w in self.idle if w.env_key == env_key), None)
        if worker is not None:
            self.idle.remove(worker)
        else:
            worker = Worker(self.code, env_key, env, self.directory)
            self.sel.register(worker.events, selectors.EVENT_READ, worker)
        logs = self.trial_dir(trial_id)
        os.makedirs(logs, exist_ok=True)
        command = {"trial_id": trial_id, "payload": msg["payload"], "stdout": os.path.join(logs, "stdout"),
                   "stderr": os.path.join(logs, "stderr")}
        timeout = msg.get("timeout")
        self.trials[trial_id] = {"worker": worker, "timeout": timeout, "end": None,
                                 "deadline": time.time() + timeout if timeout else None}
        worker.trial = trial_id
        try:
            worker.process.stdin.write((json.dumps(command) + "\n").encode())
            worker.process.stdin.flush()
        except OSError:
            pass  # the worker died; its end-of-events reports the trial as failed

    def stop_trial(self, trial_id, status, reason):
        info = self.trials.get(trial_id)
        if info is None or info["end"] is not None:
            return
        info["end"] = (status, reason)
        info["worker"].kill()

    def worker_output(self, worker):
        data = worker.events.read(65536)
        if data:
            worker.buffer += data
            while b"\n" in worker.buffer:
                line, worker.buffer = worker.buffer.split(b"\n", 1)
                self.worker_event(worker, json.loads(line))
            return
        # end of events: the worker process is gone (crash, kill, timeout, cancel)
        self.sel.unregister(worker.events)
        worker.events.close()
        code = worker.process.wait()
        if worker in self.idle:
            self.idle.remove(worker)
        if worker.trial is not None:
            info = self.trials.pop(worker.trial)
            status, reason = info["end"] or ("failed", "trial process exited with code %s%s" % (
                code, self.stderr_tail(worker.trial)))
            self.emit(self.attach_logs({"event": "end", "trial_id": worker.trial, "status": status,
                                        "reason": reason}))

    def stderr_tail(self, trial_id):
        try:
            with open(os.path.join(self.trial_dir(trial_id), "stderr"), "rb") as f:
                f.seek(0, 2)
                f.seek(max(0, f.tell() - 400))
                tail = f.read().decode(errors="replace").strip()
        except OSError:
            return ""
        return "; stderr ends with: " + tail[-400:] if tail else ""

    def attach_logs(self, event):
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

    def worker_event(self, worker, event):
        trial_id = worker.trial
        if trial_id is None or self.trials[trial_id]["end"] is not None:
            return  # a cancelled trial may still flush a line before it dies
        if event.get("event") == "end":
            self.attach_logs(event)
            del self.trials[trial_id]
            worker.trial = None
            self.idle.append(worker)
            while len(self.idle) > MAX_IDLE_WORKERS:
                self.idle.pop(0).kill()
        self.emit(event)

    def check_deadlines(self):
        now = time.time()
        for trial_id, info in list(self.trials.items()):
            if info["deadline"] is not None and now > info["deadline"]:
                self.stop_trial(trial_id, "failed", "exceeded max_trial_duration (%ss)" % info["timeout"])

    # -- client messages
    def client_message(self, msg):
        op = msg.get("op")
        if op == "hello":
            after = int(msg.get("after", 0))
            self.events = [(s, line) for s, line in self.events if s > after]
            self.send((json.dumps({"reply": "hello", "pid": os.getpid(), "instance": self.instance, "known": sorted(self.known),
                                   "running": sorted(self.trials)}) + "\n").encode())
            for _, line in self.events:
                self.send(line)
        elif op == "submit":
            self.submit(msg)
        elif op == "cancel":
            self.stop_trial(msg["trial_id"], "interrupted", msg.get("reason") or "cancelled")
        elif op == "ack":
            self.events = [(s, line) for s, line in self.events if s > int(msg["seq"])]
        elif op == "shutdown":
            self.running = False
            self.send(b'{"reply": "bye"}\n')

    def client_input(self):
        try:
            data = self.client.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop_client()
            return
        self.client_buffer += data
        while b"\n" in self.client_buffer and self.client is not None:
            line, self.client_buffer = self.client_buffer.split(b"\n", 1)
            if line.strip():
                self.client_message(json.loads(line))

    def serve(self):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = os.path.join(self.directory, SOCKET_NAME)
        if os.path.exists(path):
            os.unlink(path)
        server.bind(path)
        server.listen(4)
        self.sel.register(server, selectors.EVENT_READ, "server")
        try:
            while self.running:
                for key, _ in self.sel.select(timeout=0.2):
                    if key.data == "server":
                        conn, _ = server.accept()
                        self.drop_client()  # the newest client wins: the old connection is dead
                        conn.setblocking(False)
                        self.client, self.client_buffer = conn, b""
                        self.sel.register(conn, selectors.EVENT_READ, "client")
                    elif key.data == "client":
                        self.client_input()
                    else:
                        self.worker_output(key.data)
                self.check_deadlines()
                if self.client is None and time.time() - self.detached_since > self.orphan_timeout:
                    sys.stderr.write("no client for %ss: stopping\n" % self.orphan_timeout)
                    break
        finally:
            workers = [t["worker"] for t in self.trials.values()] + self.idle
            for worker in workers:
                worker.kill()
            for worker in workers:  # reaped before the client hears we are gone
                worker.process.wait()
            server.close()
            shutil.rmtree(self.directory, ignore_errors=True)
            if self.client is not None:
                self.client.close()


def serve(directory, code, orphan_timeout):
    lock = open(os.path.join(directory, "agent.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another daemon already serves this directory
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    Agent(directory, code, orphan_timeout).serve()
    return 0


# ---- worker: runs trials one after another in this process --------------------------------------------------

def worker(events_fd):
    from nascore.training_service import event_to_json, run_trial
    devnull = os.open(os.devnull, os.O_WRONLY)

    def write(event):
        data = (event_to_json(event) + "\n").encode()
        while data:
            data = data[os.write(events_fd, data):]

    for line in sys.stdin:
        command = json.loads(line)
        out = os.open(command["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        err = os.open(command["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.close(out)
        os.close(err)
        end = run_trial(command["payload"], write, command["trial_id"])
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        write(end)
    return 0


def main(argv):
    mode, args = argv[0], argv[1:]
    if mode == "check":
        return check(args)
    if mode == "unpack":
        return unpack(args[0], args[1])
    if mode == "attach":
        return attach(args[0], args[1], args[2:])
    if mode == "serve":
        timeout = float(args[args.index("--orphan-timeout") + 1]) if "--orphan-timeout" in args else 600.0
        return serve(args[0], args[1], timeout)
    if mode == "worker":
        return worker(int(args[args.index("--events-fd") + 1]))
    sys.stderr.write("unknown mode %r\n" % mode)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
