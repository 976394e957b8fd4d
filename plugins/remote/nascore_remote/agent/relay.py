"""``attach``: what a client's SSH channel runs. Starts the daemon if it is not running, then relays bytes
between the channel (stdin/stdout) and the daemon's Unix socket. Closing the channel only detaches."""
import os
import selectors
import socket
import subprocess
import sys
import time

SOCKET_NAME = "agent.sock"


def _connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        return sock
    except OSError:
        sock.close()
        return None


def attach(script, directory, code, extra, owner=None, retire=False):
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    path = os.path.join(directory, SOCKET_NAME)
    sock = _connect(path)
    if sock is None:
        if owner:
            with open(os.path.join(directory, "owner"), "w") as f:
                f.write(owner)
        if owner and retire:  # a new owner of the experiment (a resume): its earlier runs' agents go at once
            from .procs import retire_others
            retire_others(directory, owner)
        log = open(os.path.join(directory, "agent.log"), "ab")
        extra = [a for i, a in enumerate(extra)
                 if a not in ("--owner", "--retire") and (i == 0 or extra[i - 1] != "--owner")]
        subprocess.Popen([sys.executable, script, "serve", directory, code] + extra,
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
