"""A small Gaussian process over samples, for :class:`~nascore.strategy.bayes.BayesOpt`.

Samples are encoded label by label from the space's leaves: a categorical-like leaf as the index of its value
(compared equal / not equal: the "overlap" kernel of COMBO and CASMOPOLITAN), a bounded numerical leaf as its
value scaled to [0, 1] (on the log scale when the leaf is log-distributed). The kernel is
``exp(-sum_i w_i d_i)``; the label weights ``w_i`` (how much each label matters) and the noise are picked by
marginal likelihood among a few candidates at every fit.
"""
from __future__ import annotations

import math
import random as _random
from typing import Any, Dict, List, NamedTuple, Sequence, Tuple

import torch

from nascore.mutable import Numerical, Sample
from nascore.strategy.sampling import SpaceView

__all__ = ["SampleEncoder", "fit_gp", "expected_improvement", "FittedGP"]

#: label weights every fit tries, besides random ones
SHARED_WEIGHTS = (0.1, 0.2, 0.4, 0.8)
NOISES = (0.01, 0.1)
#: random label weights are drawn log-uniformly in this range
WEIGHT_RANGE = (0.05, 2.0)

Encoded = Tuple[torch.Tensor, torch.Tensor]


def _scaled(leaf: Any) -> bool:
    return isinstance(leaf, Numerical) and math.isfinite(leaf.low) and math.isfinite(leaf.high) \
        and leaf.high > leaf.low


class SampleEncoder:
    """Turns samples into (codes of categorical-like labels, scaled values of numerical labels)."""

    def __init__(self, space: SpaceView) -> None:
        self.leaves = list(space.symbols.items())
        self._codes: Dict[str, Dict[str, int]] = {label: {} for label, _ in self.leaves}

    def _code(self, label: str, value: Any) -> int:
        table = self._codes[label]  # values are compared by repr, so unhashable values (lists) work too
        return table.setdefault(repr(value), len(table))

    def encode(self, samples: Sequence[Sample]) -> Encoded:
        codes, values = [], []
        for sample in samples:
            row_c, row_v = [], []
            for label, leaf in self.leaves:
                value = sample.get(label)
                if _scaled(leaf):
                    if leaf.log_distributed:
                        x = (math.log(value) - math.log(leaf.low)) / (math.log(leaf.high) - math.log(leaf.low))
                    else:
                        x = (value - leaf.low) / (leaf.high - leaf.low)
                    row_c.append(0)
                    row_v.append(float(x))
                else:
                    row_c.append(self._code(label, value))
                    row_v.append(0.0)
            codes.append(row_c)
            values.append(row_v)
        return torch.tensor(codes, dtype=torch.int64), torch.tensor(values, dtype=torch.float64)


def distance(a: Encoded, b: Encoded) -> torch.Tensor:
    """Per-label distances, shape (len(a), len(b), labels)."""
    mismatch = (a[0][:, None, :] != b[0][None, :, :]).to(torch.float64)
    return mismatch + (a[1][:, None, :] - b[1][None, :, :]).abs()


class FittedGP(NamedTuple):
    """A GP fitted to normalised scores: label weights, Cholesky factor, ``alpha = K^-1 y``, data."""

    weights: torch.Tensor
    chol: torch.Tensor
    alpha: torch.Tensor
    train: Encoded
    y: torch.Tensor

    def predict(self, candidates: Encoded) -> Tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and standard deviation at ``candidates``."""
        cross = torch.exp(-(distance(candidates, self.train) * self.weights).sum(-1))
        mean = cross @ self.alpha
        v = torch.cholesky_solve(cross.T, self.chol)
        std = (1.0 - (cross.T * v).sum(0)).clamp_min(1e-12).sqrt()
        return mean, std


def fit_gp(train: Encoded, y: torch.Tensor, rng: _random.Random, weight_candidates: int) -> "FittedGP | None":
    """The GP of highest marginal likelihood over shared and ``weight_candidates`` random label weights and
    :data:`NOISES`; None when no kernel matrix could be factorised. ``y`` should be normalised."""
    d = distance(train, train)
    labels = d.shape[-1]
    gen = torch.Generator().manual_seed(rng.randrange(2 ** 31))
    low, high = math.log(WEIGHT_RANGE[0]), math.log(WEIGHT_RANGE[1])
    candidates: List[torch.Tensor] = [torch.full((labels,), w, dtype=torch.float64) for w in SHARED_WEIGHTS]
    candidates += [torch.exp(low + (high - low) * torch.rand(labels, generator=gen, dtype=torch.float64))
                   for _ in range(weight_candidates)]
    best = None
    eye = torch.eye(len(y), dtype=torch.float64)
    for weights in candidates:
        kernel = torch.exp(-(d * weights).sum(-1))
        for noise in NOISES:
            chol, info = torch.linalg.cholesky_ex(kernel + noise * eye)
            if info.item():
                continue
            alpha = torch.cholesky_solve(y[:, None], chol).squeeze(1)
            likelihood = -0.5 * (y @ alpha) - chol.diagonal().log().sum()
            if best is None or likelihood > best[0]:
                best = (likelihood, FittedGP(weights, chol, alpha, train, y))
    return None if best is None else best[1]


def expected_improvement(mean: torch.Tensor, std: torch.Tensor, best: float) -> torch.Tensor:
    """Expected improvement over ``best`` of a Gaussian posterior (higher is better)."""
    z = (mean - best) / std
    normal = torch.distributions.Normal(0.0, 1.0)
    return (mean - best) * normal.cdf(z) + std * normal.log_prob(z).exp()
