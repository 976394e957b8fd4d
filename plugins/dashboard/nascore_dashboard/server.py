"""``DashboardServer``: uvicorn serving the app, in a background thread (live) or the foreground (``nascore
dashboard``). The port is bound before anything else, so a busy port is reported at once, by number."""
from __future__ import annotations

import errno
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, Union

import uvicorn

from nascore_dashboard.app import LOOPBACK, Dashboard, build_app
from nascore_dashboard.catalog import Catalog
from nascore_dashboard.live import track

__all__ = ["DashboardServer", "DashboardError"]

_START_TIMEOUT = 10.0


class DashboardError(RuntimeError):
    """The dashboard could not start (port in use, bad address)."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        why = "is in use (another dashboard or program listens there); pass another port" \
            if exc.errno == errno.EADDRINUSE else f"cannot be bound: {exc.strerror}"
        raise DashboardError(f"dashboard port {port} on {host} {why}") from None
    sock.listen(128)
    sock.set_inheritable(False)  # trial worker processes must not keep the dashboard's port open
    return sock


class DashboardServer:
    """Serves ``target``: a running :class:`~nascore.NasExperiment` (its directory's folder is listed, the
    experiment itself can be stopped from the page) or a path (an experiment directory or a folder of them,
    read-only). ``token`` defaults to a fresh random one, printed with the URL when the server starts."""

    def __init__(self, target: Union[Any, str, Path], port: int = 8080, host: str = "127.0.0.1",
                 token: Optional[str] = None, quiet: bool = False) -> None:
        live = None
        if isinstance(target, (str, Path)):
            catalog = Catalog(Path(target))
        else:  # a NasExperiment run by this process
            live = track(target)
            catalog = Catalog(Path(target.directory).parent, live_id=live.id)
        self.catalog = catalog
        self.host, self.token, self.quiet = host, token or secrets.token_urlsafe(24), quiet
        self.dashboard = Dashboard(catalog, self.token, host, live)
        self.app = build_app(self.dashboard)
        self._socket = _bind(host, int(port))
        self.port = self._socket.getsockname()[1]  # port 0: the one the OS chose
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        """The page's address (without the token)."""
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
        return f"http://{shown}:{self.port}/"

    @property
    def login_url(self) -> str:
        """The address printed at start: it carries the token (and opens the live experiment's page)."""
        fragment = f"#/e/{self.dashboard.live.id}" if self.dashboard.live else ""
        return f"{self.url}?token={self.token}{fragment}"

    def _announce(self) -> None:
        if self.quiet:
            return
        where = "" if self.host in LOOPBACK else f" (listening on {self.host}: every page needs the token)"
        # the console, not a log: the token must reach only the user who started the dashboard
        print(f"nascore dashboard: {self.login_url}{where}\n  the token in this URL is needed to stop the "
              "experiment or cancel trials", file=sys.stdout, flush=True)

    def start(self) -> "DashboardServer":
        """Serve from a daemon thread; returns once the server accepts connections."""
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name="nascore-dashboard", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise DashboardError(f"the dashboard did not start on {self.host}:{self.port}")
            time.sleep(0.01)  # uvicorn's start-up flag; bounded by the deadline above
        self._announce()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C."""
        self._announce()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self.close()

    def stop(self) -> None:
        """Stop serving (open event streams end within a poll) and release the port."""
        self.dashboard.closing = True
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.close()

    def close(self) -> None:
        self._socket.close()
        self.catalog.close()
