"""TPE (tree-structured Parzen estimator) through Optuna's ``TPESampler`` and its ask/tell interface.

Each leaf becomes Optuna parameters:

* ``Categorical`` → one categorical parameter over the value *indices* (values need not be Optuna types);
* ``Numerical`` → a float parameter over its bounds (log scale when log-distributed; a normal leaf with
  infinite bounds uses mu ± 4 sigma); quantization and clipping are applied to the drawn float, so TPE still
  sees the order of the values;
* ``CategoricalMultiple`` → any subset: one boolean per value; exactly ``n_chosen``: one categorical over
  the combinations when there are at most 1000 of them, else one float score per value and the
  ``n_chosen`` highest are chosen.
"""
from __future__ import annotations

import collections
import itertools
import logging
import math
from typing import Any, Deque, Dict, List, Optional, Tuple

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from nascore.metric import is_valid_metric
from nascore.mutable import Categorical, CategoricalMultiple, MutableSymbol, Numerical, Sample
from nascore.space import ModelStatus
from nascore.strategy.multi_trial import SCORED_STATUSES, MultiTrialStrategy

__all__ = ["TPE"]

_logger = logging.getLogger(__name__)

MAX_COMBINATIONS = 1000


def _index(values: List[Any], value: Any) -> int:
    for i, v in enumerate(values):
        if v == value and (type(v) is type(value) or {type(v), type(value)} <= {int, float}):
            return i
    raise ValueError(f"{value!r} is not one of {values!r}")


def _quantize(leaf: Numerical, x: float) -> Any:
    if leaf.quantize is not None:
        x = round(x / leaf.quantize) * leaf.quantize
    x = min(max(x, leaf.low), leaf.high)
    return int(round(x)) if leaf.is_int else float(x)


class _Codec:
    """Sample ↔ Optuna parameters for one leaf."""

    def __init__(self, label: str, leaf: MutableSymbol) -> None:
        self.label, self.leaf = label, leaf
        self.mode = ""
        self.distributions: Dict[str, BaseDistribution] = {}
        if isinstance(leaf, Categorical):
            self.mode = "index"
            self.distributions[label] = CategoricalDistribution(list(range(len(leaf.values))))
        elif isinstance(leaf, Numerical):
            self.mode = "float"
            low, high = leaf.low, leaf.high
            if leaf.mu is not None:
                low, high = max(low, leaf.mu - 4 * leaf.sigma), min(high, leaf.mu + 4 * leaf.sigma)
            self.distributions[label] = FloatDistribution(float(low), float(high), log=leaf.log_distributed)
        elif isinstance(leaf, CategoricalMultiple):
            n = len(leaf.values)
            if leaf.n_chosen is None:
                self.mode = "bools"
                for i in range(n):
                    self.distributions[f"{label}#{i}"] = CategoricalDistribution([False, True])
            elif math.comb(n, leaf.n_chosen) <= MAX_COMBINATIONS:
                self.mode = "combination"
                self.combinations = [list(c) for c in itertools.combinations(range(n), leaf.n_chosen)]
                self.distributions[label] = CategoricalDistribution(list(range(len(self.combinations))))
            else:
                self.mode = "scores"
                for i in range(n):
                    self.distributions[f"{label}#{i}"] = FloatDistribution(0.0, 1.0)
        else:
            raise TypeError(f"TPE cannot search leaf {label!r} of type {type(leaf).__name__}; supported leaves "
                            "are Categorical, Numerical and CategoricalMultiple (use Random or "
                            "RegularizedEvolution for other leaves)")

    def decode(self, params: Dict[str, Any]) -> Any:
        leaf = self.leaf
        if self.mode == "index":
            return leaf.values[params[self.label]]
        if self.mode == "float":
            return _quantize(leaf, params[self.label])
        n = len(leaf.values)
        if self.mode == "bools":
            chosen = [i for i in range(n) if params[f"{self.label}#{i}"]]
        elif self.mode == "combination":
            chosen = self.combinations[params[self.label]]
        else:
            scores = [params[f"{self.label}#{i}"] for i in range(n)]
            chosen = sorted(sorted(range(n), key=lambda i: -scores[i])[:leaf.n_chosen])
        return [leaf.values[i] for i in chosen]

    def encode(self, value: Any) -> Dict[str, Any]:
        leaf = self.leaf
        if self.mode == "index":
            return {self.label: _index(leaf.values, value)}
        if self.mode == "float":
            dist = self.distributions[self.label]
            return {self.label: min(max(float(value), dist.low), dist.high)}  # type: ignore[attr-defined]
        chosen = [_index(leaf.values, v) for v in value]
        if self.mode == "combination":
            return {self.label: self.combinations.index(sorted(chosen))}
        n = len(leaf.values)
        if self.mode == "bools":
            return {f"{self.label}#{i}": i in chosen for i in range(n)}
        return {f"{self.label}#{i}": (0.75 if i in chosen else 0.25) for i in range(n)}


class TPE(MultiTrialStrategy):
    """Tree-structured Parzen estimator, backed by ``optuna.samplers.TPESampler``.

    The first ``n_startup_trials`` samples are random (None: a tenth of ``max_trial_number``, 5 to 20; 10 without
    a limit), then TPE models good and bad regions from the results.
    Failed models are told to Optuna as failed. An asked sample that breaks a constraint (or, with ``dedup``,
    repeats a tried one) is told as failed and asked again; after ``max_rejected_asks`` rejections in a row a
    random untried sample is enqueued instead, and when none is left the space is exhausted. Extra keyword
    arguments go to ``TPESampler`` (e.g. ``multivariate=True``). Optuna's per-trial INFO logs are silenced.
    """

    def __init__(self, seed: Optional[int] = None, n_startup_trials: Optional[int] = None, dedup: bool = True,
                 max_rejected_asks: int = 20, **sampler_kwargs: Any) -> None:
        super().__init__(dedup=dedup)
        import random as _random
        self.seed = seed
        self.n_startup_trials = n_startup_trials
        self.max_rejected_asks = max_rejected_asks
        self.sampler_kwargs = sampler_kwargs
        # every constructor argument, so a resumed experiment can rebuild this strategy (see experiment.persist)
        self.trace_kwargs = {"seed": seed, "n_startup_trials": n_startup_trials, "dedup": dedup,
                             "max_rejected_asks": max_rejected_asks, **sampler_kwargs}
        self.rng = _random.Random(seed)
        self.study: Optional[optuna.Study] = None
        self._codecs: List[_Codec] = []
        self._distributions: Dict[str, BaseDistribution] = {}
        self._pending: Dict[str, Deque[Any]] = collections.defaultdict(collections.deque)
        if optuna.logging.get_verbosity() <= optuna.logging.INFO:
            optuna.logging.set_verbosity(optuna.logging.WARNING)

    # ---- study ---------------------------------------------------------------------------------------
    def rebuild(self) -> None:
        assert self.space is not None
        self._codecs = [_Codec(label, leaf) for label, leaf in self.space.symbols.items()]
        self._distributions = {k: v for codec in self._codecs for k, v in codec.distributions.items()}
        # a resumed study gets a different seed, so it does not replay the first run's random draws
        seed = None if self.seed is None else self.seed + len(self.results)
        self.study = self._create_study(seed)
        self._pending.clear()
        for record in self.results:
            self._add_finished(record)

    def _create_study(self, seed: Optional[int]) -> "optuna.Study":
        """The Optuna study and sampler (subclasses swap the sampler: see ``NSGA2``)."""
        startup = self.n_startup_trials
        if startup is None:
            budget = self.trial_budget()
            startup = 10 if budget is None else max(5, min(20, budget // 10))
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, **self.sampler_kwargs)
        return optuna.create_study(direction=self.metric_direction, sampler=sampler)

    def _encode(self, sample: Sample) -> Optional[Dict[str, Any]]:
        try:
            return {k: v for codec in self._codecs for k, v in codec.encode(sample[codec.label]).items()}
        except (KeyError, ValueError):
            return None  # a sample of another space (e.g. an old state): Optuna cannot take it

    def _decode(self, params: Dict[str, Any]) -> Sample:
        return {codec.label: codec.decode(params) for codec in self._codecs}

    def _outcome(self, record: Dict[str, Any]) -> Tuple[TrialState, Any]:
        """What Optuna is told about a result: COMPLETE with the value (a list of values for a
        multi-objective study), or FAIL."""
        metric = record["metric"]
        if record["status"] in SCORED_STATUSES and is_valid_metric(metric):
            return TrialState.COMPLETE, float(metric)
        return TrialState.FAIL, None

    def _add_finished(self, record: Dict[str, Any]) -> None:
        params = self._encode(record["sample"])
        if params is None or self.study is None:
            return
        state, value = self._outcome(record)
        told = {"values": value} if isinstance(value, list) else {"value": value}
        self.study.add_trial(optuna.trial.create_trial(state=state, params=params, distributions=self._distributions,
                                                       **told))

    def on_record(self, record: Dict[str, Any], replayed: bool) -> None:
        if self.study is None:
            return  # before initialize: rebuild() replays every result
        queue = self._pending.get(self.key(record["sample"]))
        if not queue:
            self._add_finished(record)
            return
        trial = queue.popleft()
        state, value = self._outcome(record)
        self.study.tell(trial, value if state is TrialState.COMPLETE else None, state=state)

    def on_rejected(self, sample: Sample, reason: str) -> None:
        queue = self._pending.get(self.key(sample))
        if queue and self.study is not None:  # Optuna learns the region breaks a constraint
            self.study.tell(queue.popleft(), state=TrialState.FAIL)

    # ---- proposing -----------------------------------------------------------------------------------
    def propose(self) -> Optional[Sample]:
        assert self.study is not None and self.space is not None
        with self.lock:
            for _ in range(self.max_rejected_asks):
                trial = self.study.ask(self._distributions)
                sample = self._decode(trial.params)
                if not self.space.satisfies_checks(sample) or (self.dedup and self.is_tried(sample)):
                    self.study.tell(trial, state=TrialState.FAIL)
                    continue
                self._pending[self.key(sample)].append(trial)
                return sample
            sample = self.draw_untried(self.rng)
            if sample is None:
                return None
            self.study.enqueue_trial(self._encode(sample), skip_if_exists=False)
            trial = self.study.ask(self._distributions)
            self._pending[self.key(sample)].append(trial)
            return sample

    def __repr__(self) -> str:
        return f"TPE(seed={self.seed}, n_startup_trials={self.n_startup_trials}, dedup={self.dedup})"
