"""What the daemon has yet to write to its client. The client's socket is non-blocking: a relay that stops
reading (a stalled SSH channel) must not stop the daemon, which serves every trial of the machine. Bytes wait
here instead; the daemon drops a client that took none of them for its send timeout, and the client reconnects
and gets the events it missed again (the daemon keeps every event until the client acknowledges it)."""
import time


class Outbox:
    """Bytes for one client socket (non-blocking), in order."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = bytearray()
        self.progress = time.monotonic()  # when the client last took bytes, or when bytes began to wait

    def put(self, data):
        """Queue ``data`` and send what the socket takes now; False when the connection is dead."""
        if not self.pending:
            self.progress = time.monotonic()
        self.pending += data
        return self.flush()

    def flush(self):
        """Send what the socket takes without blocking; False when the connection is dead."""
        while self.pending:
            try:
                sent = self.sock.send(self.pending)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            del self.pending[:sent]
            self.progress = time.monotonic()
        return True

    def stalled(self, timeout):
        """Whether bytes have waited ``timeout`` seconds without the client taking any."""
        return bool(self.pending) and time.monotonic() - self.progress > timeout

    def drain(self, timeout):
        """Send what waits, blocking at most ``timeout`` seconds in all (the last words before closing)."""
        try:
            self.sock.settimeout(timeout)
            self.sock.sendall(self.pending)
        except OSError:
            pass
