"""A throw-away OpenSSH server on 127.0.0.1 for tests and benchmarks (no mocks: the real ``sshd``).

``SshServer(tmp_dir).start()`` generates host and user keys with ``ssh-keygen``, writes an ``sshd_config``
(key login for the current user only, ``StrictModes no``, ``UsePAM no``, pid file in ``tmp_dir``), runs
``/usr/sbin/sshd -D -e -f <config>`` on a free port and waits until it answers with an SSH banner.
``machine()`` gives a matching :class:`~nascore_remote.RemoteMachineConfig`.
"""
from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional, Union

from nascore_remote.config import RemoteMachineConfig

__all__ = ["SSHD", "ensure_sshd", "SshServer", "generate_key", "free_port"]

SSHD = "/usr/sbin/sshd"


def ensure_sshd() -> str:
    """Path of sshd; installs openssh-server with apt-get when it is absent and we are root."""
    if not os.path.exists(SSHD):
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise RuntimeError(f"{SSHD} is missing; install openssh-server (apt-get install -y openssh-server)")
        done = subprocess.run(["apt-get", "install", "-y", "-q", "openssh-server"], text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, capture_output=True)
        if done.returncode != 0 or not os.path.exists(SSHD):
            raise RuntimeError(f"{SSHD} is missing and 'apt-get install openssh-server' failed: "
                               f"{done.stderr.strip()[-300:]}")
    return SSHD


def generate_key(path: Path, kind: str = "ed25519", passphrase: str = "") -> Path:
    """Create an SSH key pair at ``path`` (and ``path.pub``) with ssh-keygen; returns ``path``."""
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "nascore-test", "-f", str(path)],
                   check=True, capture_output=True)
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_banner(port: int, process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                if s.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            time.sleep(0.02)  # polling the port, not waiting for a result
    return False


def _child_pids(parent: int) -> List[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


class SshServer:
    """One sshd on 127.0.0.1. Keys, config and logs live under ``directory``."""

    def __init__(self, directory: Union[str, Path], user_key: Optional[Path] = None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.user = getpass.getuser()
        self.port = 0
        self.process: Optional[subprocess.Popen] = None
        self.host_key = self.directory / "ssh_host_ed25519_key"
        self.user_key = user_key or self.directory / "id_ed25519"
        self.authorized_keys = self.directory / "authorized_keys"
        self.known_hosts = self.directory / "known_hosts"

    def _prepare(self) -> None:
        if not self.host_key.exists():
            generate_key(self.host_key)
        if not self.user_key.exists():
            generate_key(self.user_key)
        self.authorized_keys.write_text(Path(f"{self.user_key}.pub").read_text())
        os.makedirs("/run/sshd", exist_ok=True)  # privilege-separation directory sshd insists on as root

    def _write_config(self) -> Path:
        config = self.directory / "sshd_config"
        config.write_text("\n".join([
            f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
            f"PidFile {self.directory / 'sshd.pid'}", f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "PermitRootLogin prohibit-password", f"AllowUsers {self.user}",
            "Subsystem sftp internal-sftp", "LogLevel ERROR", "MaxSessions 100", "MaxStartups 100",
            "ClientAliveInterval 0", "",
        ]))
        return config

    def start(self, port: Optional[int] = None, timeout: float = 20.0) -> "SshServer":
        ensure_sshd()
        self._prepare()
        for _ in range(5):  # a free port may be taken between probing and binding: try another
            self.port = port or free_port()
            config = self._write_config()
            log = open(self.directory / "sshd.log", "ab")
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            if _wait_for_banner(self.port, self.process, timeout):
                host_pub = Path(f"{self.host_key}.pub").read_text().split()
                self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
                return self
            self.stop()
            if port:
                break
        raise RuntimeError(f"sshd did not start; see {self.directory / 'sshd.log'}")

    def machine(self, **fields) -> RemoteMachineConfig:
        """A machine entry that logs in here with the generated key and checks the generated host key."""
        settings = dict(host="127.0.0.1", port=self.port, user=self.user, ssh_key_file=str(self.user_key),
                        known_hosts=str(self.known_hosts))
        settings.update(fields)
        return RemoteMachineConfig(**settings)

    def session_pids(self) -> List[int]:
        """The per-connection sshd processes (children of the listener): killing them drops connections."""
        return [] if self.process is None else _child_pids(self.process.pid)

    def drop_connections(self) -> int:
        """Kill every sshd session process (clients see their connection die); returns how many."""
        pids = self.session_pids()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return len(pids)

    def stop(self) -> None:
        """Stop the listener and its sessions; processes started through it (detached agents) are not
        touched here."""
        process, self.process = self.process, None
        if process is None:
            return
        for pid in _child_pids(process.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.kill()
        process.wait(timeout=10)

    def __enter__(self) -> "SshServer":
        return self.start() if self.process is None else self

    def __exit__(self, *exc) -> None:
        self.stop()
