"""Costs in one-shot search: DARTS's differentiable expected cost, and the most probable allowed sample.

``ExpectedCost`` measures ``cost_fn`` (e.g. the parameter count of the frozen subnet, through nascore's
profilers) once for a base sample and once per (label, value) with every other label at its base value. The
expected cost under the architecture weights is then ``base + sum_label sum_v p(label = v) * delta(label, v)``:
exact for costs that add up over labels (parameters of LayerChoice candidates, of Repeat blocks), a first-order
estimate otherwise (widths that multiply). It is differentiable in the weights, so DARTS can trade accuracy
for cost. The measurements cost ``1 + sum(len(values) - 1)`` profiles, made once before the first step.
"""
from __future__ import annotations

import itertools
import math
import random as _random
from typing import Any, Callable, Dict, List, Optional

import torch

from nascore.constraints import InfeasibleSpaceError
from nascore.mutable import Sample

from .context import SupernetContext

__all__ = ["ExpectedCost", "most_probable_allowed"]

#: spaces up to this many samples are searched exhaustively for the most probable allowed sample
ENUMERATION_LIMIT = 4096
#: otherwise: this many draws from the architecture distribution
DRAWS = 1000


class ExpectedCost:
    """``penalty()``: the expected cost under the architecture weights, divided by the largest cost a sample
    can have (so ``cost_weight`` means "loss units per 100% of the maximal cost")."""

    def __init__(self, context: SupernetContext, symbols: Dict[str, Any],
                 cost_fn: Callable[[Sample], float]) -> None:
        self.context, self.cost_fn = context, cost_fn
        self.base = {label: leaf.default_value() for label, leaf in symbols.items()}
        self.base.update({label: values[0] for label, values in context.values.items()})
        self._deltas: Optional[Dict[str, torch.Tensor]] = None
        self.base_cost = 0.0
        self.scale = 1.0

    def measure(self) -> None:
        """Profile the base sample and each single-label change (once)."""
        self.base_cost = float(self.cost_fn(self.base))
        deltas = {}
        for label, values in self.context.values.items():
            costs = [self.base_cost if i == 0 else float(self.cost_fn({**self.base, label: v}))
                     for i, v in enumerate(values)]
            deltas[label] = torch.tensor([c - self.base_cost for c in costs])
        self._deltas = deltas
        self.scale = max(abs(self.base_cost + sum(float(d.max()) for d in deltas.values())), 1e-12)

    def expected(self) -> torch.Tensor:
        if self._deltas is None:
            self.measure()
        total = torch.tensor(self.base_cost)
        for label, delta in self._deltas.items():  # type: ignore[union-attr]
            probs = self.context.probs(label)
            total = total + (probs * delta.to(probs.device, probs.dtype)).sum()
        return total

    def penalty(self) -> torch.Tensor:
        return self.expected() / self.scale


def most_probable_allowed(context: SupernetContext, start: Sample, allowed: Callable[[Sample], bool],
                          rng: _random.Random) -> Sample:
    """The allowed sample with the highest probability under the architecture weights (labels without weights
    keep their value in ``start``): every sample in order of probability for small spaces, else the best of
    ``DRAWS`` draws. Raises InfeasibleSpaceError when none is allowed."""
    labels = list(context.alphas)
    logp = {label: torch.log_softmax(context.alphas[label].detach().cpu(), -1).tolist() for label in labels}
    sizes = [len(context.values[label]) for label in labels]
    if math.prod(sizes) <= ENUMERATION_LIMIT:
        choices: List[tuple] = list(itertools.product(*(range(n) for n in sizes)))
    else:
        choices = list({tuple(rng.choices(range(n), weights=[math.exp(x) for x in logp[label]])[0]
                              for label, n in zip(labels, sizes)) for _ in range(DRAWS)})
    choices.sort(key=lambda c: -sum(logp[label][i] for label, i in zip(labels, c)))
    for choice in choices:
        sample = {**start, **{label: context.values[label][i] for label, i in zip(labels, choice)}}
        if allowed(sample):
            return sample
    raise InfeasibleSpaceError(f"none of the {len(choices)} most probable subnets meets the constraints; loosen "
                               "them or train longer")
