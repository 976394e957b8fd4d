"""The built-in profilers: parameter count, FLOPs/MACs, CPU latency. Each takes the built module and a
:class:`~nascore.profilers.ProfileContext` and returns ``{metric: number}``."""
from __future__ import annotations

import itertools
import statistics
import time
from typing import Any, Dict

import torch

from nascore.profilers.context import ProfileContext

__all__ = ["count_parameters", "count_flops", "measure_latency"]


def count_parameters(module: torch.nn.Module, context: ProfileContext) -> Dict[str, float]:
    """``params``: elements of every parameter (a tensor shared by two layers counts once)."""
    return {"params": float(sum(p.numel() for p in module.parameters()))}


class _EvalMode:
    """Run in eval mode without gradients, then put the module back as it was (a profiler must not change
    the model it measures: batch-norm statistics, dropout)."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.module = module

    def __enter__(self) -> None:
        self.was_training = self.module.training
        self.no_grad = torch.no_grad()
        self.no_grad.__enter__()
        self.module.eval()

    def __exit__(self, *exc: Any) -> None:
        self.module.train(self.was_training)
        self.no_grad.__exit__(*exc)


def count_flops(module: torch.nn.Module, context: ProfileContext) -> Dict[str, float]:
    """``flops`` of one forward pass on ``context.input_shape`` with the formulas of ``torch.utils.flop_counter``
    (a multiply-add is 2 FLOPs), and ``macs`` = flops / 2.

    The pass runs on the ``meta`` device (shapes only, no arithmetic), so counting a large model costs
    milliseconds; a model with an operation that has no meta kernel is counted with a real CPU pass instead."""
    with _EvalMode(module):
        try:
            flops = _count(lambda: _meta_forward(module, context))
        except Exception:  # noqa: BLE001 - e.g. an op without a meta kernel, data-dependent control flow
            x = context.example_input()
            flops = _count(lambda: module(x))
    return {"flops": float(flops), "macs": flops / 2}


def _count(forward: Any) -> int:
    """FLOPs of the aten operations ``forward()`` runs, by ``torch.utils.flop_counter``'s formulas. A bare
    dispatch mode: ``FlopCounterMode`` also tracks every module with hooks, which doubles the cost of a pass
    on meta tensors, for a per-module breakdown we do not use."""
    from torch.utils.flop_counter import flop_registry
    try:
        from torch.utils._python_dispatch import TorchDispatchMode
    except ImportError:  # a torch without it: the public counter
        from torch.utils.flop_counter import FlopCounterMode
        counter = FlopCounterMode(display=False)
        with counter:
            forward()
        return counter.get_total_flops()

    class Counter(TorchDispatchMode):
        total = 0

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            formula = flop_registry.get(func._overloadpacket)
            if formula is not None:
                Counter.total += formula(*args, **kwargs, out_val=out)
            return out

    with Counter():
        forward()
    return Counter.total


def _meta_forward(module: torch.nn.Module, context: ProfileContext) -> None:
    """``module`` called on meta tensors: its parameters and buffers replaced by meta copies (free)."""
    if context.input_shape is None:
        context.example_input()  # raises the message naming profile_input_shape
    meta = {name: torch.empty_like(t, device="meta")
            for name, t in itertools.chain(module.named_parameters(), module.named_buffers())}
    x = torch.empty(*context.input_shape, device="meta")  # type: ignore[misc]
    torch.func.functional_call(module, meta, (x,))


def measure_latency(module: torch.nn.Module, context: ProfileContext) -> Dict[str, float]:
    """``latency_ms``: the median wall time of ``context.latency_runs`` forward passes on the CPU, after
    ``latency_warmup`` untimed ones, with this process's torch thread count. The median ignores the odd
    slow run; on a shared machine repeated measurements of one model still differ by a few percent."""
    x = context.example_input()
    times = []
    with _EvalMode(module):
        for _ in range(context.latency_warmup):
            module(x)
        for _ in range(max(1, context.latency_runs)):
            start = time.perf_counter()
            module(x)
            times.append(time.perf_counter() - start)
    return {"latency_ms": statistics.median(times) * 1000.0}
