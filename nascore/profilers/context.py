"""What a profiler is told about the measurement: the input shape and how often to time the model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Tuple

__all__ = ["ProfileContext"]


@dataclass(frozen=True)
class ProfileContext:
    """Settings every profiler receives (from ``NasExperimentConfig``: ``profile_input_shape``,
    ``profile_latency_runs``).

    ``input_shape`` is the full shape of one input tensor, batch included (``(1, 3, 32, 32)``); None when the
    experiment declares none (profilers with ``needs_input`` then cannot run). ``latency_runs`` timed runs
    follow ``latency_warmup`` untimed ones.
    """

    input_shape: Optional[Tuple[int, ...]] = None
    latency_runs: int = 20
    latency_warmup: int = 3

    def example_input(self) -> Any:
        """A random float tensor of ``input_shape`` on the CPU (fixed seed: every model sees the same input)."""
        if self.input_shape is None:
            raise ValueError("this profiler runs the model and needs an input shape; set "
                             "NasExperimentConfig(profile_input_shape=[1, 3, 32, 32]) (batch included)")
        import torch
        generator = torch.Generator().manual_seed(0)
        return torch.randn(*self.input_shape, generator=generator)
