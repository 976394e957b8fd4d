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
from torch.autograd.function import once_differentiable

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
    return _Mixture.apply(weights, *outputs)


class _Mixture(torch.autograd.Function):
    """``sum_k weights[k] * outputs[k]``, the DARTS mixed op, with a cheaper backward than autograd's.

    Forward: one fresh tensor and fused in-place multiply-adds (autograd's version kept a temporary per
    candidate). Backward: ``grad * weights[k]`` for the candidates that need it, and the weights' gradient
    as one dot product per candidate instead of a full-size product followed by a sum. The outputs are
    saved only when the weights need a gradient (the architecture step), not in the weight step.
    """

    @staticmethod
    def forward(ctx: Any, weights: torch.Tensor, *outputs: torch.Tensor) -> torch.Tensor:
        out = outputs[0] * weights[0]
        for i in range(1, len(outputs)):
            out.addcmul_(outputs[i], weights[i])
        ctx.save_for_backward(weights, *(outputs if ctx.needs_input_grad[0] else ()))
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple:
        weights, *outputs = ctx.saved_tensors
        grad_weights = None
        if ctx.needs_input_grad[0]:
            grad_weights = torch.stack([_dot(grad, o) for o in outputs]).to(weights.dtype)
        grads = [grad * weights[i] if needed else None for i, needed in enumerate(ctx.needs_input_grad[1:])]
        return (grad_weights, *grads)


def _flat(t: torch.Tensor) -> Any:
    """A 1-D view of ``t`` in memory order, or None when there is none (then a copy would be needed)."""
    if t.is_contiguous():
        return t.view(-1)
    if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last):
        return t.permute(0, 2, 3, 1).reshape(-1)
    return None


def _dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # same layout: a single pass over both tensors; otherwise (broadcast gradients, odd strides) the product
    fa, fb = _flat(a), _flat(b)
    if fa is not None and fb is not None and a.stride() == b.stride() and a.dtype == b.dtype \
            and a.dtype in (torch.float32, torch.float64):
        return torch.dot(fa, fb)
    return (a * b).sum()


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
