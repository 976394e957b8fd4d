"""``ModelGate``: what happens to a frozen model in the experiment's process before its trial.

The gate measures the model's profile (the profiler metrics the objectives and ``profilers`` ask for) and
checks the constraints decided before training (on the sample and on profiles). A model that breaks one is
refused with :class:`~nascore.constraints.InfeasibleModelError`: it gets no trial and uses no budget.
Constraints on trained metrics are kept for the Pareto front (:attr:`trained_constraints`).
"""
from __future__ import annotations

import logging
from typing import Any, Iterable, List, Optional, Sequence

from nascore.constraints import Constraint, InfeasibleModelError, parse_constraints
from nascore.objectives import Objective
from nascore.profilers.context import ProfileContext
from nascore.profilers.runner import ModelProfiler
from nascore.suggest import did_you_mean

__all__ = ["ModelGate"]

_logger = logging.getLogger(__name__)


class ModelGate:
    """Profiles and admits frozen models. Build it with :meth:`from_config`."""

    def __init__(self, profiler: ModelProfiler, model_constraints: Sequence[Constraint] = (),
                 trained_constraints: Sequence[Constraint] = (), profile_metrics: Iterable[str] = ()) -> None:
        self.profiler = profiler
        self.model_constraints = list(model_constraints)
        self.trained_constraints = list(trained_constraints)
        self.profile_metrics = list(dict.fromkeys(profile_metrics))
        self.rejected = 0

    @classmethod
    def from_config(cls, config: Any, objectives: Sequence[Objective], labels: Iterable[str],
                    manager: Any = None, evaluator: Any = None) -> "ModelGate":
        """The gate for an experiment ``config`` (its ``constraints``, ``profilers``, ``profile_*`` settings),
        its ``objectives``, the labels of its space and its ``evaluator`` (whose ``cost_metrics`` are known
        before training too). Unusable settings raise ``ValueError`` up front."""
        context = ProfileContext(input_shape=tuple(config.profile_input_shape) if config.profile_input_shape
                                 else None, latency_runs=config.profile_latency_runs)
        profiler = ModelProfiler.from_plugins(context, manager)
        declared = set(getattr(evaluator, "cost_metrics", ()) or ())
        wanted = [o.name for o in objectives if o.name in profiler.metrics or o.name in declared]
        if config.profilers:
            manager = manager or _manager()
            for name in config.profilers:
                wanted.extend(manager.get_profiler(name).metrics)  # an unknown name lists the installed ones
        constraints = parse_constraints(config.constraints)
        known_before_training = set(labels) | set(profiler.metrics) | declared
        model_stage, trained_stage = [], []
        for constraint in constraints:
            stage = constraint.resolve_stage(known_before_training)
            (model_stage if stage == "model" else trained_stage).append(constraint)
            close = did_you_mean(constraint.metric, known_before_training) if stage == "trained" else None
            if close is not None:  # likely a typo: a trained-metric constraint only filters the front at the end
                _logger.warning("constraint '%s' names %r, which is known only after training (it filters the "
                                "Pareto front, it rejects nothing before training); did you mean %r?",
                                constraint.text, constraint.metric, close)
        profiler.check_metrics([n for n in wanted + [n for c in model_stage for n in c.names] if n not in declared])
        return cls(profiler, model_stage, trained_stage, wanted)

    @property
    def active(self) -> bool:
        """Whether the gate does anything (else models go straight to their trial, unbuilt)."""
        return bool(self.model_constraints or self.profile_metrics)

    def admit(self, model: Any) -> None:
        """Check ``model`` against the constraints decided before training and record its profile in
        ``model.metrics.profile``. Raises :class:`InfeasibleModelError` (with the reason) when it breaks one."""
        reason = self.violation(model)
        if reason is not None:
            self.rejected += 1
            raise InfeasibleModelError(f"{_describe(model)} breaks a constraint ({reason}); rejected before "
                                       "training", [model], [reason])

    def violation(self, model: Any) -> Optional[str]:
        """Why ``model`` breaks a constraint decided before training (None: it meets them all); its profile is
        recorded in ``model.metrics.profile`` either way. Strategies that pick models themselves (one-shot)
        ask this; a constraint naming a value the model lacks raises ConstraintError (never a guess)."""
        if not self.active:
            return None
        view = self.profiler.view(model)
        for constraint in self.model_constraints:
            reason = constraint.violation(view)
            if reason is not None:
                model.metrics.profile.update(view.measured())
                return reason
        model.metrics.profile.update(view.measure(self.profile_metrics))
        return None

    def measure(self, model: Any, metric: str) -> float:
        """One profiler metric of ``model`` (cached per sample), e.g. ``"params"`` for a one-shot cost."""
        self.profiler.check_metrics([metric])
        values = self.profiler.profile(model, [metric])
        if metric not in values:
            raise ValueError(f"no installed profiler measures {metric!r}; profiler metrics: "
                             f"{', '.join(self.profiler.metrics)}")
        return values[metric]

    def describe(self) -> List[str]:
        return [c.text for c in self.model_constraints + self.trained_constraints]


def _describe(model: Any) -> str:
    return f"model with sample {getattr(model, 'sample', None)}"


def _manager() -> Any:
    from nascore.plugins import get_plugin_manager
    return get_plugin_manager()
