"""The logical plan: the models of one batch and the input pipelines they read, before any code exists.

Cross-graph optimizers (registered with the ``nascore_optimizers`` hook) rewrite a plan in place through
``convert(plan)``; e.g. ``dedup_input`` makes models with the same data read one pipeline. Then devices are
assigned and the plan becomes a :class:`~nascore_cgo.merged.MergedModelSpace` (the physical plan).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol, Sequence

from .evaluators import MergeInfo, merge_info, multi_model_evaluator

__all__ = ["InputPipeline", "PlanModel", "LogicalPlan", "CrossGraphOptimizer", "load_optimizers"]


@dataclass
class InputPipeline:
    """One dataset/dataloader configuration; ``data_key`` is its value-based identity (JSON)."""

    data_key: str
    data: Dict[str, Any]


@dataclass
class PlanModel:
    model: Any                 # the original frozen model (GraphModelSpace)
    info: MergeInfo
    input: int                 # index into LogicalPlan.inputs
    device: Optional[str] = None


@dataclass
class LogicalPlan:
    models: List[PlanModel] = field(default_factory=list)
    inputs: List[InputPipeline] = field(default_factory=list)

    @classmethod
    def from_models(cls, models: Sequence[Any]) -> "LogicalPlan":
        """Each model with its own input pipeline (nothing shared until an optimizer says so)."""
        plan = cls()
        for model in models:
            info = merge_info(model.evaluator)
            plan.inputs.append(InputPipeline(info.data_key, info.data))
            plan.models.append(PlanModel(model, info, len(plan.inputs) - 1))
        return plan

    def consumers(self, input_index: int) -> List[PlanModel]:
        return [m for m in self.models if m.input == input_index]

    def merge_inputs(self, keep: int, drop: int) -> None:
        """Make the readers of pipeline ``drop`` read ``keep`` instead, and remove ``drop``."""
        if keep == drop:
            return
        for m in self.models:
            if m.input == drop:
                m.input = keep
        del self.inputs[drop]
        for m in self.models:
            if m.input > drop:
                m.input -= 1

    def place(self, devices: Sequence[str]) -> None:
        """Give every model without a device one of ``devices``, round robin."""
        if not devices:
            raise ValueError("no devices to place models on")
        for i, m in enumerate(self.models):
            if m.device is None:
                m.device = devices[i % len(devices)]

    def to_merged(self) -> Any:
        """The physical plan: one merged model trained by a multi-model evaluator."""
        from .merged import MergedModelSpace
        if any(m.device is None for m in self.models):
            self.place(["cpu"])
        model_inputs = [m.input for m in self.models]
        evaluator = multi_model_evaluator([m.info for m in self.models], [p.data for p in self.inputs],
                                          model_inputs)
        return MergedModelSpace([m.model for m in self.models], [m.device for m in self.models], model_inputs,
                                len(self.inputs), evaluator)


class CrossGraphOptimizer(Protocol):
    def convert(self, plan: LogicalPlan) -> None: ...


def load_optimizers(names: Sequence[str]) -> List[CrossGraphOptimizer]:
    """Instantiate the registered optimizers named in ``names`` (in that order)."""
    from nascore.plugins import get_plugin_manager
    pm = get_plugin_manager()
    optimizers = []
    for name in names:
        optimizer = pm.get_optimizer(name).load()()
        if not callable(getattr(optimizer, "convert", None)):
            raise TypeError(f"optimizer '{name}' ({type(optimizer).__name__}) has no convert(plan) method")
        optimizers.append(optimizer)
    return optimizers
