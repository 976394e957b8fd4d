"""Objectives: which named metrics an experiment optimises, and in which direction.

An :class:`~nascore.metric.Objective` is a metric's name and mode (``"max"`` / ``"min"``); the evaluator
declares its own. A trial reports a number or a dict of named metrics; profilers add costs (``params``, ``flops``,
``latency_ms`` ...). :func:`named_metrics` merges them into one ``{name: value}``; an :class:`Objective` reads
its value from there. ``objectives={"val_acc": "max", "params": "min"}`` declares two; without any, the
experiment has one objective: the evaluator's own metric.
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from nascore.metric import Objective  # one record per objective, shared with single-objective code

__all__ = ["Objective", "parse_objectives", "named_metrics", "objective_values", "objective_scores",
           "DEFAULT_METRIC", "ObjectivesSpec"]

#: the name of a metric reported as a bare number (or under the ``"default"`` key of a dict)
DEFAULT_METRIC = "default"

ObjectivesSpec = Union[None, str, Mapping[str, str], Sequence[Any]]


def parse_objectives(spec: ObjectivesSpec, default: Optional[Objective] = None) -> List[Objective]:
    """Objectives from ``{"name": "max" | "min"}``, a list of names / ``(name, direction)`` / Objective /
    ``{"name": ..., "direction": ...}``, or one name. None or empty: ``[default]`` (the evaluator's metric)."""
    if spec is None or (not isinstance(spec, str) and len(spec) == 0):
        return [default or Objective(DEFAULT_METRIC)]
    items: List[Any]
    if isinstance(spec, Mapping) and all(isinstance(v, str) for v in spec.values()):
        for name, mode in spec.items():
            if _bad_mode(mode):
                raise ValueError(f"objective {name!r}: direction must be 'max' or 'min' (or 'maximize' / "
                                 f"'minimize'), got {mode!r}")
    if isinstance(spec, str):
        items = [spec]
    elif isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = list(spec)
    objectives: List[Objective] = []
    for item in items:
        if isinstance(item, Objective):
            objective = item
        elif isinstance(item, str):
            objective = Objective(item, default.mode if default and default.name == item else "max")
        elif isinstance(item, Mapping):
            objective = Objective(item.get("name"), item.get("mode", item.get("direction", "max")))  # type: ignore
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            objective = Objective(item[0], item[1])
        else:
            raise ValueError(f"cannot read objective {item!r}; write objectives={{'accuracy': 'max', "
                             "'params': 'min'}")
        if any(o.name == objective.name for o in objectives):
            raise ValueError(f"objective {objective.name!r} is declared twice")
        objectives.append(objective)
    return objectives


def _bad_mode(mode: str) -> bool:
    try:
        Objective("x", mode)
    except ValueError:
        return True
    return False


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def named_metrics(final: Any, profile: Optional[Mapping[str, Any]] = None,
                  default_name: str = DEFAULT_METRIC) -> Dict[str, float]:
    """Every named number known about a model: its profile (costs) and its final metric.

    A bare number is named ``default_name`` (the evaluator's metric name); a dict keeps its keys, and its
    ``"default"`` entry is also available as ``default_name``. What the trial reported wins over a profile
    entry of the same name.
    """
    values: Dict[str, float] = {}
    for name, value in (profile or {}).items():
        number = _number(value)
        if number is not None:
            values[name] = number
    if isinstance(final, Mapping):
        for name, value in final.items():
            number = _number(value)
            if number is not None:
                values[str(name)] = number
        if DEFAULT_METRIC in values and default_name not in final:
            values[default_name] = values[DEFAULT_METRIC]
    else:
        number = _number(final)
        if number is not None:
            values[default_name] = number
            values.setdefault(DEFAULT_METRIC, number)
    return values


def objective_values(objectives: Sequence[Objective], metrics: Mapping[str, float]) -> Optional[Tuple[float, ...]]:
    """Each objective's value as reported (None when one is missing or not a finite number)."""
    values = []
    for objective in objectives:
        value = metrics.get(objective.name)
        if value is None or not math.isfinite(value):
            return None
        values.append(float(value))
    return tuple(values)


def objective_scores(objectives: Sequence[Objective], metrics: Mapping[str, float]) -> Optional[Tuple[float, ...]]:
    """Each objective's value oriented so that higher is better (for :mod:`nascore.pareto`)."""
    values = objective_values(objectives, metrics)
    return None if values is None else tuple(o.score(v) for o, v in zip(objectives, values))


def objectives_problem(metrics: Any, objectives: Sequence[Objective], default_name: str) -> Optional[str]:
    """Why a trained model's ``metrics`` (final metric and profile) cannot be placed on the objectives' front —
    an objective with no finite value — or None. Names exactly: the ``"default"`` entry stands only for the
    evaluator's own metric (``default_name``), never for another objective."""
    from nascore.metric import NO_USABLE_FINAL
    if metrics.final is None:
        return (f"{NO_USABLE_FINAL}: the trial reported none (call nascore.report_final_result(value), or return "
                f"the metric from the evaluator)")
    values = named_metrics(metrics.final, metrics.profile, default_name)
    for objective in objectives:
        value = values.get(objective.name)
        if value is None or not math.isfinite(value):
            what = "has no value" if value is None else f"is {value}"
            return (f"{NO_USABLE_FINAL}: objective {objective.name!r} {what} (named metrics: "
                    f"{', '.join(sorted(values)) or 'none'}); report it as an entry of the final metric dict")
    return None

