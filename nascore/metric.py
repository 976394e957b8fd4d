"""Objectives: which metric a search optimises and in which direction, and how results are ranked by it.

An evaluator declares what it reports (:attr:`nascore.evaluator.Evaluator.objective`): ``Classification``
reports ``Objective("val_acc", "max")``, ``Regression`` ``Objective("val_mse", "min")``, a
``FunctionalEvaluator`` what its ``objective=`` argument says (maximise by default). The experiment config may
set ``metric_direction`` where the evaluator leaves it open; a config contradicting the evaluator is an error
(:func:`resolve_objective`). Everything that compares results — strategies, ``export_top_models``, ``nascore
view`` / ``plot`` / ``export``, the run summary — goes through one :class:`Objective` and :func:`rank`.

Several objectives are several ``Objective`` records (one per named metric); :meth:`Objective.value` reads a
named entry of a dict metric, so the same record serves single- and multi-objective code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, List, Optional, TypeVar

__all__ = ["Objective", "ObjectiveConflictError", "rank", "resolve_objective", "is_valid_metric", "MODES",
           "final_metric_problem", "NO_USABLE_FINAL"]

#: the two modes, as :attr:`Objective.mode` spells them
MODES = ("max", "min")
_ALIASES = {"max": "max", "maximize": "max", "maximise": "max", "min": "min", "minimize": "min",
            "minimise": "min"}

T = TypeVar("T")


class ObjectiveConflictError(ValueError):
    """The experiment config asks for the opposite direction of the one the evaluator declares."""


def _mode(value: Any, name: str = "") -> str:
    mode = _ALIASES.get(str(value).strip().lower()) if isinstance(value, str) else None
    if mode is None:
        who = f"objective {name!r}: " if name else ""
        raise ValueError(f"{who}direction must be 'max' or 'min' (or 'maximize' / 'minimize'), got {value!r}")
    return mode


def is_valid_metric(value: Optional[float]) -> bool:
    """Whether ``value`` is a finite number, i.e. may be ranked (None, NaN and ±inf may not)."""
    return value is not None and not isinstance(value, bool) and isinstance(value, (int, float)) \
        and math.isfinite(value)


@dataclass(frozen=True)
class Objective:
    """A metric's name and whether higher (``"max"``) or lower (``"min"``) is better.

    ``mode`` also accepts ``"maximize"`` / ``"minimize"`` and is stored as ``"max"`` / ``"min"``;
    :attr:`direction` gives the long form (Optuna's). ``name`` is the metric's name as the evaluator reports it
    (``"default"`` when the evaluator reports a bare number and gives it no name).
    """

    name: str = "default"
    mode: str = "max"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"an objective's name is a non-empty string, got {self.name!r}")
        object.__setattr__(self, "mode", _mode(self.mode, self.name))

    @classmethod
    def parse(cls, value: Any, name: str = "default") -> "Objective":
        """An ``Objective`` from itself, a mode string (``"min"``; named ``name``), a ``{"name", "mode"}`` dict
        (:meth:`to_json`'s output; ``"direction"`` is read as ``"mode"``) or a ``(name, mode)`` pair."""
        if isinstance(value, Objective):
            return value
        if isinstance(value, str):
            return cls(name, value)
        if isinstance(value, dict) and ("mode" in value or "direction" in value):
            return cls(value.get("name", name), value.get("mode", value.get("direction")))
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(value[0], value[1])
        raise ValueError(f"cannot read an objective from {value!r}: give 'max' / 'min', (name, mode) or "
                         "Objective(name, mode)")

    @property
    def direction(self) -> str:
        """``"maximize"`` or ``"minimize"``."""
        return "maximize" if self.mode == "max" else "minimize"

    @property
    def higher_is_better(self) -> bool:
        return self.mode == "max"

    maximize = higher_is_better

    def value(self, metric: Any) -> Optional[float]:
        """The number this objective reads from a reported metric: the metric itself, or the entry named
        :attr:`name` of a dict metric (its ``"default"`` entry when it has none). None when missing."""
        if isinstance(metric, dict):
            metric = metric.get(self.name, metric.get("default"))
        if metric is None or isinstance(metric, bool) or not isinstance(metric, (int, float)):
            return None
        return float(metric)

    def score(self, value: Optional[float]) -> float:
        """``value`` as "higher is better" (negated for ``"min"``); None, NaN and ±inf score ``-inf``, so an
        infinite metric is never ranked best."""
        if not is_valid_metric(value):
            return -math.inf
        return float(value) if self.mode == "max" else -float(value)  # type: ignore[arg-type]

    def better(self, a: Optional[float], b: Optional[float]) -> bool:
        """Whether value ``a`` is strictly better than ``b`` (a missing or non-finite value never is)."""
        return is_valid_metric(a) and self.score(a) > self.score(b)

    def to_json(self) -> dict:
        return {"name": self.name, "mode": self.mode}

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"


def rank(items: Iterable[T], objective: Objective, value: Callable[[T], Optional[float]] = lambda x: x,  # type: ignore
         ) -> List[T]:
    """``items`` best first by ``objective``; ``value(item)`` gives an item's number. Items whose value is None,
    NaN or infinite are left out (they cannot be ranked); ties keep their order."""
    scored = [(objective.score(v), i, item) for i, item in enumerate(items) for v in [value(item)]
              if is_valid_metric(v)]
    scored.sort(key=lambda t: (-t[0], t[1]))
    return [item for _, _, item in scored]


#: how the failure reason of a trial without a usable final metric starts (the run summary counts these)
NO_USABLE_FINAL = "no usable final metric"


def final_metric_problem(final: Any, objective: Optional[Objective] = None) -> Optional[str]:
    """Why a model that finished training cannot count as Trained — no final metric, or one ``objective``
    (default: the ``"default"`` entry) reads as NaN or infinite — or None when its final metric is usable."""
    objective = objective or Objective()
    if final is None:
        return (f"{NO_USABLE_FINAL}: the trial reported none (call nascore.report_final_result(value), or return "
                f"the metric from the evaluator)")
    value = objective.value(final)
    if not is_valid_metric(value):
        what = "has no number" if value is None else f"is {value}"
        entry = "" if not isinstance(final, dict) else f" (entry {objective.name!r} of {final!r:.100})"
        return f"{NO_USABLE_FINAL}: the final metric{entry} {what}; a final metric must be a finite number"
    return None


def resolve_objective(evaluator: Any, metric_direction: Optional[str] = None) -> Objective:
    """The experiment's objective: what ``evaluator`` declares (its ``objective`` attribute), with the
    config's ``metric_direction`` filling in where the evaluator declares none (default ``"max"``).

    Raises :class:`ObjectiveConflictError` when ``metric_direction`` contradicts the evaluator's declaration.
    """
    declared = getattr(evaluator, "objective", None)
    wanted = None if metric_direction is None else _mode(metric_direction)
    if declared is None:
        return Objective("default", wanted or "max")
    declared = Objective.parse(declared)
    if wanted is not None and wanted != declared.mode:
        better = "higher" if declared.mode == "max" else "lower"
        raise ObjectiveConflictError(
            f"the evaluator {type(evaluator).__name__} reports {declared.name!r}, where {better} is better "
            f"({declared.mode!r}), but the config sets metric_direction={metric_direction!r}; remove "
            f"metric_direction from the config (the evaluator's direction is used) or report another metric")
    return declared
