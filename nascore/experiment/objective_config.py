"""The experiment settings about what is optimised and what is allowed: objectives, constraints, profiling.

A base of :class:`~nascore.experiment.config.NasExperimentConfig`, kept apart so the config module stays about
components. Every value is validated when assigned, with a message naming the setting.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from pydantic import BaseModel, Field, field_serializer, field_validator

__all__ = ["ObjectiveSettings"]


class ObjectiveSettings(BaseModel):
    """``objectives``, ``objective_weights``, ``constraints``, ``profilers``, ``profile_input_shape``,
    ``profile_latency_runs`` (see each field's description)."""

    objectives: Optional[Dict[str, str]] = Field(
        default=None, description="named metrics to optimise and their direction, e.g. {'val_acc': 'max', "
                                  "'params': 'min'}; default: the evaluator's metric")
    objective_weights: Optional[Dict[str, float]] = Field(
        default=None, description="lets a single-objective strategy search several objectives: it optimises "
                                  "sum(weight * value), each value oriented so that higher is better")
    constraints: List[Any] = Field(
        default_factory=list, description="conditions on the sample, profiles or trained metrics: "
                                          "'params <= 1_000_000', 'latency_ms < 5' or callables")
    profilers: List[str] = Field(default_factory=list,
                                 description="profilers to run on every model even when nothing needs them")
    profile_input_shape: Optional[List[int]] = Field(
        default=None, description="shape of one model input, batch included, for FLOPs and latency")
    profile_latency_runs: int = Field(default=20, ge=1, description="timed runs of the latency profiler")

    @field_validator("objectives")
    @classmethod
    def _objectives(cls, value: Any) -> Any:
        if value is not None:
            from nascore.objectives import parse_objectives
            parse_objectives(value)  # a ValueError names the objective
        return value

    @field_validator("constraints", mode="before")
    @classmethod
    def _constraints(cls, value: Any) -> List[Any]:
        from nascore.constraints import Constraint
        items = [value] if isinstance(value, (str, Constraint)) or callable(value) else list(value or [])
        out = []
        for item in items:
            if isinstance(item, dict) and "callable" in item:  # a saved callable: import it again
                item = _import_callable(item)
            if not isinstance(item, Constraint):
                Constraint(item)  # read now: a bad string or a non-callable is reported when assigned
            out.append(item)
        return out

    @field_serializer("constraints")
    def _save_constraints(self, value: List[Any]) -> List[Any]:
        return [_constraint_json(item) for item in value]

    @field_validator("profile_input_shape")
    @classmethod
    def _shape(cls, value: Optional[List[int]]) -> Optional[List[int]]:
        if value is not None and (not value or any(int(d) < 1 for d in value)):
            raise ValueError(f"profile_input_shape is the shape of one input, batch included, with positive "
                             f"sizes (e.g. [1, 3, 32, 32]); got {value!r}")
        return value


def _constraint_json(item: Any) -> Any:
    """A string stays; a callable is saved as its import reference, so a resumed experiment imports it again."""
    from nascore.constraints import Constraint
    from nascore.trace import NotSerializableError, symbol_of
    condition = item.condition if isinstance(item, Constraint) else item
    if isinstance(condition, str):
        return condition
    stage = item.stage if isinstance(item, Constraint) else "model"
    try:
        return {"callable": symbol_of(condition, "constraint"), "stage": stage}
    except (NotSerializableError, TypeError, ValueError):
        return {"callable": None, "repr": repr(condition), "stage": stage}


def _import_callable(saved: Dict[str, Any]) -> Any:
    from nascore.constraints import Constraint
    from nascore.trace import import_symbol
    reference = saved.get("callable")
    if not reference:
        raise ValueError(f"constraint {saved.get('repr', '?')} was a function defined where it cannot be "
                         "imported again (a lambda or a local function); define it at module level, or pass the "
                         "constraints again (NasExperiment.resume(DIR, config=...))")
    return Constraint(import_symbol(reference), stage=saved.get("stage", "model"))


def resolve_objectives(config: Any, evaluator_objective: Any) -> List[Any]:
    """The experiment's objectives: ``config.objectives``, or the evaluator's own metric. ``objective_weights``
    must name declared objectives."""
    from nascore.experiment.errors import ConfigError
    from nascore.objectives import parse_objectives
    objectives = parse_objectives(config.objectives, default=evaluator_objective)
    unknown = sorted(set(config.objective_weights or {}) - {o.name for o in objectives})
    if unknown:
        raise ConfigError(f"objective_weights names {unknown}, which are not objectives; the objectives are "
                          f"{[o.name for o in objectives]}")
    return objectives


def apply_objectives(strategy: Any, objectives: List[Any], weights: Optional[Dict[str, float]],
                     metric_name: str, gate: Any = None) -> None:
    """Tell ``strategy`` what it optimises; a single-objective strategy given several objectives and no
    weights is an error saying what to do."""
    from nascore.experiment.errors import ConfigError
    if len(objectives) > 1 and getattr(strategy, "kind", "") == "one-shot":
        raise ConfigError(f"{type(strategy).__name__} trains one supernet for one metric and cannot search "
                          f"{len(objectives)} objectives; declare one objective, and give a cost to the strategy "
                          "itself (e.g. DARTS(cost_weight=1.0, cost_metric='params')) or a limit as a constraint "
                          "(constraints=['params <= 1e6'])")
    if len(objectives) > 1 and not weights and not getattr(strategy, "multi_objective", False):
        names = ", ".join(str(o) for o in objectives)
        example = ", ".join(f"'{o.name}': 1.0" for o in objectives)
        raise ConfigError(f"{type(strategy).__name__} optimises one objective, but the experiment declares "
                          f"{len(objectives)}: {names}. Either set objective_weights={{{example}}} to optimise "
                          "their weighted sum (each value oriented so that higher is better), or use a "
                          "multi-objective strategy: NSGA2 or MORegularizedEvolution (Random and GridSearch "
                          "work too)")
    strategy.objectives = list(objectives)
    strategy.objective_weights = dict(weights) if weights else None
    strategy.metric_name = metric_name
    strategy.gate = gate
