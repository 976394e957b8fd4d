"""Supernet training with plain torch loops (no Lightning: one process, no trainer per epoch, and the
bi-level DARTS step needs two optimisers interleaved per batch, which is simplest written out).

``SupernetTrainer`` converts a space in place, trains it epoch by epoch, exports the chosen sample and
saves / restores everything needed to resume (weights, architecture weights, optimisers, epoch, curve).
"""
from __future__ import annotations

import contextlib
import itertools
import random as _random
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch
import torch.nn as nn

from nascore.constraints import InfeasibleSpaceError
from nascore.mutable import MutableSymbol, Sample

from .context import MIXED, SAMPLE
from .cost import ExpectedCost, most_probable_allowed
from .data import SupernetData, bilevel_batches, evaluate_module
from .recalibration import first_batches, kept_buffers, recalibrate_batch_norm
from .supernet import convert_to_supernet, search_labels

__all__ = ["SupernetTrainer", "train_supernet", "ALGORITHMS"]

ALGORITHMS = ("darts", "random")
CURVE_SUBNETS = 2  # random subnets scored per epoch for RandomOneShot's validation curve


class SupernetTrainer:
    """Train ``space`` (converted in place) as a supernet.

    ``algorithm``: ``"darts"`` (first-order bi-level: an architecture step on a validation batch, then a
    weight step on a training batch; validation batches larger than the training batches are split to
    their size; no validation loader → odd training batches serve as validation) or
    ``"random"`` (a uniformly sampled path per training batch). ``warmup_epochs`` train weights only.
    ``channels_last``: keep 4-D weights and image batches in NHWC layout, usually much faster for conv
    nets on CPU (torch's NCHW pooling kernels are slow, and DARTS runs every pooling candidate).
    ``bn_recalibration_batches``: before a subnet is scored, its batch-norm statistics are re-estimated on
    this many training batches (the supernet's own average over all paths fits no single subnet); 0 keeps
    the supernet's. The exported subnet keeps its recalibrated statistics.

    ``sample_filter(sample) -> bool`` (constraints on the model, e.g. its parameter count): random paths,
    RandomOneShot's candidates and the exported sample all pass it (DARTS exports the most probable sample
    that does). ``cost_fn(sample) -> float`` with ``cost_weight`` > 0 (DARTS): the architecture loss gets
    ``cost_weight * E[cost] / max cost``, the expected cost under the architecture weights, differentiable in
    them (see :class:`~nascore_oneshot.cost.ExpectedCost`).
    """

    def __init__(self, space: nn.Module, data: SupernetData, algorithm: str = "darts", *,
                 arch_learning_rate: float = 3e-4, arch_weight_decay: float = 1e-3, warmup_epochs: int = 0,
                 gradient_clip: Optional[float] = 5.0, num_samples: int = 20, seed: Optional[int] = None,
                 channels_last: bool = False, bn_recalibration_batches: int = 10,
                 sample_filter: Optional[Callable[[Sample], bool]] = None,
                 cost_fn: Optional[Callable[[Sample], float]] = None, cost_weight: float = 0.0) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.space, self.data, self.algorithm = space, data, algorithm
        if data.device is not None:  # before the conversion, which creates the architecture weights beside them
            space.to(data.device)
        self.context = convert_to_supernet(space, MIXED if algorithm == "darts" else SAMPLE)
        self.channels_last = channels_last
        if channels_last:  # 4-D weights in NHWC; batches are converted in _to
            space.to(memory_format=torch.channels_last)
        leaves = search_labels(space)
        self.symbols = {k: v for k, v in leaves.items() if isinstance(v, MutableSymbol)}
        self.constraints = [v for k, v in leaves.items() if not isinstance(v, MutableSymbol)]
        self.warmup_epochs, self.gradient_clip, self.num_samples = warmup_epochs, gradient_clip, num_samples
        if bn_recalibration_batches < 0:
            raise ValueError(f"bn_recalibration_batches must be >= 0, got {bn_recalibration_batches}")
        self.bn_recalibration_batches = bn_recalibration_batches
        self.rng = _random.Random(seed)
        self.weights = list(space.parameters())
        self.weight_optimizer = data.optimizer(self.weights, lr=data.learning_rate, weight_decay=data.weight_decay)
        self.arch_optimizer = None
        if algorithm == "darts":
            self.arch_optimizer = torch.optim.Adam(self.context.arch_parameters(), lr=arch_learning_rate,
                                                   betas=(0.5, 0.999), weight_decay=arch_weight_decay)
        self.sample_filter = sample_filter
        if cost_weight < 0 or (cost_weight > 0 and cost_fn is None):
            raise ValueError(f"cost_weight must be >= 0 and needs a cost_fn, got {cost_weight} "
                             f"({'no ' if cost_fn is None else ''}cost_fn)")
        self.cost = ExpectedCost(self.context, self.symbols, cost_fn) if cost_weight > 0 else None
        self.cost_weight = cost_weight
        self.epoch = 0
        self.curve: List[Dict[str, float]] = []
        self.device = self.weights[0].device if self.weights else torch.device("cpu")

    # ---- sampling ------------------------------------------------------------------------------------
    def random_sample(self, rng: Optional[_random.Random] = None) -> Sample:
        """A uniformly random sample of every label (from ``rng``, by default the trainer's), redrawn while a
        constraint fails."""
        rng = rng or self.rng
        for _ in range(1000):
            sample = {label: leaf.random_value(rng) for label, leaf in self.symbols.items()}
            if self._allowed(sample):
                return sample
        raise InfeasibleSpaceError("no random sample satisfied the space's and the experiment's constraints after "
                                   "1000 draws; loosen the constraints")

    def _allowed(self, sample: Sample) -> bool:
        return all(c.check_contains(sample) is None for c in self.constraints) and \
            (self.sample_filter is None or self.sample_filter(sample))

    # ---- training ------------------------------------------------------------------------------------
    def _batches(self) -> Iterator[Tuple[Any, Optional[Any]]]:
        """(train batch, validation batch or None) pairs for one epoch."""
        if self.algorithm == "darts" and self.epoch >= self.warmup_epochs:
            yield from bilevel_batches(self.data.train_loader, self.data.val_loader)
        else:
            for batch in self.data.train_loader:
                yield batch, None

    def _to(self, batch: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        x = x.to(self.device, non_blocking=True)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y.to(self.device, non_blocking=True)

    def train_epoch(self) -> Dict[str, float]:
        """One pass over the training loader; returns ``{"train_loss": ...}``."""
        self.space.train()
        ctx, total, count = self.context, 0.0, 0
        alphas = ctx.arch_parameters()
        for train_batch, val_batch in self._batches():
            if val_batch is not None:  # architecture step: gradients for the alphas only
                x, y = self._to(val_batch)
                # weights frozen for this step: the backward then computes input gradients only (no weight
                # gradients) and nothing before the first choice records a graph; the alphas' gradient is
                # the same
                with _requires_grad(self.weights, False):
                    arch_loss = self.data.loss(self.space(x), y)
                    if self.cost is not None:
                        arch_loss = arch_loss + self.cost_weight * self.cost.penalty()
                    grads = (torch.autograd.grad(arch_loss, alphas, allow_unused=True) if arch_loss.requires_grad
                             else [None] * len(alphas))  # no choice was used in this forward
                for a, g in zip(alphas, grads):
                    a.grad = g
                self.arch_optimizer.step()
            x, y = self._to(train_batch)
            if self.algorithm == "random":
                ctx.sample = self.random_sample()
            self.weight_optimizer.zero_grad(set_to_none=True)
            # alphas frozen for the weight step: their gradient here was never used (the architecture step
            # sets its own), and without it every mixed op skips one reduction per candidate
            with _requires_grad(alphas, False):
                loss = self.data.loss(self.space(x), y)
                loss.backward()
            if self.gradient_clip:
                nn.utils.clip_grad_norm_(self.weights, self.gradient_clip)
            self.weight_optimizer.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
        self.epoch += 1
        return {"train_loss": total / max(count, 1)}

    def validate(self) -> float:
        """The supernet's validation metric: DARTS → the current argmax architecture; random → the mean over
        ``CURVE_SUBNETS`` random subnets (an estimate of a random subnet's metric), drawn from a generator of
        their own so that validating does not change the training paths. Both with recalibrated batch norm."""
        loader = self.data.val_loader if self.data.val_loader is not None else self.data.train_loader
        if self.algorithm == "darts":
            return self.evaluate_sample(self.context.argmax_sample(), loader)
        rng = _random.Random(f"validation-{self.epoch}")
        samples = [self.random_sample(rng) for _ in range(CURVE_SUBNETS)]
        return sum(self.evaluate_sample(s, loader) for s in samples) / len(samples)

    def fit(self, epochs: Optional[int] = None, on_epoch: Optional[Callable[["SupernetTrainer"], None]] = None,
            should_stop: Optional[Callable[[], bool]] = None) -> List[Dict[str, float]]:
        """Train up to ``epochs`` (default ``data.max_epochs``) in total, continuing from ``self.epoch``;
        after each epoch the curve gets ``{"default": validate(), "train_loss": ...}``."""
        epochs = self.data.max_epochs if epochs is None else epochs
        while self.epoch < epochs and not (should_stop and should_stop()):
            stats = self.train_epoch()
            self.curve.append({"default": self.validate(), **stats})
            if on_epoch is not None:
                on_epoch(self)
        return self.curve

    # ---- choosing the architecture -------------------------------------------------------------------
    def evaluate_sample(self, sample: Sample, loader: Any = None) -> float:
        """Validation metric of ``sample`` run through the supernet (single path), with its batch-norm
        statistics recalibrated first; the supernet's statistics are restored afterwards."""
        loader = loader if loader is not None else (self.data.val_loader or self.data.train_loader)
        with self._single_path(sample), kept_buffers(self.space):
            self._recalibrate()
            return evaluate_module(self.space, loader, self.data, self.channels_last)

    def adopt(self, sample: Sample) -> None:
        """Give the supernet ``sample``'s recalibrated batch-norm statistics, for exporting that subnet."""
        with self._single_path(sample):
            self._recalibrate()

    @contextlib.contextmanager
    def _single_path(self, sample: Sample) -> Iterator[None]:
        mode, saved = self.context.mode, self.context.sample
        self.context.mode, self.context.sample = SAMPLE, dict(sample)
        try:
            yield
        finally:
            self.context.mode, self.context.sample = mode, saved

    def _recalibrate(self) -> None:
        if self.bn_recalibration_batches:
            batches = first_batches(self.data.train_loader, self.bn_recalibration_batches)
            recalibrate_batch_norm(self.space, batches, lambda batch: self.space(self._to(batch)[0]))

    def export(self) -> Tuple[Sample, Dict[str, float]]:
        """The chosen sample and the scores behind the choice. DARTS: the argmax of every label's weights
        (scores are the softmax weights). Random: the best of ``num_samples`` sampled subnets (every subnet
        when the space is that small) evaluated through the supernet. Afterwards the supernet holds the
        chosen subnet's recalibrated batch-norm statistics (see ``adopt``)."""
        if self.algorithm == "darts":
            sample = self.context.argmax_sample()
            for label, leaf in self.symbols.items():  # labels DARTS does not weight keep their default
                sample.setdefault(label, leaf.default_value())
            if not self._allowed(sample):
                sample = most_probable_allowed(self.context, sample, self._allowed, self.rng)
            self.adopt(sample)
            return sample, {k: max(v) for k, v in self._probs().items()}
        best, best_score, scores = None, None, {}
        for sample in self._candidates():
            score = self.evaluate_sample(sample)
            scores[repr(sorted(sample.items()))] = score
            if best is None or self.data.better(score, best_score):
                best, best_score = sample, score
        self.adopt(best)
        return best, scores

    def _probs(self) -> Dict[str, List[float]]:
        return {k: torch.softmax(v.detach(), -1).tolist() for k, v in self.context.alphas.items()}

    def _candidates(self) -> List[Sample]:
        grids = [list(leaf.grid_values()) for leaf in self.symbols.values()]
        size = 1
        for g in grids:
            size *= len(g)
        if size <= self.num_samples:
            combos = [dict(zip(self.symbols, c)) for c in itertools.product(*grids)]
            allowed = [s for s in combos if self._allowed(s)]
            if not allowed:
                raise InfeasibleSpaceError("no subnet of the space meets the constraints; loosen them")
            return allowed
        seen, out = set(), []
        for _ in range(self.num_samples * 10):
            s = self.random_sample()
            key = repr(sorted(s.items()))
            if key not in seen:
                seen.add(key)
                out.append(s)
            if len(out) == self.num_samples:
                break
        return out

    # ---- checkpoints ---------------------------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """Everything a resumed run needs to continue exactly as this one would have, torch's random state
        included (it draws the data loaders' shuffles)."""
        return {"supernet": self.space.state_dict(), "alphas": self.context.alpha_state(),
                "weight_optimizer": self.weight_optimizer.state_dict(),
                "arch_optimizer": self.arch_optimizer.state_dict() if self.arch_optimizer else None,
                "epoch": self.epoch, "curve": list(self.curve), "rng": self.rng.getstate(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.space.load_state_dict(state["supernet"])
        self.context.load_alpha_state(state["alphas"])
        self.weight_optimizer.load_state_dict(state["weight_optimizer"])
        if self.arch_optimizer is not None and state.get("arch_optimizer"):
            self.arch_optimizer.load_state_dict(state["arch_optimizer"])
        self.epoch, self.curve = int(state["epoch"]), list(state["curve"])
        self.rng.setstate(state["rng"])
        if state.get("torch_rng") is not None:
            torch.set_rng_state(state["torch_rng"].cpu())
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda_rng"]])

    def save(self, path: Any) -> None:
        torch.save(self.state_dict(), path)

    def load(self, path: Any) -> None:
        self.load_state_dict(torch.load(path, map_location=self.device, weights_only=False))


@contextlib.contextmanager
def _requires_grad(params: List[torch.nn.Parameter], flag: bool) -> Iterator[None]:
    """Temporarily set ``requires_grad`` of ``params``; the previous flags (a user may have frozen some
    weights on purpose) are restored afterwards."""
    saved = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(flag)
        yield
    finally:
        for p, was in zip(params, saved):
            p.requires_grad_(was)


def train_supernet(space: nn.Module, data: Any, algorithm: str = "darts", epochs: Optional[int] = None,
                   **options: Any) -> Tuple[Sample, SupernetTrainer]:
    """Convert ``space`` in place, train it and return ``(chosen sample, trainer)``.

    ``data`` is a :class:`SupernetData` or a Classification/Regression evaluator. Afterwards
    ``space.freeze(sample)`` is the chosen model with the supernet's weights.
    """
    trainer = SupernetTrainer(space, SupernetData.from_evaluator(data), algorithm, **options)
    trainer.fit(epochs)
    sample, _ = trainer.export()
    return sample, trainer
