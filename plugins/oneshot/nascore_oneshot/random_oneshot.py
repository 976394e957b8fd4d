"""RandomOneShot: single-path uniform sampling (SPOS-style) supernet training, then subnet selection."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .strategy import OneShotStrategy

__all__ = ["RandomOneShot"]


class RandomOneShot(OneShotStrategy):
    """Each training batch runs one uniformly sampled path (value choices use weight slices; Repeat a
    sampled depth). Afterwards ``num_samples`` subnets (all of them when the space is that small) are scored
    through the supernet on the validation data and the best is exported. Before a subnet is scored its
    batch-norm statistics are re-estimated on ``bn_recalibration_batches`` training batches (SPOS-style: the
    supernet's statistics average over all paths); the exported subnet keeps its own. ``channels_last``:
    train in NHWC layout (see :class:`SupernetTrainer`)."""

    algorithm = "random"

    def __init__(self, num_samples: int = 20, gradient_clip: Optional[float] = 5.0,
                 checkpoint_dir: Optional[str] = None, seed: Optional[int] = None,
                 channels_last: bool = False, bn_recalibration_batches: int = 10) -> None:
        super().__init__(checkpoint_dir, seed, gradient_clip, channels_last, bn_recalibration_batches)
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        self.num_samples = num_samples

    def trainer_options(self) -> Dict[str, Any]:
        return {**super().trainer_options(), "num_samples": self.num_samples}

    def __repr__(self) -> str:
        return f"RandomOneShot(num_samples={self.num_samples}, seed={self.seed})"
