"""DARTS: differentiable architecture search (first-order bi-level optimisation)."""
from __future__ import annotations

from typing import Any, Dict, Optional

from .strategy import OneShotStrategy

__all__ = ["DARTS"]


class DARTS(OneShotStrategy):
    """Every label gets a vector of architecture weights; choices become softmax-weighted mixtures (value
    choices in wrapped layers: a mixture of weight slices; Repeat: a mixture of depth outputs).

    Per training batch: an architecture step on a validation batch (Adam, ``arch_learning_rate``), then a
    weight step on the training batch (the evaluator's optimiser and learning rate). ``warmup_epochs``
    train the weights only. The exported sample is the argmax of each label's weights. ``channels_last``
    trains in NHWC layout (see :class:`SupernetTrainer`; much faster for conv nets on CPU).
    ``bn_recalibration_batches``: training batches on which the argmax subnet's batch-norm statistics are
    re-estimated before it is scored and exported (the mixed supernet's statistics do not fit it); 0: off.
    """

    algorithm = "darts"

    def __init__(self, arch_learning_rate: float = 3e-4, arch_weight_decay: float = 1e-3, warmup_epochs: int = 0,
                 gradient_clip: Optional[float] = 5.0, checkpoint_dir: Optional[str] = None,
                 seed: Optional[int] = None, channels_last: bool = False, bn_recalibration_batches: int = 10) -> None:
        super().__init__(checkpoint_dir, seed, gradient_clip, channels_last, bn_recalibration_batches)
        if arch_learning_rate <= 0:
            raise ValueError(f"arch_learning_rate must be positive, got {arch_learning_rate}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
        self.arch_learning_rate = arch_learning_rate
        self.arch_weight_decay = arch_weight_decay
        self.warmup_epochs = warmup_epochs

    def trainer_options(self) -> Dict[str, Any]:
        return {**super().trainer_options(), "arch_learning_rate": self.arch_learning_rate,
                "arch_weight_decay": self.arch_weight_decay, "warmup_epochs": self.warmup_epochs}

    def __repr__(self) -> str:
        return f"DARTS(arch_learning_rate={self.arch_learning_rate}, warmup_epochs={self.warmup_epochs})"
