"""Settings of the ``ray`` training service, validated when assigned (and together when the experiment starts)."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Optional

from pydantic import Field, field_validator

from nascore.experiment.config import ComponentConfig, ConfigError
from nascore_remote.config import DEFAULT_EXCLUDES

if TYPE_CHECKING:  # pragma: no cover
    from nascore.experiment.config import NasExperimentConfig

__all__ = ["RayConfig", "DEFAULT_EXCLUDES"]

_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-]+:(\d{1,5})$|^\[[0-9a-fA-F:]+\]:(\d{1,5})$")
#: runtime_env keys nascore sets itself (the code directory travels as working_dir)
_OWN_RUNTIME_ENV_KEYS = {"working_dir": "trial_code_directory", "py_executable": None}


class RayConfig(ComponentConfig):
    """``NasExperimentConfig("ts", "simplified", "ray")`` (or ``("cgo", "graph", "ray")``).

    * ``address`` -- None: start a private local Ray instance for this experiment and stop it at the end;
      ``"auto"`` or ``"host:port"``: attach to a running cluster (its GCS address) and leave it running. Nodes and
      this process need the same ``RAY_AUTH_MODE`` / ``RAY_AUTH_TOKEN`` (Ray 2.59+ authenticates by token).
    * ``trial_cpus``, ``trial_gpus``, ``trial_resources`` -- what one trial asks Ray for (``trial_gpus`` may be a
      fraction below 1, e.g. 0.5: two trials share a GPU; Ray sets ``CUDA_VISIBLE_DEVICES`` to the GPUs it gives).
    * ``reuse_actors`` -- keep one warm actor per slot that imported ``preload`` (torch by default), the plugins and,
      after its first trial, the evaluator's modules, and run trial after trial in it. False: a new actor per trial.
    * ``max_node_failures_per_trial`` -- how often a trial whose node died is re-run elsewhere before it fails.
    * ``runtime_env`` -- added to the actors' Ray runtime_env (``env_vars``, ``pip``, ...); the code directory
      travels as ``working_dir`` from ``trial_code_directory`` (default: the working directory), with the same
      ``code_excludes``, ``.gitignore`` and ``code_size_limit_mb`` as the remote service.
    * ``num_cpus`` / ``num_gpus`` -- resources of a private instance (default: what Ray detects on this machine).

    ``trial_concurrency`` (experiment setting) defaults to what the cluster's resources allow for one trial's
    request when it is not set explicitly.
    """

    name: Literal["ray"] = "ray"
    address: Optional[str] = None
    trial_cpus: float = Field(default=1.0, ge=0)
    trial_gpus: float = Field(default=0.0, ge=0)
    trial_resources: Dict[str, float] = Field(default_factory=dict)
    reuse_actors: bool = True
    preload: List[str] = Field(default_factory=lambda: ["torch"])
    max_node_failures_per_trial: int = Field(default=3, ge=0)
    runtime_env: Dict[str, Any] = Field(default_factory=dict)
    trial_code_directory: Optional[str] = None
    code_excludes: List[str] = Field(default_factory=lambda: list(DEFAULT_EXCLUDES))
    code_size_limit_mb: float = Field(default=50.0, gt=0)
    num_cpus: Optional[int] = Field(default=None, ge=1)
    num_gpus: Optional[int] = Field(default=None, ge=0)

    @field_validator("address")
    @classmethod
    def _address(cls, value: Optional[str]) -> Optional[str]:
        if value is None or value == "auto":
            return value
        value = value.strip()
        if value.startswith("ray://"):
            raise ValueError(f"{value!r} is a Ray Client address; nascore-ray runs as a driver on the cluster: run "
                             "the experiment on a machine of the cluster and use its GCS address 'host:6379' "
                             "(or 'auto')")
        match = _HOST_PORT.match(value)
        port = match and int(match.group(1) or match.group(2))
        if not match or not 1 <= port <= 65535:
            raise ValueError(f"address {value!r} is not 'host:port' (e.g. '10.0.0.5:6379'), 'auto' (the cluster "
                             "this machine belongs to) or None (a private local instance)")
        return value

    @field_validator("trial_gpus")
    @classmethod
    def _gpus(cls, value: float) -> float:
        if value > 1 and not float(value).is_integer():
            raise ValueError(f"trial_gpus={value}: Ray shares a GPU between trials only for fractions below 1; "
                             "use a fraction (0.5) or a whole number (2)")
        return value

    @field_validator("trial_resources")
    @classmethod
    def _resources(cls, value: Dict[str, float]) -> Dict[str, float]:
        for key, amount in value.items():
            if key in ("CPU", "GPU", "memory", "object_store_memory"):
                raise ValueError(f"trial_resources[{key!r}]: set trial_cpus / trial_gpus instead")
            if not isinstance(amount, (int, float)) or amount < 0 or math.isnan(amount):
                raise ValueError(f"trial_resources[{key!r}] must be a non-negative number, got {amount!r}")
        return value

    @field_validator("runtime_env")
    @classmethod
    def _runtime_env(cls, value: Dict[str, Any]) -> Dict[str, Any]:
        for key, instead in _OWN_RUNTIME_ENV_KEYS.items():
            if key in value:
                advice = f"set {instead} instead" if instead else "it is managed by Ray"
                raise ValueError(f"runtime_env[{key!r}] is set by nascore-ray; {advice}")
        env_vars = value.get("env_vars", {})
        if not isinstance(env_vars, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                     for k, v in env_vars.items()):
            raise ValueError(f"runtime_env['env_vars'] must map names to strings, got {env_vars!r}")
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"runtime_env must be plain JSON (it is recorded with the experiment): {exc}") from None
        return value

    @field_validator("preload", "code_excludes")
    @classmethod
    def _names(cls, value: List[str]) -> List[str]:
        bad = [v for v in value if not isinstance(v, str) or not v.strip()]
        if bad:
            raise ValueError(f"entries must be non-empty strings, got {bad!r}")
        return value

    def resources(self) -> Dict[str, float]:
        """One trial's Ray resource request (what each trial actor holds)."""
        request = {"CPU": float(self.trial_cpus), "GPU": float(self.trial_gpus), **self.trial_resources}
        return {k: v for k, v in request.items() if v > 0}

    def trial_devices(self) -> List[str]:
        """Torch devices a trial sees: Ray sets CUDA_VISIBLE_DEVICES to the GPUs it gave, numbered from 0."""
        return [f"cuda:{i}" for i in range(math.ceil(self.trial_gpus))] or ["cpu"]

    def check(self, experiment_config: "NasExperimentConfig") -> None:
        if self.trial_code_directory is not None and not Path(self.trial_code_directory).expanduser().is_dir():
            raise ConfigError(f"training service 'ray': trial_code_directory {self.trial_code_directory!r} is not "
                              "a directory")
        explicit = "trial_concurrency" in getattr(experiment_config, "model_fields_set", set())
        if not self.resources() and not explicit:
            raise ConfigError("training service 'ray': trial_cpus=0 and trial_gpus=0 ask Ray for nothing, so the "
                              "cluster cannot bound how many trials run at once; set trial_concurrency or "
                              "trial_cpus")
