"""Arithmetic over mutables: ``Categorical([2, 4]) * 16 + 1`` is a MutableExpression."""

from __future__ import annotations

import operator
from typing import Any, Callable, Iterable, Optional

from .base import LabeledMutable, Mutable, Sample, SampleValidationError
from .labels import auto_label

__all__ = ["Operable", "MutableExpression", "ExpressionConstraint", "condition", "maximum", "minimum",
           "evaluate"]


def evaluate(value: Any, sample: Sample) -> Any:
    """Concrete value of ``value`` under ``sample`` (non-mutables pass through, no validation)."""
    return value._freeze(sample) if isinstance(value, Mutable) else value


def _cond(c: Any, a: Any, b: Any) -> Any:
    return a if c else b


def _b(name: str, fn: Callable, symbol: str, reverse: bool = False) -> Callable:
    def method(self: Any, other: Any) -> "MutableExpression":
        operands = [other, self] if reverse else [self, other]
        return MutableExpression(fn, operands, name=name, symbol=symbol)
    method.__name__ = name
    return method


def _u(name: str, fn: Callable, symbol: str) -> Callable:
    def method(self: Any) -> "MutableExpression":
        return MutableExpression(fn, [self], name=name, symbol=symbol)
    method.__name__ = name
    return method


class Operable:
    """Mixin giving mutables Python operators that build expressions.

    ``==``/``!=`` are deliberately not overloaded: mutables must stay hashable and comparable by
    identity (they are dict keys and searched with ``in``).
    """

    __add__ = _b("__add__", operator.add, "+")
    __radd__ = _b("__radd__", operator.add, "+", reverse=True)
    __sub__ = _b("__sub__", operator.sub, "-")
    __rsub__ = _b("__rsub__", operator.sub, "-", reverse=True)
    __mul__ = _b("__mul__", operator.mul, "*")
    __rmul__ = _b("__rmul__", operator.mul, "*", reverse=True)
    __truediv__ = _b("__truediv__", operator.truediv, "/")
    __rtruediv__ = _b("__rtruediv__", operator.truediv, "/", reverse=True)
    __floordiv__ = _b("__floordiv__", operator.floordiv, "//")
    __rfloordiv__ = _b("__rfloordiv__", operator.floordiv, "//", reverse=True)
    __mod__ = _b("__mod__", operator.mod, "%")
    __rmod__ = _b("__rmod__", operator.mod, "%", reverse=True)
    __pow__ = _b("__pow__", operator.pow, "**")
    __rpow__ = _b("__rpow__", operator.pow, "**", reverse=True)
    __lt__ = _b("__lt__", operator.lt, "<")
    __le__ = _b("__le__", operator.le, "<=")
    __gt__ = _b("__gt__", operator.gt, ">")
    __ge__ = _b("__ge__", operator.ge, ">=")
    __and__ = _b("__and__", lambda a, b: bool(a and b), "&")
    __or__ = _b("__or__", lambda a, b: bool(a or b), "|")
    __neg__ = _u("__neg__", operator.neg, "-")
    __pos__ = _u("__pos__", operator.pos, "+")
    __abs__ = _u("__abs__", abs, "abs")
    __invert__ = _u("__invert__", operator.not_, "not")

    __hash__ = object.__hash__


class MutableExpression(Operable, Mutable):
    """``fn(*operands)`` where operands are mutables or constants; frozen by evaluating operands."""

    def __init__(self, fn: Callable[..., Any], operands: list[Any], *, name: Optional[str] = None,
                 symbol: Optional[str] = None) -> None:
        self.fn = fn
        self.operands = list(operands)
        self.name = name or getattr(fn, "__name__", "fn")
        self.symbol = symbol

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        for op in self.operands:
            if isinstance(op, Mutable):
                yield from op.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        for op in self.operands:
            if isinstance(op, Mutable):
                err = op.check_contains(sample)
                if err is not None:
                    return err
        return None

    def _freeze(self, sample: Sample) -> Any:
        return self.fn(*(evaluate(op, sample) for op in self.operands))

    def evaluate(self, sample: Sample) -> Any:
        """Same as ``freeze``: validate then compute."""
        return self.freeze(sample)

    def equals(self, other: Any) -> bool:
        if not isinstance(other, MutableExpression) or self.name != other.name:
            return False
        # helpers like maximum() build a fresh lambda per call, so compare by qualified name
        if self.fn is not other.fn and getattr(self.fn, "__qualname__", None) != getattr(other.fn, "__qualname__", 0):
            return False
        if len(self.operands) != len(other.operands):
            return False
        for a, b in zip(self.operands, other.operands):
            if isinstance(a, Mutable) != isinstance(b, Mutable):
                return False
            if isinstance(a, Mutable) and not a.equals(b):
                return False
            if not isinstance(a, Mutable) and a != b:
                return False
        return True

    def __bool__(self) -> bool:
        # `if x > 3:` on a mutable would silently be True; fail loudly instead.
        raise TypeError("a MutableExpression has no truth value before freezing; use "
                        "nascore.mutable.condition(...) or freeze it with a sample")

    def __repr__(self) -> str:
        ops = [repr(o) for o in self.operands]
        if self.symbol and len(ops) == 2 and self.symbol not in ("abs", "not"):
            return f"({ops[0]} {self.symbol} {ops[1]})"
        if self.symbol and len(ops) == 1:
            return f"{self.symbol}({ops[0]})" if self.symbol.isalpha() else f"{self.symbol}{ops[0]}"
        return f"{self.name}({', '.join(ops)})"


def condition(cond: Any, a: Any, b: Any) -> MutableExpression:
    """``a if cond else b``, evaluated at freeze time."""
    return MutableExpression(_cond, [cond, a, b], name="condition")


def maximum(*args: Any) -> MutableExpression:
    """Largest of the (possibly mutable) arguments, evaluated at freeze time."""
    return MutableExpression(lambda *v: max(v), list(args), name="maximum")


def minimum(*args: Any) -> MutableExpression:
    """Smallest of the (possibly mutable) arguments, evaluated at freeze time."""
    return MutableExpression(lambda *v: min(v), list(args), name="minimum")


class ExpressionConstraint(LabeledMutable):
    """A named predicate over other mutables; a sample is rejected when it evaluates false.

    It has a label (so it appears in ``simplify()``) but reads no value from the sample.
    """

    def __init__(self, expression: Any, *, label: Optional[str] = None) -> None:
        self.expression = expression
        self.label = auto_label(label)

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        if is_leaf(self):
            yield self
        if isinstance(self.expression, Mutable):
            yield from self.expression.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        if isinstance(self.expression, Mutable):
            err = self.expression.check_contains(sample)
            if err is not None:
                return err
        if not evaluate(self.expression, sample):
            return SampleValidationError(
                f"{self.label}: constraint {self.expression!r} is not satisfied", [self.label])
        return None

    def _freeze(self, sample: Sample) -> bool:
        return True

    def equals(self, other: Any) -> bool:
        if not isinstance(other, ExpressionConstraint) or other.label != self.label:
            return False
        if isinstance(self.expression, Mutable):
            return self.expression.equals(other.expression)
        return self.expression == other.expression

    def __repr__(self) -> str:
        return f"ExpressionConstraint({self.expression!r}, label={self.label!r})"
