"""Settings of the ``ts`` engine and the ``local`` training service."""
from __future__ import annotations

from typing import List, Literal, Optional

from pydantic import Field

from nascore.experiment.config import ComponentConfig, ConfigError

__all__ = ["TsConfig", "LocalConfig"]


class TsConfig(ComponentConfig):
    """``NasExperimentConfig("ts", ...)``. The engine reads ``trial_concurrency``, ``max_trial_number``,
    ``max_experiment_duration``, ``max_trial_duration`` and ``stop_on_failure`` from the experiment config;
    where trials run is the training service's business (``config.training_service``)."""

    name: Literal["ts"] = "ts"


class LocalConfig(ComponentConfig):
    """``NasExperimentConfig("ts", ..., "local")``: trials in worker processes on this machine.

    * ``reuse_worker`` -- keep a worker process per slot and run trial after trial in it (torch is imported
      once); False starts a fresh process per trial. A worker that crashed, timed out or left non-daemon
      threads behind is replaced either way.
    * ``trial_gpu_number`` -- GPUs per trial (None: leave ``CUDA_VISIBLE_DEVICES`` alone; 0: hide GPUs).
    * ``gpu_indices`` -- which GPUs to use (default: all); ``max_trial_number_per_gpu`` trials may share one.
    * ``use_active_gpu`` -- also use GPUs that run other processes (e.g. a desktop's display).
    * ``preload`` -- modules a worker imports before its first trial (add your heavy imports, e.g.
      ``"pytorch_lightning"``; ``[]`` for trials that need no torch).
    * ``python_interpreter`` -- the Python running workers (default: this one).
    * ``trial_log_limit_mb`` -- most a trial's stdout or stderr log keeps (the start is cut, the end kept);
      None: no limit.
    """

    name: Literal["local"] = "local"
    reuse_worker: bool = True
    trial_gpu_number: Optional[int] = Field(default=None, ge=0)
    gpu_indices: Optional[List[int]] = None
    max_trial_number_per_gpu: int = Field(default=1, ge=1)
    use_active_gpu: bool = False
    preload: List[str] = Field(default_factory=lambda: ["torch"])
    python_interpreter: Optional[str] = None
    trial_log_limit_mb: Optional[float] = Field(default=64.0, gt=0)

    def check(self, experiment_config) -> None:
        if not self.trial_gpu_number:
            return
        from nascore_training_service.gpu import detect_gpus
        present = detect_gpus()
        where = f"training_service 'local': trial_gpu_number={self.trial_gpu_number}"
        if not present:
            raise ConfigError(f"{where} asks for GPUs, but this machine has none (nvidia-smi and "
                              "torch.cuda.device_count() found no GPU); set trial_gpu_number to 0 or None, or "
                              "run on a machine with GPUs")
        missing = [i for i in (self.gpu_indices or []) if i not in present]
        if missing:
            raise ConfigError(f"training_service 'local': gpu_indices {missing} do not exist on this machine "
                              f"(GPUs present: {present}); fix gpu_indices")
        usable = self.gpu_indices if self.gpu_indices is not None else present
        if self.trial_gpu_number > len(usable):
            raise ConfigError(f"{where} but only {len(usable)} GPU(s) are usable ({usable}); lower "
                              "trial_gpu_number or add gpu_indices")
