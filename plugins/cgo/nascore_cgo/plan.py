"""The logical plan: the models of one batch and the input pipelines they read, before any code exists.

Public API for cross-graph optimizers. An optimizer is registered with the ``nascore_optimizers`` hook
(:class:`~nascore.specs.OptimizerSpec`); ``factory(**settings)`` builds it from the settings the user gives in
the config (``config.optimizers = ["dedup_input", {"name": "my_opt", "threshold": 2}]``) and CGO calls
``optimizer.convert(plan)`` on every batch, in the configured order. ``convert`` rewrites the plan in place:

* ``plan.models`` -- one :class:`PlanModel` per submitted model: ``model`` (the frozen graph model), ``info``
  (its training recipe), ``input`` (index into ``plan.inputs``) and ``device`` (None: CGO places it).
* ``plan.inputs`` -- :class:`InputPipeline` records; ``data_key`` identifies the data by value.

Invariants an optimizer must keep (CGO checks them after every ``convert`` and fails the batch with an error
naming the optimizer otherwise -- nothing is trained on a broken plan):

1. ``plan.models`` holds exactly the models it was given, each once: an optimizer may reorder them (results
   are mapped back by model identity, not position) but never drop, duplicate or invent one.
2. Every ``PlanModel.input`` is an index into ``plan.inputs``, and every pipeline is read by some model (use
   :meth:`LogicalPlan.merge_inputs` to share one; it keeps the indices right).
3. ``device`` is None or a device name (``"cpu"``, ``"cuda:0"``); CGO places the models left at None.

Afterwards devices are assigned and the plan becomes a :class:`~nascore_cgo.merged.MergedModelSpace` (the
physical plan) whose outputs follow ``plan.models``' order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Protocol, Sequence, Tuple

from .evaluators import MergeInfo, merge_info, multi_model_evaluator

__all__ = ["InputPipeline", "PlanModel", "LogicalPlan", "CrossGraphOptimizer", "PlanError", "load_optimizers"]


class PlanError(RuntimeError):
    """A cross-graph optimizer left the logical plan broken (see the invariants in this module's docstring)."""


@dataclass
class InputPipeline:
    """One dataset/dataloader configuration; ``data_key`` is its value-based identity (JSON)."""

    data_key: str
    data: Dict[str, Any]


@dataclass
class PlanModel:
    """One model of the batch: ``model`` (the original frozen model, its identity is what results map back to),
    ``info`` (its training recipe), ``input`` (index into ``LogicalPlan.inputs``), ``device`` (None: placed by
    CGO)."""

    model: Any
    info: MergeInfo
    input: int
    device: Optional[str] = None


@dataclass
class LogicalPlan:
    """The models of one batch and the input pipelines they read; optimizers rewrite it in place."""

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

    def check(self, originals: Sequence[Any], culprit: str) -> None:
        """Raise :class:`PlanError` naming ``culprit`` unless the plan keeps the invariants for ``originals``."""
        given = {id(m): m for m in originals}
        seen: Dict[int, int] = {}
        for entry in self.models:
            seen[id(entry.model)] = seen.get(id(entry.model), 0) + 1
        problems = []
        lost = [m for key, m in given.items() if key not in seen]
        if lost:
            problems.append(f"dropped {len(lost)} model(s) ({', '.join(repr(m.sample) for m in lost)})")
        invented = [e.model for e in self.models if id(e.model) not in given]
        if invented:
            problems.append(f"added {len(invented)} model(s) that were not submitted")
        doubled = [given[key] for key, n in seen.items() if n > 1 and key in given]
        if doubled:
            problems.append(f"listed {len(doubled)} model(s) more than once")
        bad_inputs = sorted({e.input for e in self.models if not 0 <= e.input < len(self.inputs)})
        if bad_inputs:
            problems.append(f"points models at input(s) {bad_inputs}, but the plan has {len(self.inputs)}")
        unread = [i for i in range(len(self.inputs)) if not self.consumers(i)]
        if unread:
            problems.append(f"left input pipeline(s) {unread} read by no model")
        bad_devices = [e.device for e in self.models if e.device is not None and not isinstance(e.device, str)]
        if bad_devices:
            problems.append(f"set device(s) {bad_devices!r}; a device is a name such as 'cpu' or 'cuda:0'")
        if problems:
            raise PlanError(f"cross-graph optimizer {culprit} broke the logical plan: {'; '.join(problems)}. An "
                            "optimizer may share inputs, reorder and place models, never drop or add one "
                            "(see nascore_cgo.plan); nothing of this batch was trained on the broken plan")

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
    """What ``OptimizerSpec.factory(**settings)`` returns."""

    def convert(self, plan: LogicalPlan) -> None:
        """Rewrite ``plan`` in place, keeping the invariants listed in :mod:`nascore_cgo.plan`."""


def load_optimizers(entries: Sequence[Any]) -> List[Tuple[str, CrossGraphOptimizer]]:
    """``(name, optimizer)`` for each configured entry (a registered name, or ``{"name": ..., **settings}``),
    in that order; the settings go to the optimizer's factory."""
    from nascore.components import build_named, parse_named
    optimizers = []
    for entry in entries:
        name, _ = parse_named(entry, "optimizer")
        optimizer = build_named(entry, "optimizer")
        if not callable(getattr(optimizer, "convert", None)):
            raise TypeError(f"optimizer '{name}' ({type(optimizer).__name__}) has no convert(plan) method")
        optimizers.append((name, optimizer))
    return optimizers
