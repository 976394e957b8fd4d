"""Settings of the ``cgo`` middleware and where its devices come from."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Optional, Union

from pydantic import Field, field_validator

from nascore.experiment.config import ComponentConfig, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from nascore.experiment.config import NasExperimentConfig

__all__ = ["CgoConfig", "resolve_devices"]

_DEVICE = re.compile(r"^(cpu|cuda(:\d+)?|mps)$")


class CgoConfig(ComponentConfig):
    """``NasExperimentConfig("cgo", "graph", "local" | "remote")``.

    * ``max_concurrency_cgo`` -- at most this many models are merged into one trial.
    * ``batch_waiting_time`` -- seconds a queued model waits for others before its batch is merged anyway
      (a batch also goes at once when it is full, the budget is used up or someone waits for the models).
    * ``optimizers`` -- the cross-graph optimizers (registered with ``nascore_optimizers``) applied, in order:
      a name, or ``{"name": ..., **settings}`` whose settings go to the optimizer's factory.
    * ``devices`` -- e.g. ``["cuda:0", "cuda:1"]``; models are placed round robin. Default: the GPUs the
      training service gives a trial (``gpu_indices`` of the machines, or this machine's GPUs), else CPU.
    """

    name: Literal["cgo"] = "cgo"
    max_concurrency_cgo: int = Field(default=4, ge=1)
    batch_waiting_time: float = Field(default=60.0, ge=0, description="seconds")
    optimizers: List[Union[str, Dict[str, Any]]] = Field(default_factory=lambda: ["dedup_input"])
    devices: Optional[List[str]] = None

    @field_validator("optimizers")
    @classmethod
    def _optimizers(cls, value: List[Any]) -> List[Any]:
        from nascore.components import parse_named
        for entry in value:
            parse_named(entry, "optimizer")  # shape only; names are checked when the experiment starts
        return list(value)

    @field_validator("devices")
    @classmethod
    def _devices(cls, value: Optional[List[str]]) -> Optional[List[str]]:
        if value is None:
            return None
        if not value:
            raise ValueError("devices must list at least one device (e.g. ['cpu'] or ['cuda:0', 'cuda:1'])")
        bad = [d for d in value if not isinstance(d, str) or not _DEVICE.match(d)]
        if bad:
            raise ValueError(f"devices {bad!r} are not device names; write 'cpu', 'cuda:0', 'cuda:1' ...")
        return list(value)

    def check(self, experiment_config: "NasExperimentConfig") -> None:
        from nascore.plugins import get_plugin_manager
        pm = get_plugin_manager()
        from nascore.components import parse_named
        known = pm.names("optimizer")
        unknown = [name for name, _ in (parse_named(e, "optimizer") for e in self.optimizers) if name not in known]
        if unknown:
            raise ConfigError(f"execution engine 'cgo': optimizers {unknown} are not registered (available: "
                              f"{', '.join(known) or 'none'}); fix config.optimizers or install the plugin")
        fmt = getattr(experiment_config, "model_format", None)
        if fmt is not None and fmt.name != "graph":
            raise ConfigError(f"execution engine 'cgo' merges graph models; model format '{fmt.name}' does not "
                              "fit. Use NasExperimentConfig('cgo', 'graph', ...)")


def _local_gpus() -> List[int]:
    try:
        import torch
        return list(range(torch.cuda.device_count()))
    except Exception:  # noqa: BLE001 - no usable CUDA: CPU it is
        return []


def resolve_devices(config: Any) -> List[str]:
    """The devices one merged trial places its models on, as seen from inside the trial."""
    cgo = getattr(config, "execution_engine", None)
    explicit = getattr(cgo, "devices", None)
    if explicit:
        return list(explicit)
    service = getattr(config, "training_service", None)
    trial_devices = getattr(service, "trial_devices", None)
    if callable(trial_devices):  # the service says what a trial sees (ray: the GPUs Ray gives it, from cuda:0)
        return list(trial_devices())
    name = getattr(service, "name", None)
    if name == "remote":
        machines = list(getattr(service, "machine_list", None) or [])
        counts = [len(m.gpu_indices or []) for m in machines]
        # A trial may land on any machine, and it gets all of that machine's gpu_indices (renumbered from 0
        # by CUDA_VISIBLE_DEVICES), so only what every machine has can be used.
        usable = min(counts) if counts else 0
        return [f"cuda:{i}" for i in range(usable)] or ["cpu"]
    per_trial = getattr(service, "trial_gpu_number", None)
    if per_trial:  # the service sets CUDA_VISIBLE_DEVICES to that many GPUs: the trial sees 0..n-1
        return [f"cuda:{i}" for i in range(per_trial)]
    if per_trial == 0:
        return ["cpu"]
    indices = getattr(service, "gpu_indices", None)
    if indices is None:
        indices = _local_gpus()
    return [f"cuda:{i}" for i in indices] or ["cpu"]
