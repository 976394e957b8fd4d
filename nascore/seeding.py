"""Reproducible runs: an experiment ``seed`` seeds the strategy and every trial.

Each trial's seed is derived from the experiment seed and the model's canonical sample
(:func:`trial_seed`), so the same architecture gets the same seed whichever engine, worker or order runs it;
the trial seeds Python's, NumPy's and torch's generators with it (:func:`seed_everything`) before the model is
built, which fixes the initial weights, data-loader shuffles and dropout masks of a trial run alone.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
from typing import Any, Dict, Optional

__all__ = ["trial_seed", "seed_everything", "seed_strategy"]


def trial_seed(experiment_seed: int, sample: Dict[str, Any]) -> int:
    """A 31-bit seed for the model of ``sample`` in an experiment seeded with ``experiment_seed``."""
    text = f"{experiment_seed}:{json.dumps(sample, sort_keys=True, default=repr)}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


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
