"""One remote machine as the service sees it: connect, prepare (Python check, agent and code upload), attach
to the agent over an SSH channel, and exchange JSON lines with it."""
from __future__ import annotations

import hashlib
import json
import logging
import shlex
import stat
import threading
import uuid
from pathlib import Path
from typing import Any, Dict, Optional

import paramiko

from nascore_remote.agent.wire import safe_name
from nascore_remote.config import RemoteMachineConfig
from nascore_remote.connection import MachineConnection, RemoteError
from nascore_remote.upload import CodeTree

__all__ = ["RemoteMachine", "AGENT_FILES", "AGENT_SOURCE", "GPU_POLL_SECONDS"]

_logger = logging.getLogger(__name__)


def _agent_files() -> Dict[str, bytes]:
    """What is uploaded: the package ``nascore_remote.agent`` as ``_nascore_agent/`` and its ``__main__``
    as the entry script ``agent.py`` (relative imports make the package name irrelevant)."""
    folder = Path(__file__).parent / "agent"
    files = {f"_nascore_agent/{p.name}": p.read_bytes() for p in sorted(folder.glob("*.py"))
             if p.name != "__main__.py"}
    files["agent.py"] = (folder / "__main__.py").read_bytes()  # last: its presence means the upload is whole
    return files


AGENT_FILES = _agent_files()
AGENT_SOURCE = AGENT_FILES["agent.py"]  # the entry script
AGENT_HASH = hashlib.sha256(b"".join(name.encode() + b"\0" + hashlib.sha256(data).digest()
                                     for name, data in AGENT_FILES.items())).hexdigest()[:16]
#: how often an agent asks nvidia-smi which GPUs others use (machines with gpu_indices, use_active_gpu=False)
GPU_POLL_SECONDS = 2.0


class RemoteMachine:
    """Connection, remote paths and the agent channel of one machine (no scheduling here)."""

    def __init__(self, index: int, config: RemoteMachineConfig, run_id: str, timeout: float):
        self.index = index
        self.config = config
        self.connection = MachineConnection(config, timeout)
        self.run_id = run_id
        self.python = config.python_path or "python3"
        self.home = ""
        self.code_dir = ""
        self.channel: Optional[paramiko.Channel] = None
        # names the experiment (not this run): a later owner's agent retires this run's agent at once
        self.owner = ""
        self.send_timeout: Optional[float] = None  # the agent's (None: its default)
        self._send_lock = threading.Lock()
        self._buffer = b""

    @property
    def address(self) -> str:
        return self.config.address

    @property
    def base(self) -> str:
        return f"{self.home}/.nascore"

    @property
    def agent_path(self) -> str:
        return f"{self.base}/agent/{AGENT_HASH}/agent.py"

    @property
    def run_dir(self) -> str:
        return f"{self.base}/run/{self.run_id}-{self.index}"

    # ---- setup ------------------------------------------------------------------------------------------
    def connect(self) -> None:
        self.connection.close()
        self.connection.connect()

    def prepare(self, code: CodeTree, plugins: Dict[str, str], archive: "_LazyArchive") -> None:
        """Find home, upload the agent, check the Python there, upload the code (unless already there)."""
        sftp = self.connection.sftp()
        self.home = sftp.normalize(".")
        self._mkdirs(self.base)
        sftp.chmod(self.base, 0o700)  # ours alone, whatever the login umask (trial code and logs live below)
        if not self._exists(self.agent_path):
            folder = self.agent_path.rsplit("/", 1)[0]
            self._mkdirs(f"{folder}/_nascore_agent")
            for name, data in AGENT_FILES.items():  # the entry script comes last: once it is there, all are
                self._write(f"{folder}/{name}", data)
        self._check_python(plugins)
        self.code_dir = f"{self.base}/code/{code.digest}"
        if not self._exists(self.code_dir):
            tmp = f"{self.code_dir}.{uuid.uuid4().hex[:8]}.tar.gz"
            self._mkdirs(tmp.rsplit("/", 1)[0])
            self._write(tmp, archive.get(), atomic=False)
            self._python("unpack", tmp, self.code_dir)

    def _check_python(self, plugins: Dict[str, str]) -> None:
        status, out, err = self.connection.run(
            f"{shlex.quote(self.python)} {shlex.quote(self.agent_path)} check {' '.join(map(shlex.quote, plugins))}")
        if status == 127 or (status != 0 and "not found" in err):
            raise RemoteError(f"machine {self.address}: Python {self.python!r} not found there; install "
                              "Python 3 or set python_path on this machine")
        try:
            report = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise RemoteError(f"machine {self.address}: checking {self.python!r} failed (exit {status}): "
                              f"{err.strip()[-500:]}") from None
        if report.get("nascore") is None:
            raise RemoteError(f"machine {self.address}: {report['python']} cannot import nascore "
                              f"({report.get('error')}); install it there: `{report['python']} -m pip install "
                              f"nascore {' '.join(plugins.values())}`, or set python_path to a Python that has it")
        missing = report.get("missing") or []
        if missing:
            dists = " ".join(plugins[name] for name in missing)
            raise RemoteError(f"machine {self.address}: {report['python']} has nascore but not the plugin(s) "
                              f"{', '.join(missing)} this experiment needs; install them there: "
                              f"`{report['python']} -m pip install {dists}`")

    def _python(self, *args: str) -> str:
        command = " ".join(shlex.quote(a) for a in (self.python, self.agent_path, *args))
        status, out, err = self.connection.run(command)
        if status != 0:
            raise RemoteError(f"machine {self.address}: `agent.py {args[0]}` failed (exit {status}): "
                              f"{err.strip()[-500:]}")
        return out

    def _exists(self, path: str) -> bool:
        try:
            self.connection.sftp().stat(path)
            return True
        except IOError:
            return False

    def _mkdirs(self, path: str) -> None:
        sftp = self.connection.sftp()
        parts = path.strip("/").split("/")
        current = ""
        for part in parts:
            current += "/" + part
            try:
                if not stat.S_ISDIR(sftp.stat(current).st_mode):
                    raise RemoteError(f"machine {self.address}: {current} exists and is not a directory")
            except IOError:
                sftp.mkdir(current, 0o700)

    def _write(self, path: str, data: bytes, atomic: bool = True) -> None:
        """Write ``path`` (its folder exists); ``atomic``: through a temporary name, so readers never see
        half a file and concurrent uploads of the same content are harmless."""
        sftp = self.connection.sftp()
        tmp = f"{path}.{uuid.uuid4().hex[:8]}" if atomic else path
        with sftp.open(tmp, "wb") as f:
            f.chmod(0o600)
            f.set_pipelined(True)
            f.write(data)
        if atomic:
            try:
                sftp.posix_rename(tmp, path)
            except IOError:  # a concurrent upload won: same content
                sftp.remove(tmp)

    # ---- agent channel --------------------------------------------------------------------------------------
    def attach(self, after: int, orphan_timeout: float, retire: bool = False) -> Dict[str, Any]:
        """Open the agent channel (starting the agent if needed) and say hello; returns the agent's reply.
        ``retire``: this run is a new owner of the experiment; agents its earlier runs left are stopped first."""
        args = [self.python, self.agent_path, "attach", self.run_dir, self.code_dir, "--orphan-timeout",
                str(orphan_timeout)]
        if self.owner:
            args += ["--owner", self.owner] + (["--retire"] if retire else [])
        if self.send_timeout is not None:
            args += ["--send-timeout", str(self.send_timeout)]
        if self.config.gpu_indices and not self.config.use_active_gpu:  # report GPUs that others use
            args += ["--nvidia-smi", self.config.nvidia_smi or "nvidia-smi", "--gpu-poll", str(GPU_POLL_SECONDS)]
        command = " ".join(shlex.quote(a) for a in args)
        self.channel = self.connection.open_command(command)
        self._buffer = b""
        self.send({"op": "hello", "after": after})
        reply = self.receive()
        if reply is None or reply.get("reply") != "hello":
            err = b""
            while self.channel.recv_stderr_ready():
                err += self.channel.recv_stderr(65536)
            detail = err.decode(errors="replace")[-300:] or "no output"
            raise RemoteError(f"machine {self.address}: the agent did not answer ({detail}); see "
                              f"{self.run_dir}/agent.log there")
        return reply

    def send(self, message: Dict[str, Any]) -> bool:
        """Send one message; False when the channel is gone (the reader reconnects)."""
        data = (json.dumps(message) + "\n").encode()
        with self._send_lock:
            channel = self.channel
            if channel is None or channel.closed:
                return False
            try:
                channel.sendall(data)
                return True
            except (OSError, EOFError, paramiko.SSHException):
                return False

    def receive(self) -> Optional[Dict[str, Any]]:
        """The next message from the agent, or None when the channel closed."""
        channel = self.channel
        while b"\n" not in self._buffer:
            if channel is None:
                return None
            try:
                chunk = channel.recv(65536)
            except (OSError, EOFError, paramiko.SSHException):
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def save_logs(self, end_event: Dict[str, Any], remote_id: str, local_dir: Path) -> None:
        """Write the trial's logs to ``local_dir``: from the end event when small enough to travel in it,
        else copied over SFTP."""
        logs = end_event.get("logs")
        if isinstance(logs, dict):
            local_dir.mkdir(parents=True, exist_ok=True)
            for name, text in logs.items():
                (local_dir / f"{name}.log").write_text(text)
        else:
            self.fetch_logs(remote_id, local_dir, trial_dir_name(remote_id))

    def fetch_logs(self, remote_id: str, local_dir: Path, safe_id: str) -> None:
        """Copy the trial's stdout/stderr next to the local service's logs (``stdout.log``/``stderr.log``)."""
        sftp = self.connection.sftp()
        local_dir.mkdir(parents=True, exist_ok=True)
        for name in ("stdout", "stderr"):
            try:
                sftp.get(f"{self.run_dir}/trials/{safe_id}/{name}", str(local_dir / f"{name}.log"))
            except IOError:
                (local_dir / f"{name}.log").touch()

    def fetch_file(self, remote: str, local: str) -> None:
        """Copy ``remote`` (a file on the machine) to ``local`` here, written whole or not at all."""
        target = Path(local)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        try:
            self.connection.sftp().get(remote, str(partial))
        except IOError as exc:
            partial.unlink(missing_ok=True)
            if getattr(exc, "errno", None) == 2:
                raise FileNotFoundError(remote) from exc
            raise
        partial.replace(target)

    def close(self) -> None:
        channel, self.channel = self.channel, None
        if channel is not None:
            channel.close()
        self.connection.close()


class _LazyArchive:
    """The code archive, built on first need only (an unchanged tree already on every machine is not packed)."""

    def __init__(self, code: CodeTree):
        self.code = code
        self._data: Optional[bytes] = None
        self._lock = threading.Lock()

    def get(self) -> bytes:
        with self._lock:
            if self._data is None:
                self._data = self.code.archive()
            return self._data


def plugin_requirements(config: Any) -> Dict[str, str]:
    """``{entry point name: distribution}`` of the plugins a trial needs (the model format's)."""
    from nascore.plugins import get_plugin_manager
    pm = get_plugin_manager()
    needed: Dict[str, str] = {}
    fmt = getattr(getattr(config, "model_format", None), "name", None)
    if fmt:
        provider = pm.get_model_format(fmt).provider
        if provider and provider in getattr(pm, "plugins", {}):
            info = pm.plugins[provider]
            if not getattr(info, "builtin", False):
                needed[provider] = info.distribution or f"nascore-{provider}"
    return needed


def trial_dir_name(trial_id: str) -> str:
    """The folder of a trial's logs on the machine (the agent names it the same way)."""
    return safe_name(trial_id)


