"""The built-in plugin ``nascore.profilers``: registers the profilers shipped with the core, through the same
hook a third party uses. Light: torch is imported only when a profiler runs."""
from __future__ import annotations

from typing import List

from nascore.plugins import hookimpl
from nascore.specs import ProfilerSpec


@hookimpl
def nascore_profilers() -> List[ProfilerSpec]:
    return [
        ProfilerSpec(name="params", factory="nascore.profilers.builtin:count_parameters", metrics=("params",),
                     description="number of parameters (shared tensors once)"),
        ProfilerSpec(name="flops", factory="nascore.profilers.builtin:count_flops", metrics=("flops", "macs"),
                     needs_input=True,
                     description="FLOPs and MACs of one forward pass on profile_input_shape (torch.utils.flop_counter)"),
        ProfilerSpec(name="latency", factory="nascore.profilers.builtin:measure_latency", metrics=("latency_ms",),
                     needs_input=True,
                     description="median CPU time of one forward pass on profile_input_shape, in milliseconds"),
    ]
