"""Typed records returned by the registration hooks (see :mod:`nascore.hookspecs`).

A record names one component and tells the core how to build it. ``factory`` is either a callable or an
import reference ``"package.module:attribute"``; both are resolved only when the component is used, so a
plugin's ``hooks`` module stays light (no torch, no paramiko at import time).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal, Optional, Tuple, Union

Factory = Union[Callable[..., Any], str]


def resolve_reference(reference: Factory) -> Any:
    """Return ``reference`` itself if callable, else import ``"module:attr"`` and return the attribute."""
    if not isinstance(reference, str):
        return reference
    module_name, _, attribute = reference.partition(":")
    obj = importlib.import_module(module_name)
    for part in filter(None, attribute.split(".")):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class _Spec:
    name: str
    factory: Factory
    description: str = ""
    #: filled in by the plugin manager: the plugin (entry point) name that registered this record.
    provider: Optional[str] = field(default=None, compare=False)

    component: ClassVar[str] = "component"

    def load(self) -> Any:
        """The resolved factory (imports the heavy module on first use)."""
        return resolve_reference(self.factory)


@dataclass(frozen=True)
class ModelFormatSpec(_Spec):
    """A model format. ``factory`` resolves to an :class:`~nascore.space.ExecutableModelSpace` subclass
    implementing ``from_model(model_space, evaluator, config)`` and ``from_payload(payload)``."""

    config_model: Optional[type] = None
    #: False for formats whose models live only in this process (they cannot go to a training service).
    serializable: bool = True
    component: ClassVar[str] = "model format"


@dataclass(frozen=True)
class EngineSpec(_Spec):
    """An execution engine. ``factory(config)`` gets the whole :class:`NasExperimentConfig` and returns an
    :class:`~nascore.engine.ExecutionEngine`."""

    config_model: Optional[type] = None
    #: True when the engine hands trials to a training service (then models must be serializable).
    uses_training_service: bool = False
    component: ClassVar[str] = "execution engine"


@dataclass(frozen=True)
class MiddlewareSpec(_Spec):
    """A middleware: sits between strategy and an engine. ``factory(config)`` returns a
    :class:`~nascore.engine.Middleware`; ``engine`` names the engine it wraps."""

    config_model: Optional[type] = None
    requires_format: Optional[str] = None
    engine: str = "ts"
    component: ClassVar[str] = "middleware"


@dataclass(frozen=True)
class OptimizerSpec(_Spec):
    """A cross-graph optimizer (used by CGO). ``factory(**settings)`` returns the optimizer, with the settings the
    user wrote in the config (``{"name": "my_opt", "threshold": 2}``; none for a bare name). See
    :mod:`nascore_cgo.plan` for the plan it rewrites and the invariants it must keep."""

    component: ClassVar[str] = "optimizer"


@dataclass(frozen=True)
class TrainingServiceSpec(_Spec):
    """A training service. ``factory(config)`` gets the whole experiment config and returns a
    :class:`~nascore.training_service.TrainingService`."""

    config_model: Optional[type] = None
    component: ClassVar[str] = "training service"


@dataclass(frozen=True)
class StrategySpec(_Spec):
    """A strategy. ``factory`` resolves to a :class:`~nascore.strategy.Strategy` subclass."""

    kind: Literal["multi-trial", "one-shot"] = "multi-trial"
    component: ClassVar[str] = "strategy"


@dataclass(frozen=True)
class DashboardSpec(_Spec):
    """A web dashboard. ``factory(target, port=..., host=...)`` gets a running
    :class:`~nascore.NasExperiment` (live: ``exp.run(config, port)``) or a path (an experiment directory or a
    folder of them: ``nascore dashboard DIR``) and returns a server object with ``url`` and ``token``
    attributes, ``start()`` (serve from a background thread; returns once listening), ``serve_forever()``
    (serve in the foreground until Ctrl-C) and ``stop()``."""

    component: ClassVar[str] = "dashboard"


@dataclass(frozen=True)
class ProfilerSpec(_Spec):
    """A profiler: a cost of a frozen model measured without training (parameters, FLOPs, latency...).

    ``factory`` resolves to a function ``profile(module, context) -> {metric: number}`` taking the built
    ``torch.nn.Module`` and a :class:`~nascore.profilers.ProfileContext` (input shape, repeats); it returns
    every name in ``metrics`` (the names objectives and constraints use). ``needs_input`` says it runs the
    model, so the experiment must declare ``profile_input_shape``.
    """

    metrics: Tuple[str, ...] = ()
    needs_input: bool = False
    component: ClassVar[str] = "profiler"

    def __post_init__(self) -> None:
        if isinstance(self.metrics, str) or not self.metrics:
            raise TypeError(f"ProfilerSpec {self.name!r}: metrics must be a non-empty tuple of metric names, "
                            f"got {self.metrics!r}")
        object.__setattr__(self, "metrics", tuple(self.metrics))


@dataclass(frozen=True)
class EarlyStopperSpec(_Spec):
    """An early stopper: decides from a running trial's intermediate metrics whether to stop it.

    ``factory`` resolves to a :class:`~nascore.early_stopping.EarlyStopper` subclass (or a callable returning one);
    ``NasExperimentConfig(early_stopping="asha")`` or ``{"name": "asha", "reduction_factor": 3}`` builds it with
    those keyword arguments."""

    component: ClassVar[str] = "early_stopper"


SPEC_TYPES = (ModelFormatSpec, EngineSpec, MiddlewareSpec, OptimizerSpec, TrainingServiceSpec, StrategySpec,
              DashboardSpec, ProfilerSpec, EarlyStopperSpec)
