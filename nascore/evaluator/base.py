"""Evaluator: how one concrete model is trained and scored.

An evaluator records the arguments it was constructed with (every subclass's ``__init__`` is wrapped), so it
can be sent to a trial process as JSON (:meth:`Evaluator.to_payload`), compared by value, and searched over:
mutables among its arguments (``learning_rate=Categorical([1e-3, 1e-2], label="lr")``, also inside lists and
dicts) join the sample, and :meth:`Evaluator.freeze` builds an evaluator with concrete values.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
from abc import ABCMeta, abstractmethod
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Iterator, Optional, Tuple

from nascore.arguments import split_call
from nascore.metric import Objective
from nascore.mutable import Mutable, Sample, SampleValidationError
from nascore.trace import (TRACE_ATTR, NotSerializableError, TraceInfo, from_json_reference, import_symbol,
                           symbol_of, to_json_reference)

__all__ = ["Evaluator", "FunctionalEvaluator"]

_RECORDS = "_nascore_records_init"

if TYPE_CHECKING:  # torch is imported by whoever builds models; keep `import nascore.evaluator` light
    import torch


def _recording_init(init: Callable[..., None]) -> Callable[..., None]:
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self: "Evaluator", *args: Any, **kwargs: Any) -> None:
        # Only the outermost constructor records: a subclass calling super().__init__(...) must not
        # overwrite the arguments the user gave.
        if TRACE_ATTR not in self.__dict__:
            split = split_call(signature, args, kwargs)
            if split is not None:
                object.__setattr__(self, TRACE_ATTR, TraceInfo(type(self), split[0], split[1]))
        init(self, *args, **kwargs)

    setattr(__init__, _RECORDS, True)
    return __init__


# ---- walking arguments for mutables ------------------------------------------------------------------------
def _walk(value: Any, path: str) -> Iterator[Tuple[str, Mutable]]:
    if isinstance(value, Mutable):
        yield path, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}[{key!r}]")


def _freeze_value(value: Any, sample: Sample) -> Any:
    if isinstance(value, Mutable):
        return value._freeze(sample)
    if isinstance(value, list):
        return [_freeze_value(v, sample) for v in value]
    if type(value) is tuple:
        return tuple(_freeze_value(v, sample) for v in value)
    if type(value) is dict:
        return {k: _freeze_value(v, sample) for k, v in value.items()}
    return value


class Evaluator(Mutable, metaclass=ABCMeta):
    """Base class of evaluators. Subclasses implement :meth:`evaluate`.

    Constructor arguments are recorded automatically, so keep them JSON-like, importable (classes, functions)
    or built with :func:`nascore.trace` when the evaluator must reach a trial process (the ``ts`` engine).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, _RECORDS, False):
            cls.__init__ = _recording_init(init)  # type: ignore[method-assign]

    #: what the evaluator reports and in which direction (:class:`nascore.metric.Objective`); None when it
    #: does not say (the experiment then maximises, unless the config's ``metric_direction`` says otherwise)
    objective: Optional[Objective] = None
    #: names of the costs :meth:`costs` knows without training (a tabular benchmark's ``latency``, ``params``);
    #: they may be objectives and constraints checked before training, and win over profilers of the same name
    cost_metrics: Tuple[str, ...] = ()

    @abstractmethod
    def evaluate(self, model: "torch.nn.Module") -> Any:
        """Train and score ``model``; report with ``nascore.trial.report_intermediate_result`` /
        ``report_final_result``. A returned number (or ``{"default": ...}`` dict) is taken as the final
        metric when none was reported."""

    def costs(self, model: "torch.nn.Module") -> Dict[str, float]:
        """The :attr:`cost_metrics` of the built ``model``, known without training it (called in the
        experiment's process before the model's trial, when an objective or a constraint needs one)."""
        return {}

    # ---- recorded arguments ------------------------------------------------------------------------------
    @property
    def trace_args(self) -> tuple:
        info = self.__dict__.get(TRACE_ATTR)
        return info.args if info is not None else ()

    @property
    def trace_kwargs(self) -> Dict[str, Any]:
        info = self.__dict__.get(TRACE_ATTR)
        return dict(info.kwargs) if info is not None else {}

    def _named_arguments(self) -> Iterable[Tuple[str, Any]]:
        for i, value in enumerate(self.trace_args):
            yield f"[{i}]", value
        yield from self.trace_kwargs.items()

    # ---- mutables ----------------------------------------------------------------------------------------
    def _mutables(self) -> Iterator[Tuple[str, Mutable]]:
        for name, value in self._named_arguments():
            yield from _walk(value, name)

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        for _, mutable in self._mutables():
            yield from mutable.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        for path, mutable in self._mutables():
            error = mutable.check_contains(sample)
            if error is not None:
                error.paths.insert(0, f"evaluator argument {path}")
                return error
        return None

    def _freeze(self, sample: Sample) -> "Evaluator":
        if next(self._mutables(), None) is None:
            return self  # nothing to choose: evaluators are immutable, share it
        args = _freeze_value(list(self.trace_args), sample)
        kwargs = {k: _freeze_value(v, sample) for k, v in self.trace_kwargs.items()}
        return type(self)(*args, **kwargs)

    def freeze(self, sample: Sample) -> "Evaluator":
        """A new evaluator of the same class whose mutable arguments take their values from ``sample``."""
        return super().freeze(sample)

    def _require_frozen(self) -> None:
        labels = list(self.simplify())
        if labels:
            raise RuntimeError(f"{type(self).__name__} still has choices {labels} among its arguments; evaluate "
                               f"the evaluator returned by evaluator.freeze(sample) instead")

    # ---- serialisation -----------------------------------------------------------------------------------
    def to_payload(self) -> Dict[str, Any]:
        """JSON description (class path + encoded arguments); :class:`NotSerializableError` names the argument
        that cannot be referenced."""
        return {
            "evaluator": symbol_of(type(self), f"evaluator {type(self).__qualname__}"),
            "args": [to_json_reference(v, f"evaluator positional argument {i}")
                     for i, v in enumerate(self.trace_args)],
            "kwargs": {k: to_json_reference(v, f"evaluator argument {k}") for k, v in self.trace_kwargs.items()},
        }

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "Evaluator":
        """Rebuild an evaluator from :meth:`to_payload`'s output (in a trial process, say)."""
        if not isinstance(payload, dict) or "evaluator" not in payload:
            raise ValueError(f"not an evaluator payload (no 'evaluator' key): {payload!r:.200}")
        target = import_symbol(payload["evaluator"])
        target = getattr(target, "__wrapped__", target)
        if not (isinstance(target, type) and issubclass(target, cls)):
            raise TypeError(f"payload names {payload['evaluator']!r}, which is not a subclass of {cls.__name__}")
        args = [from_json_reference(a) for a in payload.get("args", [])]
        kwargs = {k: from_json_reference(v) for k, v in payload.get("kwargs", {}).items()}
        return target(*args, **kwargs)

    def check_serializable(self) -> None:
        """Raise :class:`NotSerializableError` now if this evaluator could not reach a trial process."""
        json.dumps(self.to_payload())

    def fingerprint(self) -> str:
        """A hash of the payload: equal for evaluators equal by value."""
        text = json.dumps(self.to_payload(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _identity(self) -> Any:
        try:
            return json.dumps(self.to_payload(), sort_keys=True)
        except (NotSerializableError, TypeError, ValueError):
            return None

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return False
        mine, theirs = self._identity(), other._identity()  # type: ignore[attr-defined]
        if mine is not None and theirs is not None:
            return mine == theirs
        # in-process only evaluators (local functions, untraced loaders): compare the arguments themselves
        return self.trace_args == other.trace_args and \
            self.trace_kwargs == other.trace_kwargs  # type: ignore[attr-defined]

    def equals(self, other: Any) -> bool:
        return self == other

    def __hash__(self) -> int:
        identity = self._identity()
        return hash(identity) if identity is not None else id(self)

    def __reduce__(self) -> Any:
        # Pickle/deepcopy the recipe, not the built state (Lightning trainers, for one, do not pickle).
        info = self.__dict__.get(TRACE_ATTR)
        if info is None:
            return super().__reduce__()
        return _rebuild, (type(self), info.args, info.kwargs)

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.trace_args] + [f"{k}={v!r}" for k, v in self.trace_kwargs.items()]
        return f"{type(self).__name__}({', '.join(parts)})"


def _rebuild(cls: type, args: tuple, kwargs: dict) -> Evaluator:
    return cls(*args, **kwargs)


class FunctionalEvaluator(Evaluator):
    """Evaluate a model by calling ``function(model, **kwargs)``.

    The function trains and scores the model and reports through ``nascore.trial``; it may simply return the
    final metric. ``kwargs`` may hold mutables (they join the sample). For trial processes ``function`` must be
    importable (module level, not in ``__main__``).

    ``objective`` says what the reported number is and whether higher or lower is better: ``"max"`` /
    ``"min"``, ``("mse", "min")`` or ``Objective("mse", "min")``. Without it the experiment maximises (or
    follows the config's ``metric_direction``).
    """

    def __init__(self, function: Callable[..., Any], *, objective: Any = None, **kwargs: Any) -> None:
        if not callable(function):
            raise TypeError(f"FunctionalEvaluator needs a callable taking the model, got {function!r}")
        self.function = function
        self.kwargs = kwargs
        if objective is not None:
            try:
                self.objective = Objective.parse(objective)
            except ValueError as exc:
                raise ValueError(f"FunctionalEvaluator(objective=...): {exc}") from None
            # recorded as plain data, so the evaluator still travels to trial processes as JSON
            info = self.__dict__.get(TRACE_ATTR)
            if info is not None and "objective" in info.kwargs:
                info.kwargs["objective"] = self.objective.to_json()

    def evaluate(self, model: "torch.nn.Module") -> Any:
        self._require_frozen()
        return self.function(model, **self.kwargs)
