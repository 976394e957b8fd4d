"""Bayesian optimisation with a Gaussian process over labels, for small budgets.

The kernel compares two samples label by label, ``exp(-sum_i w_i d_i)``, where ``d_i`` is 0/1 for a categorical
choice (equal or not; the "overlap" kernel of COMBO and CASMOPOLITAN) and the distance scaled to [0, 1] for a
numerical one (on the log scale when the leaf is log-distributed). The weights ``w_i`` (how much each label
matters) and the noise are picked by marginal likelihood among a few candidates at every step. The next sample
maximises expected improvement over a pool: every one-label neighbour of the best ``top_k`` results and
``random_candidates`` random samples. Failed models count as the worst result seen.
"""
from __future__ import annotations

import math
import random as _random
from typing import Any, List, Optional, Tuple

import torch

from nascore.mutable import Numerical, Sample
from nascore.strategy.multi_trial import MultiTrialStrategy
from nascore.strategy.sampling import SavesRng, single_thread

__all__ = ["BayesOpt"]

_SHARED_WEIGHTS = (0.1, 0.2, 0.4, 0.8)
_NOISES = (0.01, 0.1)


class BayesOpt(SavesRng, MultiTrialStrategy):
    """GP-based Bayesian optimisation with expected improvement.

    ``initial_samples`` random samples first (None: a tenth of ``max_trial_number``, 5 to 20; 10 without a
    limit). ``weight_candidates``: random label-weight vectors tried per fit besides shared ones. The cost per
    proposal grows with the square of the results (a 100-trial search takes a few seconds in all).
    """

    def __init__(self, initial_samples: Optional[int] = None, top_k: int = 10, random_candidates: int = 100,
                 weight_candidates: int = 10, dedup: bool = True, seed: Optional[int] = None) -> None:
        super().__init__(dedup=dedup)
        if initial_samples is not None and initial_samples < 1:
            raise ValueError(f"initial_samples must be >= 1 (or None to size it to the budget), got {initial_samples}")
        self.initial_samples = initial_samples
        self.top_k = top_k
        self.random_candidates = random_candidates
        self.weight_candidates = weight_candidates
        self.seed = seed
        self.rng = _random.Random(seed)

    def _initial(self) -> int:
        if self.initial_samples is not None:
            return self.initial_samples
        budget = self.trial_budget()
        return 10 if budget is None else max(5, min(20, budget // 10))

    # ---- encoding ----------------------------------------------------------------------------------------
    def _encode(self, samples: List[Sample]) -> Tuple[torch.Tensor, torch.Tensor]:
        """(codes of categorical-like labels, scaled values of numerical labels), one row per sample."""
        assert self.space is not None
        codes, values = [], []
        for sample in samples:
            row_c, row_v = [], []
            for label, leaf in self.space.symbols.items():
                value = sample.get(label)
                if isinstance(leaf, Numerical) and math.isfinite(leaf.low) and math.isfinite(leaf.high) \
                        and leaf.high > leaf.low:
                    if leaf.log_distributed:
                        x = (math.log(value) - math.log(leaf.low)) / (math.log(leaf.high) - math.log(leaf.low))
                    else:
                        x = (value - leaf.low) / (leaf.high - leaf.low)
                    row_v.append(float(x))
                    row_c.append(0)
                else:
                    row_c.append(hash(repr(value)))  # equal values, equal codes (within this process)
                    row_v.append(0.0)
            codes.append(row_c)
            values.append(row_v)
        return torch.tensor(codes, dtype=torch.int64), torch.tensor(values, dtype=torch.float64)

    @staticmethod
    def _distance(a: Tuple[torch.Tensor, torch.Tensor], b: Tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        mismatch = (a[0][:, None, :] != b[0][None, :, :]).to(torch.float64)
        return mismatch + (a[1][:, None, :] - b[1][None, :, :]).abs()

    # ---- model -------------------------------------------------------------------------------------------
    def _fit(self, distance: torch.Tensor, y: torch.Tensor):
        labels = distance.shape[-1]
        gen = torch.Generator().manual_seed(self.rng.randrange(2 ** 31))
        candidates = [torch.full((labels,), w, dtype=torch.float64) for w in _SHARED_WEIGHTS]
        low, high = math.log(0.05), math.log(2.0)
        candidates += [torch.exp(low + (high - low) * torch.rand(labels, generator=gen, dtype=torch.float64))
                       for _ in range(self.weight_candidates)]
        best = None
        eye = torch.eye(len(y), dtype=torch.float64)
        for weights in candidates:
            kernel = torch.exp(-(distance * weights).sum(-1))
            for noise in _NOISES:
                chol, info = torch.linalg.cholesky_ex(kernel + noise * eye)
                if info.item():
                    continue
                alpha = torch.cholesky_solve(y[:, None], chol).squeeze(1)
                likelihood = -0.5 * (y @ alpha) - chol.diagonal().log().sum()
                if best is None or likelihood > best[0]:
                    best = (likelihood, weights, chol, alpha)
        return best

    def propose(self) -> Optional[Sample]:
        assert self.space is not None
        with self.lock:
            finished = [r for r in self.results]
            if self.num_tried < self._initial() or len(finished) < 2:
                return self.draw_untried(self.rng)
            scores = [self.score(r["metric"]) for r in finished]
            finite = [s for s in scores if s != -math.inf]
            if len(finite) < 2:
                return self.draw_untried(self.rng)
            worst = min(finite)
            y = torch.tensor([s if s != -math.inf else worst for s in scores], dtype=torch.float64)
            samples = [r["sample"] for r in finished]
            pool = {}
            for i in sorted(range(len(samples)), key=lambda i: -y[i].item())[:self.top_k]:
                for neighbour in self.space.neighbours(samples[i], self.rng):
                    pool[self.key(neighbour)] = neighbour
            for _ in range(self.random_candidates):
                sample = self.space.draw(self.rng)
                pool[self.key(sample)] = sample
            candidates = [s for s in pool.values() if not (self.dedup and self.is_tried(s))]
        if not candidates:
            return self.draw_untried(self.rng)
        with single_thread():
            return self._best_candidate(samples, candidates, y)

    def _best_candidate(self, samples: List[Sample], candidates: List[Sample], y: torch.Tensor) -> Sample:
        mean, std = y.mean(), y.std() + 1e-12
        y_norm = (y - mean) / std
        encoded = self._encode(samples)
        fit = self._fit(self._distance(encoded, encoded), y_norm)
        if fit is None:
            return self.draw_untried(self.rng)
        _, weights, chol, alpha = fit
        cross = torch.exp(-(self._distance(self._encode(candidates), encoded) * weights).sum(-1))
        mu = cross @ alpha
        v = torch.cholesky_solve(cross.T, chol)
        sigma = (1.0 - (cross.T * v).sum(0)).clamp_min(1e-12).sqrt()
        z = (mu - y_norm.max()) / sigma
        normal = torch.distributions.Normal(0.0, 1.0)
        improvement = (mu - y_norm.max()) * normal.cdf(z) + sigma * normal.log_prob(z).exp()
        return candidates[int(improvement.argmax())]

    def __repr__(self) -> str:
        return f"BayesOpt(initial_samples={self.initial_samples}, seed={self.seed})"
