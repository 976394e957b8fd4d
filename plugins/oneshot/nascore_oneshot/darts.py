"""DARTS: differentiable architecture search (first-order bi-level optimisation)."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

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

    ``cost_weight`` > 0 adds ``cost_weight * E[cost_metric] / max cost`` to the architecture loss: the expected
    cost of the subnet under the architecture weights (e.g. ``"params"``; any profiler metric, measured through
    nascore's profilers once per label value, see :mod:`nascore_oneshot.cost`), so the search trades accuracy
    for cost. Constraints of the experiment (``constraints=["params <= 1e5"]``) make the export the most
    probable subnet that meets them.
    """

    algorithm = "darts"

    def __init__(self, arch_learning_rate: float = 3e-4, arch_weight_decay: float = 1e-3, warmup_epochs: int = 0,
                 gradient_clip: Optional[float] = 5.0, checkpoint_dir: Optional[str] = None,
                 seed: Optional[int] = None, channels_last: bool = False, bn_recalibration_batches: int = 10,
                 cost_metric: str = "params", cost_weight: float = 0.0) -> None:
        super().__init__(checkpoint_dir, seed, gradient_clip, channels_last, bn_recalibration_batches)
        if cost_weight < 0:
            raise ValueError(f"cost_weight must be >= 0, got {cost_weight}")
        self.cost_metric = cost_metric
        self.cost_weight = cost_weight
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

    def cost_options(self, raw: Any) -> Dict[str, Any]:
        options = super().cost_options(raw)
        if self.cost_weight > 0:
            options.update(cost_fn=self._cost_fn(raw), cost_weight=self.cost_weight)
        return options

    def _cost_fn(self, raw: Any) -> Callable[[Dict[str, Any]], float]:
        from nascore.space import ExecutableModelSpace
        if not isinstance(raw, ExecutableModelSpace):
            raise ValueError("DARTS(cost_weight=...) needs the model space in a model format (run it from a "
                             "NasExperiment)")
        metric, gate = self.cost_metric, self.gate
        if gate is not None:
            return lambda sample: gate.measure(raw.freeze(sample), metric)
        from nascore.profilers import ModelProfiler
        profiler = ModelProfiler.from_plugins()
        profiler.check_metrics([metric])
        if profiler.spec_for(metric) is None:
            raise ValueError(f"DARTS cost_metric {metric!r} is measured by no installed profiler; profiler metrics: "
                             f"{', '.join(profiler.metrics)}")
        return lambda sample: profiler.profile(raw.freeze(sample), [metric])[metric]

    def __repr__(self) -> str:
        return f"DARTS(arch_learning_rate={self.arch_learning_rate}, warmup_epochs={self.warmup_epochs})"
