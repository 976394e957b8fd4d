"""``serve``: the agent daemon of one run directory. It accepts one client at a time on a Unix socket (the
newest wins), runs the client's trials through a :class:`~.trials.TrialRunner`, and numbers every event so
that a client that reconnects asks for the events after ``seq N`` and misses or repeats nothing. It
outlives dropped connections and exits after ``shutdown`` or when no client has attached for
``orphan_timeout`` seconds, removing its run directory and every process it started. A client that stops
reading is dropped after ``send_timeout`` seconds (see :mod:`.outbox`). A malformed client
message is refused (see :mod:`.messages`) and its connection dropped: the client reconnects, nothing is lost.
A malformed line from a trial's worker fails that trial alone (see :mod:`.worker_events`).
A daemon that dies of an error (or of SIGINT) keeps its log, traceback included, as
``<run directory>.crash.log`` (see :func:`crash_log_path`).
"""
import fcntl
import os
import selectors
import shutil
import signal
import socket
import struct
import sys
import time
import traceback

from .messages import BadMessage, parse_client_message
from .outbox import Outbox
from .relay import SOCKET_NAME
from .trials import TrialRunner
from .wire import LineReader, encode


#: seconds a client may take none of the bytes waiting for it before its connection is dropped (``--send-timeout``)
SEND_TIMEOUT = 60.0


def crash_log_path(directory):
    """Where a daemon that died of an error leaves its ``agent.log``: next to the run directory, which it removes
    (the next daemon of the directory names it in its hello reply)."""
    return directory.rstrip("/") + ".crash.log"


class Agent:
    def __init__(self, script, directory, code, orphan_timeout, gpu_watcher=None, send_timeout=SEND_TIMEOUT):
        self.directory = directory
        self.orphan_timeout = orphan_timeout
        self.send_timeout = send_timeout
        self.sel = selectors.DefaultSelector()
        self.client = None
        self.outbox = None  # the client's unsent bytes
        self.client_events = 0  # what the selector watches the client for
        self.greeted = False  # the client's hello was answered: state pushes may follow
        self.client_reader = LineReader()
        self.detached_since = time.time()
        self.seq = 0
        self.events = []  # (seq, line) not yet acknowledged
        self.runner = TrialRunner(script, directory, code, self.sel, self.emit)
        self.gpus = gpu_watcher
        self.busy_sent = None  # the busy GPUs the client was last told about
        self.running = True
        self.instance = "%d-%s" % (os.getpid(), os.urandom(6).hex())  # seq numbers count per instance

    # -- to the client
    def emit(self, event):
        self.seq += 1
        line = encode({"seq": self.seq, "event": event})
        self.events.append((self.seq, line))
        self.send(line)

    def send(self, data):
        if self.client is not None:
            self.sent(self.outbox.put(data))

    def sent(self, alive):
        """After writing to the client: drop a dead connection, else watch for room while bytes wait."""
        if not alive:
            self.drop_client()
            return
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbox.pending else 0)
        if events != self.client_events:
            self.sel.modify(self.client, events, "client")
            self.client_events = events

    def attach_client(self, conn):
        self.drop_client()  # the newest client wins: the old connection is dead
        conn.setblocking(False)
        self.client, self.client_reader, self.greeted = conn, LineReader(), False
        self.outbox, self.client_events = Outbox(conn), selectors.EVENT_READ
        self.sel.register(conn, selectors.EVENT_READ, "client")

    def drop_client(self):
        if self.client is not None:
            self.sel.unregister(self.client)
            self.client.close()
            self.client = self.outbox = None
            self.detached_since = time.time()

    def drop_stalled_client(self):
        """A client that takes nothing for ``send_timeout`` s goes (it reconnects and gets its events again):
        the daemon never waits on it, but unsent bytes must not pile up forever."""
        if self.client is not None and self.outbox.stalled(self.send_timeout):
            sys.stderr.write("the client took nothing for %ss: dropping its connection\n" % self.send_timeout)
            sys.stderr.flush()
            self.drop_client()

    def busy_gpus(self):
        return None if self.gpus is None else self.gpus.busy(self.runner.started_pids)

    def push_gpu_state(self):
        """Tell the client when the set of GPUs taken by others changed (state, not a numbered event)."""
        busy = self.busy_gpus()
        if busy is not None and busy != self.busy_sent and self.client is not None and self.greeted:
            self.busy_sent = busy
            self.send(encode({"busy_gpus": busy}))

    # -- from the client
    def client_message(self, msg):
        op = msg.get("op")
        if op == "hello":
            after = msg.get("after") or 0
            self.events = [(s, line) for s, line in self.events if s > after]
            reply = {"reply": "hello", "pid": os.getpid(), "instance": self.instance,
                     "known": sorted(self.runner.known), "running": sorted(self.runner.trials),
                     "cpus": os.cpu_count() or 1}
            if os.path.exists(crash_log_path(self.directory)):
                reply["crash_log"] = crash_log_path(self.directory)
            busy = self.busy_gpus()
            if busy is not None:
                reply["busy_gpus"] = self.busy_sent = busy
            self.send(encode(reply))
            self.greeted = True
            for _, line in self.events:
                self.send(line)
        elif op == "submit":
            self.runner.submit(msg)
        elif op == "cancel":
            self.runner.stop(msg["trial_id"], "interrupted", msg.get("reason") or "cancelled", cooperative=True)
        elif op == "ack":
            self.events = [(s, line) for s, line in self.events if s > msg["seq"]]
        elif op == "shutdown":
            self.running = False
            self.send(encode({"reply": "bye"}))

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
        for line in self.client_reader.lines(data):
            if self.client is None:
                break
            try:
                msg = parse_client_message(line)
            except BadMessage as exc:
                self.refuse(exc)
                break
            self.client_message(msg)

    def refuse(self, error):
        """A malformed message: say why (agent.log and the client) and drop the connection. The client reconnects
        and resyncs as after a network blip; trials and unacknowledged events are untouched."""
        sys.stderr.write("refused a message from the client, dropping its connection: %s\n" % error)
        sys.stderr.flush()
        self.send(encode({"reply": "error", "error": str(error)}))
        self.drop_client()

    def serve(self):
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = os.path.join(self.directory, SOCKET_NAME)
        if os.path.exists(path):
            os.unlink(path)
        server.bind(path)
        os.chmod(path, 0o600)  # and the directory is 0700: nobody else reaches it
        server.listen(4)
        self.sel.register(server, selectors.EVENT_READ, "server")
        crashed = False
        try:
            while self.running:
                for key, mask in self.sel.select(timeout=0.2):
                    if key.data == "server":
                        conn, _ = server.accept()
                        if not same_user(conn):
                            conn.close()  # another user on this machine: never a client
                            continue
                        self.attach_client(conn)
                    elif key.data == "client":
                        # only the current client: one dropped earlier in this batch (a send to it failed, a
                        # newer one came) is stale, and client_input() would read another socket or None
                        if key.fileobj is self.client and mask & selectors.EVENT_WRITE:
                            self.sent(self.outbox.flush())
                        if key.fileobj is self.client and mask & selectors.EVENT_READ:
                            self.client_input()
                    else:
                        self.runner.worker_output(key.data)
                self.runner.check_deadlines()
                self.push_gpu_state()
                self.drop_stalled_client()
                if self.client is None and time.time() - self.detached_since > self.orphan_timeout:
                    sys.stderr.write("no client for %ss: stopping\n" % self.orphan_timeout)
                    break
        except (Exception, KeyboardInterrupt):  # noqa: BLE001 - a bug or SIGINT: the trials die, the traceback stays
            crashed = True
            traceback.print_exc()  # stderr is agent.log
            sys.stderr.flush()
        finally:
            if self.gpus is not None:
                self.gpus.stop()
            self.runner.stop_all()
            server.close()
            if crashed:
                keep_log(self.directory)
            shutil.rmtree(self.directory, ignore_errors=True)
            if self.client is not None:
                self.outbox.drain(1.0)  # a "bye", say; the client learns the rest from the closed connection
                self.client.close()
        return 1 if crashed else 0


def keep_log(directory):
    """Append the run directory's ``agent.log`` to its crash log (earlier crashes of the directory stay there)."""
    try:
        with open(os.path.join(directory, "agent.log"), "rb") as log, open(crash_log_path(directory), "ab") as out:
            shutil.copyfileobj(log, out)
    except OSError:
        pass


def same_user(conn):
    """Whether the peer of a Unix socket connection runs as our user (Linux: SO_PEERCRED)."""
    try:
        _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                        struct.calcsize("3i")))
    except (AttributeError, OSError):
        return True  # no peer credentials here: the owner-only directory and socket still guard it
    return uid == os.getuid()


def serve(script, directory, code, orphan_timeout, gpu_watcher_factory=None, send_timeout=SEND_TIMEOUT):
    """Run the daemon for ``directory`` unless one already does (a lock file decides)."""
    lock = open(os.path.join(directory, "agent.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another daemon already serves this directory
    with open(os.path.join(directory, "agent.pid"), "w") as f:  # a later owner retires us by this pid
        f.write(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a later owner retiring us: a clean exit
    # SIGINT (whatever our parent left it as) is an error exit: the trials die, the log is kept as a crash log
    signal.signal(signal.SIGINT, signal.default_int_handler)
    watcher = gpu_watcher_factory() if gpu_watcher_factory is not None else None
    return Agent(script, directory, code, orphan_timeout, watcher, send_timeout).serve()
