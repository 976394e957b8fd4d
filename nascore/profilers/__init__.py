"""Profilers: costs of a frozen model measured without training (parameters, FLOPs/MACs, CPU latency).

Profilers are plugins (:func:`nascore.hookspecs.nascore_profilers` returns
:class:`~nascore.specs.ProfilerSpec` records); the built-in ``params``, ``flops`` and ``latency`` profilers are
registered by the built-in plugin ``nascore.profilers`` exactly the way a third party registers its own.
:class:`ModelProfiler` runs them in the experiment's process, caches per sample, and serves the values to
constraints and objectives. Names load lazily: ``import nascore.profilers`` imports no torch.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

_LAZY = {
    "ProfileContext": "nascore.profilers.context",
    "ModelProfiler": "nascore.profilers.runner",
    "ProfileView": "nascore.profilers.runner",
    "count_parameters": "nascore.profilers.builtin",
    "count_flops": "nascore.profilers.builtin",
    "measure_latency": "nascore.profilers.builtin",
}

__all__ = list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
