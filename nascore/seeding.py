"""Reproducible runs: an experiment ``seed`` seeds the strategy and every trial.

Each trial's seed is derived from the experiment seed and the model's canonical sample
(:func:`trial_seed`), so the same architecture gets the same seed whichever engine, worker or order runs it;
the trial seeds Python's, NumPy's and torch's generators with it (:func:`seed_everything`) before the model is
built, which fixes its initial weights and dropout masks. The data order comes from the experiment seed alone
(:func:`data_seed`, the same for every trial, so every candidate sees the same batches): the evaluator gives its
data loaders their own generator (:func:`seed_dataloaders`), so shuffles draw nothing from the model's stream.
That is what lets several models trained in one merged trial (nascore-cgo) each get the metric they get alone:
each runs its forward under its own generator state, and all of them see the batches of a trial run alone.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from typing import Any, Dict, Iterable, Optional

__all__ = ["trial_seed", "data_seed", "seed_everything", "seed_dataloaders", "seed_strategy"]


def trial_seed(experiment_seed: int, sample: Dict[str, Any]) -> int:
    """A 31-bit seed for the model of ``sample`` in an experiment seeded with ``experiment_seed``."""
    text = f"{experiment_seed}:{json.dumps(sample, sort_keys=True, default=repr)}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def data_seed(experiment_seed: int) -> int:
    """The 31-bit seed of the data order of every trial of an experiment seeded with ``experiment_seed``."""
    return int(hashlib.sha256(f"{experiment_seed}:data".encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def seed_dataloaders(loaders: Iterable[Any], seed: Optional[int]) -> None:
    """Give each torch ``DataLoader`` in ``loaders`` (items may be lists, tuples or dicts of loaders) a fresh
    generator seeded with ``seed``, used by its shuffle and its workers' base seed; a loader given its own
    ``generator`` by the user keeps it. Nothing happens when ``seed`` is None.

    Without this a loader draws from torch's global generator each time it is iterated, between the model's own
    draws (dropout), so the data order would depend on what else ran in the process."""
    if seed is None:
        return
    from torch.utils.data import DataLoader, RandomSampler
    import torch
    stack = list(loaders)
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, DataLoader):
            if item.generator is not None and not getattr(item, "_nascore_seeded", False):
                continue  # the user's own generator wins
            generator = torch.Generator().manual_seed(seed)
            item.generator = generator
            item._nascore_seeded = True  # type: ignore[attr-defined]
            sampler = getattr(item, "sampler", None)
            if isinstance(sampler, RandomSampler) and (sampler.generator is None
                                                       or getattr(sampler, "_nascore_seeded", False)):
                sampler.generator = generator
                sampler._nascore_seeded = True  # type: ignore[attr-defined]


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy (when installed) and torch (every device); ``PL_GLOBAL_SEED`` tells
    Lightning, which seeds its data-loader workers from it."""
    random.seed(seed)
    os.environ["PL_GLOBAL_SEED"] = str(seed)
    try:
        import numpy
        numpy.random.seed(seed)
    except ImportError:
        pass
    import torch
    torch.manual_seed(seed)  # all devices


def seed_strategy(strategy: Any, seed: Optional[int]) -> None:
    """Give ``seed`` to a strategy that has a ``seed`` attribute left None (its own seed wins), and rebuild its
    random generator ``rng`` from it."""
    if seed is None or getattr(strategy, "seed", 0) is not None:
        return
    strategy.seed = seed
    if isinstance(getattr(strategy, "rng", None), random.Random):
        strategy.rng = random.Random(seed)
