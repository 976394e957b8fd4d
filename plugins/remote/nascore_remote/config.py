"""Settings of the ``remote`` training service: the machines and how to reach them.

Every field may be left empty at construction and filled in later (``rm.host = ...``); assignments are
validated. What needs the outside world (key files, host keys, logins) is checked when the experiment starts.
Passwords and passphrases are :class:`~pydantic.SecretStr`: they print and serialize as ``**********``, so they
never reach logs, the experiment store or ``nascore view``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from nascore.experiment.config import ComponentConfig, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from nascore.experiment.config import NasExperimentConfig

__all__ = ["RemoteMachineConfig", "RemoteConfig"]

DEFAULT_EXCLUDES = (".git/", ".hg/", ".svn/", "__pycache__/", "*.pyc", ".venv/", "venv/", "env/",
                    ".mypy_cache/", ".pytest_cache/", "node_modules/", "*.egg-info/", ".ipynb_checkpoints/",
                    "nascore-experiments/")


class RemoteMachineConfig(BaseModel):
    """One machine: ``RemoteMachineConfig(host="10.0.0.5", user="me", ssh_key_file="~/.ssh/id_ed25519")``."""

    # a mistake's input never shows in an error: it may be a password (numeric, a list, a misspelled key)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, hide_input_in_errors=True)

    @field_validator("password", "ssh_passphrase")
    @classmethod
    def _not_the_mask(cls, value: Optional[SecretStr]) -> Optional[SecretStr]:
        if value is not None and value.get_secret_value() == "**********":
            raise ValueError("is the '**********' placeholder an older config.save() wrote, not a secret; set "
                             "the real one (or password_env / ssh_passphrase_env), or remove the line")
        return value

    def secret(self, name: str) -> Optional[SecretStr]:
        """``password`` or ``ssh_passphrase``: as set, else from the environment variable ``<name>_env`` names."""
        value = getattr(self, name)
        variable = getattr(self, f"{name}_env")
        if value is None and variable:
            if variable not in os.environ:
                raise ConfigError(f"machine {self.address}: {name}_env names the environment variable "
                                  f"{variable!r}, which is not set")
            value = SecretStr(os.environ[variable])
        return value

    host: Optional[str] = None
    port: int = Field(default=22, ge=1, le=65535)
    user: Optional[str] = None
    password: Optional[SecretStr] = Field(default=None, description=(
        "set it after loading (machine.password = getpass.getpass()), name an environment "
        "variable that holds it in password_env, answer the prompt of `nascore resume`, or log in with "
        "ssh_key_file"))
    #: name of an environment variable holding the password (read when connecting; the config stays secret-free)
    password_env: Optional[str] = None
    ssh_key_file: Optional[str] = None
    ssh_passphrase: Optional[SecretStr] = Field(default=None, description=(
        "set it after loading, name an environment variable that holds it in ssh_passphrase_env, "
        "or answer the prompt of `nascore resume`"))
    #: name of an environment variable holding the key's passphrase
    ssh_passphrase_env: Optional[str] = None
    #: the Python that runs trials there (default: the first ``python3`` on the login PATH)
    python_path: Optional[str] = None
    gpu_indices: Optional[List[int]] = None
    max_trial_number_per_gpu: int = Field(default=1, ge=1)
    #: False: skip GPUs that run compute processes we did not start (asked from nvidia-smi there)
    use_active_gpu: bool = False
    #: the nvidia-smi to ask on that machine (default: ``nvidia-smi`` on the login PATH; if it is missing
    #: there, no GPU counts as busy)
    nvidia_smi: Optional[str] = None
    #: known_hosts file to check the host key against (default: ~/.ssh/known_hosts)
    known_hosts: Optional[str] = None
    allow_unknown_hosts: bool = False

    @field_validator("gpu_indices", mode="before")
    @classmethod
    def _gpu_indices(cls, value):
        # NNI-style "0,1,2" strings and a single int are accepted too.
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("host", "user", "ssh_key_file", "python_path", "known_hosts", "nvidia_smi")
    @classmethod
    def _non_empty(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not value.strip():
            raise ValueError("must not be empty; leave it unset (None) instead")
        return value

    @property
    def address(self) -> str:
        """``user@host:port``: how messages name this machine (never includes the password)."""
        return f"{self.user or '?'}@{self.host or '?'}:{self.port}"

    def key_path(self) -> Optional[Path]:
        return None if self.ssh_key_file is None else Path(os.path.expanduser(self.ssh_key_file))

    def known_hosts_path(self) -> Path:
        return Path(os.path.expanduser(self.known_hosts or "~/.ssh/known_hosts"))

    def check_static(self, where: str) -> None:
        """Problems found without connecting; raise :class:`ConfigError` naming ``where`` and the machine."""
        name = f"{where} ({self.address})"
        self.secret("password")  # a named environment variable must exist
        missing = [f for f in ("host", "user") if getattr(self, f) is None]
        if missing:
            raise ConfigError(f"{name}: {' and '.join(missing)} not set; set e.g. "
                              f"machine.{missing[0]} = {'10.0.0.5' if missing[0] == 'host' else 'me'!r}")
        key = self.key_path()
        if key is not None:
            if not key.is_file() or not os.access(key, os.R_OK):
                raise ConfigError(f"{name}: ssh_key_file {str(key)!r} does not exist or cannot be read")
            from nascore_remote.connection import load_private_key
            load_private_key(key, self.secret("ssh_passphrase"), name)  # raises ConfigError on a bad key or passphrase
        if self.known_hosts is not None and not self.known_hosts_path().is_file():
            raise ConfigError(f"{name}: known_hosts file {str(self.known_hosts_path())!r} does not exist")
        if self.gpu_indices is not None and (not self.gpu_indices or min(self.gpu_indices) < 0):
            raise ConfigError(f"{name}: gpu_indices must be a non-empty list of GPU numbers, "
                              f"got {self.gpu_indices!r}")


class RemoteConfig(ComponentConfig):
    """``NasExperimentConfig("ts", "simplified", "remote")``, then ``config.training_service.machine_list = [...]``.

    ``trial_gpu_number`` is how many of a machine's ``gpu_indices`` one trial gets (``CUDA_VISIBLE_DEVICES``).
    ``trial_code_directory`` (default: the working directory when the experiment starts) is uploaded once
    per experiment; files matched by ``.gitignore`` there or by ``code_excludes`` are left out, and a tree
    larger than ``code_size_limit_mb`` is refused. ``reconnect_timeout`` is how long a dropped machine is
    retried (with backoff) before it is taken out of rotation.
    """

    name: Literal["remote"] = "remote"
    machine_list: List[RemoteMachineConfig] = Field(default_factory=list)
    trial_code_directory: Optional[str] = None
    code_excludes: List[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    code_size_limit_mb: float = Field(default=50.0, gt=0)
    #: GPUs per trial (None: one if the machine lists gpu_indices, else leave CUDA alone; 0: hide GPUs;
    #: -1: every GPU of the machine it runs on)
    trial_gpu_number: Optional[int] = Field(default=None, ge=-1)
    reconnect_timeout: float = Field(default=30.0, gt=0, description="seconds")
    #: seconds an agent waits for a client that takes none of its messages (a stalled connection) before it
    #: drops the connection; the service reconnects and gets every event again, the trials never wait on it
    agent_send_timeout: float = Field(default=60.0, gt=0, description="seconds")
    connect_timeout: float = Field(default=10.0, gt=0, description="seconds")
    #: most a trial's stdout or stderr log keeps on the machine (the start is cut, the end kept); None: no limit
    trial_log_limit_mb: Optional[float] = Field(default=64.0, gt=0)

    def check(self, experiment_config: "NasExperimentConfig") -> None:
        if not self.machine_list:
            raise ConfigError("training service 'remote' has no machines; set "
                              "config.training_service.machine_list = [RemoteMachineConfig(host=..., user=...)]")
        for index, machine in enumerate(self.machine_list):
            machine.check_static(f"machine_list[{index}]")
        most = max((len(m.gpu_indices or []) for m in self.machine_list), default=0)
        if self.trial_gpu_number and self.trial_gpu_number > most:
            raise ConfigError(f"trial_gpu_number={self.trial_gpu_number} but no machine lists that many "
                              f"gpu_indices (most: {most}); lower trial_gpu_number or add GPUs")
        if self.trial_code_directory is not None and not Path(self.trial_code_directory).expanduser().is_dir():
            raise ConfigError(f"trial_code_directory {self.trial_code_directory!r} is not a directory")
