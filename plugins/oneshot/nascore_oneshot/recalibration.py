"""Batch-norm recalibration for scoring subnets of a single-path supernet (as SPOS does).

A supernet's running statistics average over every path trained, so they fit no single subnet: scored in
eval mode with them, a good subnet can look bad. Before a subnet is scored its statistics are re-estimated
from a few training batches (forward only, cumulative average), and afterwards the supernet's own
statistics come back, so training can go on (or resume) unchanged.
"""
from __future__ import annotations

import contextlib
import itertools
from typing import Any, Callable, Iterator, List

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from .sliced import SuperSlicedLayer

__all__ = ["running_stat_owners", "kept_buffers", "recalibrate_batch_norm", "first_batches"]

_STATS = ("running_mean", "running_var", "num_batches_tracked")


def running_stat_owners(space: nn.Module) -> List[nn.Module]:
    """Batch norms tracking running statistics: plain ones, and sliced ones (``SuperSlicedLayer`` holding the
    shared statistics of a ``nascore.nn.BatchNorm*`` with value choices)."""
    return [m for m in space.modules()
            if m._buffers.get("running_mean") is not None and m._buffers.get("running_var") is not None
            and (isinstance(m, _BatchNorm) or isinstance(m, SuperSlicedLayer))]


def _momentum_holders(owners: List[nn.Module]) -> List[Any]:
    # a sliced layer computes with its per-sample template's momentum (see sliced._batch_norm)
    holders: List[Any] = []
    for m in owners:
        holders.extend(m.templates() if isinstance(m, SuperSlicedLayer) else [m])
    return [h for h in holders if hasattr(h, "momentum")]


@contextlib.contextmanager
def kept_buffers(space: nn.Module) -> Iterator[None]:
    """Restore every buffer of ``space`` (values, in place) when the block ends."""
    saved = [(b, b.detach().clone()) for b in space.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


@torch.no_grad()
def recalibrate_batch_norm(space: nn.Module, batches: Any, forward: Callable[[Any], Any]) -> int:
    """Reset the running statistics of ``space``'s batch norms and re-estimate them as the plain average over
    ``batches`` (``forward(batch)`` runs one in train mode). Returns the number of batches used (0: the
    space has no running statistics, nothing ran)."""
    owners = running_stat_owners(space)
    if not owners:
        return 0
    holders = _momentum_holders(owners)
    momenta = [h.momentum for h in holders]
    for m in owners:
        m._buffers["running_mean"].zero_()
        m._buffers["running_var"].fill_(1.0)
        tracked = m._buffers.get("num_batches_tracked")
        if tracked is not None:
            tracked.zero_()
    was_training = space.training
    count = 0
    try:
        for h in holders:
            h.momentum = None  # cumulative average: every batch counts the same
        space.train()
        for batch in batches:
            forward(batch)
            count += 1
    finally:
        for h, momentum in zip(holders, momenta):
            h.momentum = momentum
        space.train(was_training)
    return count


def first_batches(loader: Any, n: int) -> Iterator[Any]:
    """The first ``n`` batches of ``loader``."""
    return itertools.islice(iter(loader), n)
