"""One SSH connection per machine (paramiko): host-key checks, login, commands, SFTP.

Host keys are checked against the user's known_hosts (or the machine's ``known_hosts`` file). An unknown host
is refused with its SHA256 fingerprint unless the machine sets ``allow_unknown_hosts=True``; a host whose key
changed is always refused. Messages name the machine as ``user@host:port`` and never contain a password.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple

import paramiko
from pydantic import SecretStr

from nascore.experiment.config import ConfigError

if TYPE_CHECKING:  # pragma: no cover - the config module imports this one (for keys) when it checks
    from nascore_remote.config import RemoteMachineConfig

__all__ = ["RemoteError", "UnknownHostKeyError", "MachineConnection", "fingerprint", "load_private_key"]

_logger = logging.getLogger(__name__)


class RemoteError(RuntimeError):
    """A machine cannot be reached or used; the message names the machine and what to do."""


class UnknownHostKeyError(RemoteError):
    """The machine's host key is not in known_hosts (and unknown hosts are not allowed)."""


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:...`` fingerprint (what ``ssh-keygen -lf`` prints)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def _secret(value: Optional[SecretStr]) -> Optional[str]:
    return None if value is None else value.get_secret_value()


def load_private_key(path: Path, passphrase: Optional[SecretStr], name: str) -> paramiko.PKey:
    """Load a private key file, turning paramiko's errors into a :class:`ConfigError` naming ``name``."""
    try:
        return paramiko.PKey.from_path(str(path), password=None if passphrase is None else passphrase.get_secret_value().encode())
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        if isinstance(exc, TypeError) and "password" not in str(exc):  # cryptography's way of saying it
            raise
        if passphrase is not None:
            raise ConfigError(f"{name}: cannot decrypt ssh_key_file {str(path)!r}: wrong ssh_passphrase?") from None
        raise ConfigError(f"{name}: ssh_key_file {str(path)!r} is encrypted; set ssh_passphrase") from None
    except (paramiko.SSHException, ValueError) as exc:
        hint = "wrong ssh_passphrase?" if passphrase is not None else "is it an OpenSSH private key?"
        raise ConfigError(f"{name}: cannot load ssh_key_file {str(path)!r} ({exc}); {hint}") from None
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read ssh_key_file {str(path)!r}: {exc.strerror}") from None


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    def __init__(self, machine: RemoteMachineConfig, pinned: Optional[Path]):
        self.machine = machine
        self.pinned = pinned

    def missing_host_key(self, client, hostname, key):
        where = f"[{self.machine.host}]:{self.machine.port}" if self.machine.port != 22 else self.machine.host
        if self.machine.allow_unknown_hosts:
            # accepted once, then pinned like ssh's known_hosts: a different key later is refused
            _logger.warning("machine %s: accepting unknown host key %s %s (allow_unknown_hosts=True)%s",
                            self.machine.address, key.get_name(), fingerprint(key),
                            f"; pinned in {self.pinned}" if self.pinned else "")
            client.get_host_keys().add(hostname, key.get_name(), key)
            if self.pinned is not None:
                self.pinned.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.pinned, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                with os.fdopen(fd, "a") as f:
                    f.write(f"{hostname} {key.get_name()} {key.get_base64()}\n")
            return
        raise UnknownHostKeyError(
            f"machine {self.machine.address}: unknown host key {key.get_name()} {fingerprint(key)} (not in "
            f"{self.machine.known_hosts_path()}). If the fingerprint is right, add the key with "
            f"`ssh-keyscan -p {self.machine.port} {self.machine.host} >> {self.machine.known_hosts_path()}` "
            f"(the entry is named {where}), or set allow_unknown_hosts=True on this machine")


class MachineConnection:
    """A persistent SSH transport to one machine. Commands run on channels of it; SFTP shares it too."""

    def __init__(self, machine: RemoteMachineConfig, timeout: float = 10.0, pinned: Optional[Path] = None):
        self.machine = machine
        self.timeout = timeout
        #: the experiment's own known-hosts file: keys accepted under allow_unknown_hosts are pinned there
        self.pinned = pinned
        self._client: Optional[paramiko.SSHClient] = None
        self._sftp: Optional[paramiko.SFTPClient] = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        return self.machine.address

    # ---- connect / close -------------------------------------------------------------------------------
    def connect(self) -> "MachineConnection":
        m = self.machine
        if m.host is None or m.user is None:
            raise RemoteError(f"machine {m.address}: host and user must be set")
        client = paramiko.SSHClient()
        known = m.known_hosts_path()
        if known.is_file():
            client.load_host_keys(str(known))
        if self.pinned is not None and self.pinned.is_file():
            client.get_host_keys().load(str(self.pinned))
        client.set_missing_host_key_policy(_HostKeyPolicy(m, self.pinned))
        key = m.key_path()
        pkey = load_private_key(key, m.secret("ssh_passphrase"), f"machine {m.address}") if key is not None else None
        password = m.secret("password")
        try:
            client.connect(m.host, port=m.port, username=m.user, password=_secret(password), pkey=pkey,
                           look_for_keys=pkey is None and password is None,
                           allow_agent=pkey is None and password is None, timeout=self.timeout,
                           banner_timeout=self.timeout, auth_timeout=self.timeout)
        except UnknownHostKeyError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise RemoteError(
                f"machine {m.address}: host key CHANGED: got {fingerprint(exc.key)}, known_hosts has "
                f"{fingerprint(exc.expected_key)}. This may be an attack; if the machine was reinstalled, remove "
                f"its old entry with `ssh-keygen -R {m.host}`"
                + (f" (and `ssh-keygen -R '[{m.host}]:{m.port}' -f {self.pinned}`, where an accepted key was pinned)"
                   if self.pinned is not None and self.pinned.is_file() else "")
                + " and connect again") from None
        except paramiko.AuthenticationException:
            client.close()
            how = ("password" if password is not None else
                   f"key {str(key)!r}" if key is not None else "keys from ssh-agent/~/.ssh")
            raise RemoteError(f"machine {m.address}: authentication failed with the configured {how}; check "
                              "user, password / ssh_key_file (is the public key in ~/.ssh/authorized_keys "
                              "there?)") from None
        except (OSError, socket.timeout, paramiko.SSHException, EOFError) as exc:
            client.close()
            raise RemoteError(f"machine {m.address}: cannot connect: {type(exc).__name__}: {exc}") from None
        transport = client.get_transport()
        assert transport is not None
        transport.set_keepalive(5)  # notices a dead peer even when no trial is talking
        try:  # small JSON lines must not wait for Nagle/delayed-ACK (that alone costs ~40 ms per trial)
            transport.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass
        self._client = client
        return self

    def is_alive(self) -> bool:
        transport = self._client.get_transport() if self._client is not None else None
        return transport is not None and transport.is_active()

    def close(self) -> None:
        with self._lock:
            client, self._client, self._sftp = self._client, None, None
        if client is not None:
            client.close()

    @property
    def transport(self) -> paramiko.Transport:
        transport = self._client.get_transport() if self._client is not None else None
        if transport is None:
            raise RemoteError(f"machine {self.address}: not connected")
        return transport

    # ---- commands ----------------------------------------------------------------------------------------
    def open_command(self, command: str) -> paramiko.Channel:
        """Start ``command`` on a new channel of the transport and return the channel (stdin/stdout open)."""
        channel = self.transport.open_session(timeout=self.timeout)
        channel.exec_command(command)
        return channel

    def run(self, command: str, timeout: Optional[float] = None, stdin: bytes = b"") -> Tuple[int, str, str]:
        """Run ``command`` to the end: ``(exit status, stdout, stderr)``."""
        channel = self.open_command(command)
        channel.settimeout(timeout or max(self.timeout, 60.0))
        if stdin:
            channel.sendall(stdin)
        channel.shutdown_write()
        out, err = bytearray(), bytearray()
        try:
            while True:
                chunk = channel.recv(65536)
                if not chunk:
                    break
                out += chunk
            while True:
                chunk = channel.recv_stderr(65536)
                if not chunk:
                    break
                err += chunk
            status = channel.recv_exit_status()
        except socket.timeout:
            raise RemoteError(f"machine {self.address}: command timed out: {command[:120]}") from None
        finally:
            channel.close()
        return status, out.decode(errors="replace"), err.decode(errors="replace")

    def sftp(self) -> paramiko.SFTPClient:
        with self._lock:
            if self._sftp is None:
                self._sftp = self.transport.open_sftp_client()
            return self._sftp
