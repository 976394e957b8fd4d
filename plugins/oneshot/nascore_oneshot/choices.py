"""Supernet forms of LayerChoice, InputChoice and Repeat.

Each one is a ``MutableModule`` holding the original mutable, so the space still simplifies to the same
labels, and its ``_freeze_self`` returns exactly what the original construct would freeze to, built from
the supernet's (trained) submodules: the structural freeze of the converted space *is* the weight
inheritance.
"""
from __future__ import annotations

from typing import Any, List

import torch
import torch.nn as nn

from nascore.mutable import Mutable, Sample, evaluate
from nascore.nn import ChosenInputs
from nascore.nn import MutableModule, freeze_module_tree

from .context import MIXED, SupernetContext

__all__ = ["SuperLayerChoice", "SuperInputChoice", "SuperRepeat"]


def _weighted_sum(outputs: List[Any], weights: torch.Tensor, label: str) -> Any:
    shapes = {tuple(o.shape) for o in outputs}
    if len(shapes) > 1:
        raise RuntimeError(f"candidates of {label!r} give outputs of different shapes {sorted(shapes)}; DARTS mixes "
                           f"them by a weighted sum, so every candidate must produce the same shape")
    return sum(w * o for w, o in zip(weights, outputs))


class _SuperModule(MutableModule):
    def __init__(self, context: SupernetContext) -> None:
        super().__init__()
        # plain attribute (not a submodule): see SupernetContext
        self.__dict__["context"] = context


class SuperLayerChoice(_SuperModule):
    """Candidates under the same names as in the LayerChoice (so state_dict keys are unchanged)."""

    def __init__(self, choice: Any, candidates: List[nn.Module], context: SupernetContext) -> None:
        super().__init__(context)
        self.choice = self.add_mutable(choice)
        self.names = list(choice.values)
        for name, module in zip(self.names, candidates):
            self.add_module(str(name), module)
        context.register(choice.label, self.names)

    @property
    def label(self) -> str:
        return self.choice.label

    def __getitem__(self, key: Any) -> nn.Module:
        return self._modules[str(key)]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        ctx = self.context
        if ctx.mode == MIXED:
            outputs = [self[n](*args, **kwargs) for n in self.names]
            return _weighted_sum(outputs, ctx.probs(self.label), self.label)
        return self[ctx.value(self.label)](*args, **kwargs)

    def _freeze_self(self, sample: Sample) -> nn.Module:
        return freeze_module_tree(self[self.choice.freeze(sample)], sample)


def _reduce(tensors: List[torch.Tensor], reduction: str) -> Any:
    if reduction == "none":
        return list(tensors)
    if reduction == "sum":
        return sum(tensors[1:], tensors[0])
    if reduction == "mean":
        return torch.stack(tensors).mean(0)
    return torch.cat(tensors, dim=1)


class SuperInputChoice(_SuperModule):
    """DARTS mixes the candidate inputs (``n_chosen == 1`` only); single-path mode takes the sampled ones."""

    def __init__(self, choice: Any, n_candidates: int, n_chosen: Any, reduction: str,
                 context: SupernetContext) -> None:
        super().__init__(context)
        self.choice = self.add_mutable(choice)
        self.n_candidates, self.n_chosen, self.reduction = n_candidates, n_chosen, reduction
        if n_chosen == 1:
            context.register(choice.label, list(choice.values))

    @property
    def label(self) -> str:
        return self.choice.label

    def forward(self, inputs: List[torch.Tensor]) -> Any:
        ctx = self.context
        if ctx.mode == MIXED:
            mixed = _weighted_sum(list(inputs[: self.n_candidates]), ctx.probs(self.label), self.label)
            return [mixed] if self.reduction == "none" else mixed
        value = ctx.value(self.label)
        chosen = [value] if isinstance(value, int) else list(value)
        return _reduce([inputs[i] for i in chosen], self.reduction)

    def _freeze_self(self, sample: Sample) -> nn.Module:
        return ChosenInputs(self.choice.freeze(sample), self.reduction)


class SuperRepeat(_SuperModule):
    """All ``max`` blocks under ``blocks`` (as in Repeat). DARTS: weighted sum of the outputs after each
    candidate depth; single-path mode: the sampled depth."""

    def __init__(self, blocks: nn.ModuleList, depth: Mutable, context: SupernetContext, mixed: bool) -> None:
        super().__init__(context)
        self.blocks = blocks
        self.depth_choice = self.add_mutable(depth)
        if mixed:
            context.register(depth.label, list(depth.values))

    @property
    def label(self) -> str:
        return getattr(self.depth_choice, "label", "")

    def forward(self, x: Any) -> Any:
        ctx = self.context
        if ctx.mode == MIXED:
            depths = ctx.values[self.label]
            outputs, deepest = {}, max(depths)
            for d in range(deepest + 1):
                if d in depths:
                    outputs[d] = x
                if d < deepest:
                    x = self.blocks[d](x)
            return _weighted_sum([outputs[d] for d in depths], ctx.probs(self.label), self.label)
        depth = evaluate(self.depth_choice, ctx.sample)
        for block in list(self.blocks)[:depth]:
            x = block(x)
        return x

    def _freeze_self(self, sample: Sample) -> nn.Module:
        depth = self.depth_choice.freeze(sample)
        return nn.Sequential(*[freeze_module_tree(b, sample) for b in list(self.blocks)[:depth]])
