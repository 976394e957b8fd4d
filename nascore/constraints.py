"""Constraints: conditions a model must meet, on its sample, its profile (costs) or its trained metrics.

``constraints=["params <= 1_000_000", "latency_ms < 5", lambda m: m["width"] * m["depth"] <= 64]``.
A string is ``NAME OP NUMBER`` (or ``NUMBER OP NAME``) with OP one of ``<= < >= > == !=``; a callable gets a
read-only mapping of the model's named values and returns True when the model is acceptable.

Each constraint has a *stage*:

* ``"model"``: decided before training, from the sample's labels and profiler metrics; a model that breaks
  it is rejected before any trial is spent. Callables are of this stage unless told otherwise.
* ``"trained"``: on metrics only a trial reports (``"val_acc >= 0.9"``); it filters the Pareto front and the
  exported models. A string naming neither a label nor a profiler metric is of this stage.
"""
from __future__ import annotations

import math
import operator
import re
from typing import Any, Callable, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = ["Constraint", "ConstraintError", "InfeasibleModelError", "InfeasibleSpaceError", "parse_constraints",
           "STAGES"]

STAGES = ("model", "trained")

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt, "==": operator.eq,
        "!=": operator.ne}
_FLIP = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "==": "==", "!=": "!="}
_NAME = r"[A-Za-z_][\w./\[\]-]*"
_NUMBER = r"[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?"
_PATTERN = re.compile(rf"^\s*(?:(?P<name>{_NAME})\s*(?P<op><=|<|>=|>|==|!=)\s*(?P<num>{_NUMBER})"
                      rf"|(?P<num2>{_NUMBER})\s*(?P<op2><=|<|>=|>|==|!=)\s*(?P<name2>{_NAME}))\s*$")


class ConstraintError(ValueError):
    """A constraint that cannot be read, or that names a value the model does not have."""


class InfeasibleModelError(ValueError):
    """A submitted model breaks a constraint; it was rejected before training (no trial spent, no budget used).
    ``models`` are the rejected models, ``reasons`` why each was rejected."""

    def __init__(self, message: str, models: Sequence[Any] = (), reasons: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.models, self.reasons = list(models), list(reasons)


class InfeasibleSpaceError(RuntimeError):
    """A strategy found no model meeting the constraints within its bound on attempts."""


class Constraint:
    """One constraint: a ``"NAME OP NUMBER"`` string or a callable ``f(values) -> bool``.

    ``stage`` is ``"model"`` (checked before training) or ``"trained"`` (on trained metrics); None decides
    from the names (see :meth:`resolve_stage`). ``name`` labels a callable in messages.
    """

    def __init__(self, condition: Union[str, Callable[[Mapping[str, Any]], bool]], *, stage: Optional[str] = None,
                 name: Optional[str] = None) -> None:
        if stage is not None and stage not in STAGES:
            raise ConstraintError(f"constraint stage must be one of {STAGES}, got {stage!r}")
        self.condition = condition
        self.stage = stage
        self.metric: Optional[str] = None
        if isinstance(condition, str):
            match = _PATTERN.match(condition)
            if match is None:
                raise ConstraintError(f"cannot read constraint {condition!r}; write NAME OP NUMBER with OP one of "
                                      "<=, <, >=, >, ==, != (e.g. 'params <= 1_000_000'), or pass a callable")
            if match.group("name"):
                self.metric, self._op, number = match.group("name"), match.group("op"), match.group("num")
            else:  # "5 > latency_ms" reads as "latency_ms < 5"
                self.metric, self._op, number = match.group("name2"), _FLIP[match.group("op2")], match.group("num2")
            self._bound = float(number.replace("_", ""))
            self.text = condition.strip()
        elif callable(condition):
            self.text = name or getattr(condition, "__qualname__", None) or repr(condition)
            self.stage = stage or "model"
        else:
            raise ConstraintError(f"a constraint is a string like 'params <= 1e6' or a callable taking the "
                                  f"model's values, got {condition!r}")

    @property
    def names(self) -> List[str]:
        """The values a string constraint reads (empty for a callable: it reads what it likes)."""
        return [self.metric] if self.metric else []

    def resolve_stage(self, model_names: Iterable[str]) -> str:
        """Fix and return the stage: ``"model"`` when every name it reads is known before training."""
        if self.stage is None:
            self.stage = "model" if set(self.names) <= set(model_names) else "trained"
        return self.stage

    def violation(self, values: Mapping[str, Any]) -> Optional[str]:
        """None when ``values`` satisfy the constraint, else why not (``"params = 1.2e+06, wanted <= 1e+06"``).

        A missing value raises :class:`ConstraintError` naming it: a guess would silently admit or drop models.
        """
        if self.metric is None:
            try:
                ok = self.condition(values)  # type: ignore[operator]
            except KeyError as exc:
                raise ConstraintError(f"constraint {self.text} read {exc.args[0]!r}, which this model does not "
                                      f"have; {_known(values)}") from None
            return None if ok else f"{self.text} is not met"
        try:
            value = values[self.metric]
        except KeyError:
            raise ConstraintError(f"constraint '{self.text}' names {self.metric!r}, which this model does not have; "
                                  f"{_known(values)}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return f"{self.metric} = {value!r} is not a number ('{self.text}')"
        if _OPS[self._op](value, self._bound):
            return None
        return f"{self.metric} = {_fmt(value)}, wanted {self._op} {_fmt(self._bound)}"

    def __repr__(self) -> str:
        return f"Constraint({self.text!r}, stage={self.stage!r})"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e15 else f"{number:.6g}"


def _known(values: Mapping[str, Any]) -> str:
    names = getattr(values, "available", None)
    names = names() if callable(names) else list(values)
    return f"known names: {', '.join(sorted(names)) or 'none'}"


def parse_constraints(items: Union[None, str, Callable, Constraint, Sequence[Any]]) -> List[Constraint]:
    """A list of :class:`Constraint` from strings, callables and Constraint objects (one item or a list)."""
    if items is None:
        return []
    if isinstance(items, (str, Constraint)) or callable(items):
        items = [items]
    return [item if isinstance(item, Constraint) else Constraint(item) for item in items]
