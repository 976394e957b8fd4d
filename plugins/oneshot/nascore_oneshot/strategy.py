"""OneShotStrategy: the experiment-facing side shared by DARTS and RandomOneShot.

``run()`` converts the raw format's space object in place, trains it (resuming from the last checkpoint),
picks a sample and submits ``model_space.freeze(sample)`` to the engine with a :class:`SupernetReport`
evaluator. That evaluator re-reports the supernet's training curve as intermediate metrics and scores the
model it is given — the structurally frozen subnet with the supernet's weights — on the validation data
as the final metric. So the one-shot run lands in the store like any trial, and ``export_top_models``
("dict" or "instance") works through the raw format unchanged.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import torch.nn as nn

from nascore.evaluator import Evaluator
from nascore.space import ExecutableModelSpace
from nascore.strategy.base import Strategy
from nascore.trial import report_final_result, report_intermediate_result

from .context import UnsupportedSpaceError
from .data import SupernetData, evaluate_module
from .training import SupernetTrainer

__all__ = ["OneShotStrategy", "SupernetReport", "CHECKPOINT_NAME"]

_logger = logging.getLogger(__name__)
CHECKPOINT_NAME = "supernet.pt"


class SupernetReport(Evaluator):
    """Evaluator of the exported subnet: replays ``curve`` (the supernet's per-epoch metrics) and reports the
    validation metric of the model it gets (inherited weights, not retrained) as the final metric."""

    def __init__(self, curve: List[Dict[str, float]], data: SupernetData) -> None:
        self.curve = list(curve)
        self.data = data

    def evaluate(self, model: nn.Module) -> float:
        for point in self.curve:
            report_intermediate_result(dict(point))
        loader = self.data.val_loader if self.data.val_loader is not None else self.data.train_loader
        final = evaluate_module(model, loader, self.data)
        report_final_result(final)
        return final


class OneShotStrategy(Strategy):
    """Base of the one-shot strategies. ``checkpoint_dir``: where ``supernet.pt`` is saved after every
    epoch; by default ``<experiment directory>/oneshot`` when run by a ``NasExperiment``, none otherwise.
    The experiment (or a caller) may also set the attribute before ``run()``. ``gradient_clip``,
    ``channels_last`` and ``bn_recalibration_batches`` are passed to :class:`SupernetTrainer`."""

    kind = "one-shot"
    algorithm = ""

    def __init__(self, checkpoint_dir: Optional[str] = None, seed: Optional[int] = None,
                 gradient_clip: Optional[float] = 5.0, channels_last: bool = False,
                 bn_recalibration_batches: int = 10) -> None:
        super().__init__()
        if bn_recalibration_batches < 0:
            raise ValueError(f"bn_recalibration_batches must be >= 0, got {bn_recalibration_batches}")
        self.checkpoint_dir = checkpoint_dir
        self.seed = seed
        self.gradient_clip = gradient_clip
        self.channels_last = channels_last
        self.bn_recalibration_batches = bn_recalibration_batches
        self.trainer: Optional[SupernetTrainer] = None
        self.best_sample: Optional[Dict[str, Any]] = None
        self._resume: Dict[str, Any] = {}

    # ---- what subclasses give ------------------------------------------------------------------------
    def trainer_options(self) -> Dict[str, Any]:
        """Keyword arguments of :class:`SupernetTrainer` (subclasses add their own to these)."""
        return {"gradient_clip": self.gradient_clip, "channels_last": self.channels_last,
                "bn_recalibration_batches": self.bn_recalibration_batches}

    def cost_options(self, raw: Any) -> Dict[str, Any]:
        """Trainer options about constraints and costs: with an experiment's constraints decided before
        training (``self.gate``, set by the experiment), only subnets meeting them are trained, scored and
        exported (each is frozen and profiled once; the profiler caches per sample)."""
        gate = self.gate
        if gate is None or not getattr(gate, "model_constraints", None):
            return {}
        if not isinstance(raw, ExecutableModelSpace):
            raise UnsupportedSpaceError("constraints on one-shot subnets need the model space in a model format "
                                        "(run the strategy from a NasExperiment)")
        return {"sample_filter": lambda sample: gate.violation(raw.freeze(sample)) is None}

    # ---- run -----------------------------------------------------------------------------------------
    def run(self) -> None:
        raw = self.model_space
        space = getattr(raw, "model_space", raw)
        evaluator = getattr(raw, "evaluator", None)
        self._reject_evaluator_choices(evaluator)
        data = SupernetData.from_evaluator(evaluator)
        self.trainer = SupernetTrainer(space, data, self.algorithm, seed=self.seed, **self.trainer_options(),
                                       **self.cost_options(raw))
        path = self._checkpoint_path()
        if path is not None and path.is_file():
            self.trainer.load(path)
            _logger.info("%s resumed the supernet from %s at epoch %d", type(self).__name__, path, self.trainer.epoch)
        self.trainer.fit(on_epoch=self._save_checkpoint, should_stop=lambda: self.stopped)
        if self.stopped:
            return
        sample, scores = self.trainer.export()
        self.best_sample = sample
        _logger.info("%s chose %s (%s)", type(self).__name__, sample, scores)
        if isinstance(raw, ExecutableModelSpace):
            model = raw.freeze(sample)
            model.evaluator = SupernetReport(self.trainer.curve, data)
            self.engine.submit_models(model)

    def _reject_evaluator_choices(self, evaluator: Any) -> None:
        labels = sorted(evaluator.simplify()) if hasattr(evaluator, "simplify") else []
        if labels:
            raise UnsupportedSpaceError(f"labels {labels} are evaluator arguments; {type(self).__name__} trains one "
                                        f"supernet with fixed training settings, so fix them or use a multi-trial "
                                        f"strategy")

    # ---- checkpoints ---------------------------------------------------------------------------------
    def _checkpoint_path(self) -> Optional[Path]:
        directory = self.checkpoint_dir or self.working_directory  # the experiment sets working_directory
        return None if directory is None else Path(directory) / CHECKPOINT_NAME

    def _save_checkpoint(self, trainer: SupernetTrainer) -> None:
        path = self._checkpoint_path()
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        trainer.save(tmp)
        os.replace(tmp, path)  # atomic: a kill mid-save leaves the previous checkpoint intact

    # ---- resume --------------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        path = self._checkpoint_path() if self._engine is not None or self.checkpoint_dir else None
        return {"epoch": self.trainer.epoch if self.trainer else self._resume.get("epoch", 0),
                "checkpoint": str(path) if path is not None else self._resume.get("checkpoint"),
                "best_sample": self.best_sample}

    def load_state_dict(self, state: Optional[Dict[str, Any]], models: Iterable[ExecutableModelSpace] = ()) -> None:
        """Remember where the checkpoint is; ``run()`` loads it (weights, alphas, optimisers, epoch)."""
        self._resume = dict(state or {})
        self.best_sample = self._resume.get("best_sample")
        if self.checkpoint_dir is None and self._resume.get("checkpoint"):
            self.checkpoint_dir = str(Path(self._resume["checkpoint"]).parent)
