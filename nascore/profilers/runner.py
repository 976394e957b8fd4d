"""``ModelProfiler``: runs registered profilers on frozen models, in the experiment's process, cached per sample."""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

from nascore.profilers.context import ProfileContext
from nascore.specs import ProfilerSpec

__all__ = ["ModelProfiler", "ProfileView", "ProfilerError"]

_logger = logging.getLogger(__name__)


class ProfilerError(RuntimeError):
    """A profiler could not measure a model (or two profilers claim the same metric)."""


def _cache_key(sample: Optional[Dict[str, Any]]) -> str:
    from nascore.strategy.sampling import sample_key  # light module; imported here to keep import order simple
    return sample_key(sample or {})


class ModelProfiler:
    """Measures models with the given profiler specs; each (sample, profiler) pair is measured once.

    ``specs`` are :class:`~nascore.specs.ProfilerSpec` records (``from_plugins`` takes every registered one).
    A metric two profilers both measure is an error naming both.
    """

    def __init__(self, specs: Sequence[ProfilerSpec], context: Optional[ProfileContext] = None) -> None:
        self.context = context or ProfileContext()
        self._by_metric: Dict[str, ProfilerSpec] = {}
        for spec in specs:
            for metric in spec.metrics:
                other = self._by_metric.get(metric)
                if other is not None:
                    raise ProfilerError(f"profilers '{other.name}' ({other.provider}) and '{spec.name}' "
                                        f"({spec.provider}) both measure {metric!r}; uninstall or disable one")
                self._by_metric[metric] = spec
        self._cache: Dict[str, Dict[str, float]] = {}
        self._lock = threading.RLock()
        self.runs = 0  # profiler calls actually made (the cache answers the rest)

    @classmethod
    def from_plugins(cls, context: Optional[ProfileContext] = None, manager: Any = None) -> "ModelProfiler":
        if manager is None:
            from nascore.plugins import get_plugin_manager
            manager = get_plugin_manager()
        return cls(manager.specs(ProfilerSpec.component), context)

    @property
    def metrics(self) -> List[str]:
        """Every metric name some profiler measures."""
        return sorted(self._by_metric)

    def spec_for(self, metric: str) -> Optional[ProfilerSpec]:
        return self._by_metric.get(metric)

    def check_metrics(self, names: Iterable[str]) -> None:
        """Raise ``ValueError`` up front when a profiler needed for ``names`` cannot run (no input shape)."""
        for name in names:
            spec = self._by_metric.get(name)
            if spec is not None and spec.needs_input and self.context.input_shape is None:
                raise ValueError(f"{name!r} is measured by profiler '{spec.name}', which runs the model: set "
                                 "NasExperimentConfig(profile_input_shape=[batch, ...]) to the shape of one input")

    def cached(self, sample: Optional[Dict[str, Any]]) -> Dict[str, float]:
        """What is known already about ``sample`` (a copy)."""
        with self._lock:
            return dict(self._cache.get(_cache_key(sample), {}))

    def profile(self, model: Any, metrics: Iterable[str], module: Any = None) -> Dict[str, float]:
        """The values of ``metrics`` (those a profiler measures; others are skipped) for the frozen ``model``.

        Profilers run only for metrics not cached for the model's sample; ``module`` is the built model when
        the caller has it already (else ``model.executable_model()`` is called once).
        """
        key = _cache_key(getattr(model, "sample", None))
        with self._lock:
            known = self._cache.setdefault(key, {})
            wanted = [m for m in metrics if m in self._by_metric and m not in known]
            for metric in wanted:
                if metric in known:  # measured along with an earlier metric of the same profiler
                    continue
                spec = self._by_metric[metric]
                if module is None:
                    module = model.executable_model()
                known.update(self._run(spec, module, model))
            return {m: known[m] for m in metrics if m in known}

    def _run(self, spec: ProfilerSpec, module: Any, model: Any) -> Dict[str, float]:
        try:
            values = dict(spec.load()(module, self.context))
        except Exception as exc:  # noqa: BLE001 - named, then raised: a cost must not be guessed
            raise ProfilerError(f"profiler '{spec.name}' ({spec.provider}) failed on {model!r}: "
                                f"{type(exc).__name__}: {exc}") from exc
        self.runs += 1
        missing = [m for m in spec.metrics if m not in values]
        if missing:
            raise ProfilerError(f"profiler '{spec.name}' ({spec.provider}) did not return {missing} (it declares "
                                f"metrics {list(spec.metrics)}); got {sorted(values)}")
        out = {}
        for metric in spec.metrics:
            value = values[metric]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ProfilerError(f"profiler '{spec.name}' returned {metric}={value!r}; a metric is a number")
            out[metric] = float(value)
        return out

    def remember(self, model: Any, values: Dict[str, float]) -> None:
        """Cache ``values`` measured elsewhere (an evaluator's own costs) for the model's sample."""
        with self._lock:
            self._cache.setdefault(_cache_key(getattr(model, "sample", None)), {}).update(values)

    def view(self, model: Any) -> "ProfileView":
        """A read-only mapping over the model's sample values and its profiler metrics, measured on first
        access (what constraints read: an unmet cheap constraint spares the costly profilers)."""
        return ProfileView(self, model)


class ProfileView(Mapping):
    """``view[name]``: a sample label's value, else a cost the model's evaluator knows without training
    (``evaluator.cost_metrics``), else a profiler metric (measured now if need be).

    ``measured()`` lists what was measured through the view, to be stored with the model."""

    def __init__(self, profiler: ModelProfiler, model: Any) -> None:
        self._profiler = profiler
        self._model = model
        self._sample: Dict[str, Any] = dict(getattr(model, "sample", None) or {})
        self._module: Any = None
        self._measured: Dict[str, float] = profiler.cached(self._sample)
        self._evaluator = getattr(model, "evaluator", None)
        self._declared = tuple(getattr(self._evaluator, "cost_metrics", ()) or ())

    def _built(self) -> Any:
        if self._module is None:
            self._module = self._model.executable_model()
        return self._module

    def __getitem__(self, name: str) -> Any:
        if name in self._sample:
            return self._sample[name]
        if name in self._measured:
            return self._measured[name]
        if name in self._declared:
            costs = self._evaluator.costs(self._built())
            missing = [m for m in self._declared if not isinstance(costs.get(m), (int, float))]
            if missing:
                raise ProfilerError(f"{type(self._evaluator).__name__}.costs() did not return numbers for {missing} "
                                    f"(its cost_metrics); got {costs!r:.200}")
            values = {m: float(costs[m]) for m in self._declared}
            self._profiler.remember(self._model, values)
            self._measured.update(values)
            return values[name]
        if self._profiler.spec_for(name) is None:
            raise KeyError(name)
        self._measured.update(self._profiler.profile(self._model, [name], module=self._built()))
        return self._measured[name]

    def measure(self, names: Iterable[str]) -> Dict[str, float]:
        """Measure every evaluator cost and profiler metric among ``names`` now; returns all measured so far."""
        for name in names:
            if name in self._declared or self._profiler.spec_for(name) is not None:
                self[name]
        return dict(self._measured)

    def measured(self) -> Dict[str, float]:
        return dict(self._measured)

    def available(self) -> List[str]:
        """Names this view can answer (for messages)."""
        return sorted(set(self._sample) | set(self._declared) | set(self._profiler.metrics))

    def __iter__(self) -> Iterator[str]:
        return iter(self.available())

    def __len__(self) -> int:
        return len(self.available())
