"""The ``simplified`` model format: a space is ``{label: mutable}``; a model is class + init arguments + sample.

A frozen model keeps no weights and no module tree: ``executable_model()`` re-runs the model space's class
under ``frozen_context(sample)``, in this process or (from ``to_payload()``) in a trial process.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from nascore.mutable import LabeledMutable, Mutable, Sample, evaluate
from nascore.nn import build_frozen
from nascore.space import ExecutableModelSpace, ModelStatus, NotSerializableError
from nascore.trace import from_json_reference, get_trace, import_symbol, symbol_of, to_json_reference

__all__ = ["SimplifiedModelSpace", "ModelRecipe", "encode_argument"]

FORMAT = "simplified"


def encode_argument(value: Any, path: str) -> Any:
    """JSON form of one init argument (``nascore.trace`` references for classes, functions, traced objects);
    :class:`NotSerializableError` naming ``path`` and what to pass instead."""
    try:
        return to_json_reference(value, path)
    except NotSerializableError as exc:
        # The generic advice (nascore.trace) is wrong for the two usual culprits; say what fits them.
        kind = type(value)
        if kind.__module__.startswith("torch") and get_trace(value) is None:
            if hasattr(value, "state_dict"):
                raise NotSerializableError(
                    f"{path}: a {kind.__qualname__} module instance cannot be sent to a trial process; pass its "
                    "class (and arguments) instead and build it inside __init__, or use the sequential "
                    "engine") from None
            if hasattr(value, "shape") and hasattr(value, "dtype"):
                raise NotSerializableError(
                    f"{path}: a tensor cannot be sent to a trial process; pass its shape or values as plain "
                    "numbers/lists and create it inside __init__, or use the sequential engine") from None
        raise exc


def _has_mutable(value: Any) -> bool:
    if isinstance(value, Mutable):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_mutable(v) for v in value)
    if isinstance(value, dict):
        return any(_has_mutable(v) for v in value.values())
    return False


class _Blank(dict):
    """A stand-in sample under which every mutable reads as None (to check the other arguments alone)."""


def _concrete(value: Any, sample: Sample) -> Any:
    """``value`` with every mutable inside replaced by its value under ``sample`` (already validated)."""
    if isinstance(value, Mutable):
        return None if isinstance(sample, _Blank) else evaluate(value, sample)
    if isinstance(value, list):
        return [_concrete(v, sample) for v in value]
    if isinstance(value, tuple):
        return tuple(_concrete(v, sample) for v in value)
    if isinstance(value, dict):
        return {k: _concrete(v, sample) for k, v in value.items()}
    return value


class ModelRecipe:
    """How to build a model: its class and init arguments. Shared by a space and all its frozen models."""

    __slots__ = ("model_class", "args", "kwargs", "symbol", "problem", "label_state", "_has_mutables", "_encoded")

    def __init__(self, model_class: type, args: tuple = (), kwargs: Optional[Dict[str, Any]] = None,
                 symbol: Optional[str] = None, problem: Optional[str] = None,
                 label_state: Optional[List[Any]] = None):
        self.model_class = model_class
        self.args = tuple(args)
        self.kwargs = dict(kwargs or {})
        #: the space's label scope state (``ModelSpace.label_state``), replayed when a model is built
        self.label_state = None if label_state is None else list(label_state)
        #: ``"module:qualname"`` of the class, or None when it cannot be imported by path (see ``problem``)
        self.symbol = symbol
        #: why models of this recipe cannot be serialized (None when they can)
        self.problem = problem
        self._has_mutables = _has_mutable(self.args) or _has_mutable(self.kwargs)
        self._encoded: Optional[Dict[str, Any]] = None

    @classmethod
    def from_space(cls, model_space: Any) -> "ModelRecipe":
        model_class = model_space.trace_symbol
        args, kwargs = tuple(model_space.trace_args), dict(model_space.trace_kwargs)
        label_state = getattr(model_space, "label_state", None)
        name = f"{getattr(model_class, '__qualname__', model_class)}"
        try:
            symbol: Optional[str] = symbol_of(model_class, f"model space class {name}")
        except NotSerializableError as exc:
            return cls(model_class, args, kwargs, None, str(exc), label_state)
        recipe = cls(model_class, args, kwargs, symbol, label_state=label_state)
        try:  # encode once now: a bad argument is found at from_model, not at the first trial
            recipe.check_encodable()
        except NotSerializableError as exc:
            recipe.problem = str(exc)
        return recipe

    def arguments(self, sample: Sample) -> tuple:
        if not self._has_mutables:
            return self.args, self.kwargs
        return _concrete(self.args, sample), _concrete(self.kwargs, sample)

    def encoded_arguments(self, sample: Sample) -> Dict[str, Any]:
        """``{"args": [...], "kwargs": {...}}`` as JSON; mutables among them take their value in ``sample``."""
        if self._encoded is not None:
            return self._encoded
        args, kwargs = self.arguments(sample)
        encoded = self._encode(args, kwargs)
        if not self._has_mutables:  # otherwise it depends on the sample
            self._encoded = encoded
        return encoded

    def check_encodable(self) -> None:
        """Raise :class:`NotSerializableError` if an argument (other than a mutable) cannot be written to JSON."""
        if not self._has_mutables:
            self.encoded_arguments({})
            return
        blank = _Blank()
        self._encode(_concrete(self.args, blank), _concrete(self.kwargs, blank))

    def _encode(self, args: tuple, kwargs: Dict[str, Any]) -> Dict[str, Any]:
        name = getattr(self.model_class, "__qualname__", "model")
        return {"args": [encode_argument(v, f"{name} argument #{i}") for i, v in enumerate(args)],
                "kwargs": {k: encode_argument(v, f"{name} argument {k!r}") for k, v in kwargs.items()}}

    def build(self, sample: Sample) -> Any:
        args, kwargs = self.arguments(sample)
        return build_frozen(self.model_class, sample, args, kwargs, self.label_state)


def requires_serialization(config: Any) -> bool:
    """Whether ``config`` (an experiment config) runs models on a training service, so they must serialize."""
    engine = getattr(config, "execution_engine", None)
    name = getattr(engine, "name", engine)
    if not isinstance(name, str):
        return False
    from nascore.plugins import get_plugin_manager
    pm = get_plugin_manager()
    try:
        if name in pm.names("middleware"):
            name = pm.get_middleware(name).engine
        return bool(pm.get_execution_engine(name).uses_training_service)
    except LookupError:
        return False


class SimplifiedModelSpace(ExecutableModelSpace):
    """A model space as ``{label: mutable}`` plus the recipe to build one model of it."""

    format_name = FORMAT

    def __init__(self, recipe: ModelRecipe, mutables: Dict[str, LabeledMutable], evaluator: Any = None):
        super().__init__(evaluator, mutables)
        self.recipe = recipe
        self._model: Any = None

    # ---- building ------------------------------------------------------------------------------------
    @classmethod
    def from_model(cls, model_space: Any, evaluator: Any = None, config: Any = None) -> "SimplifiedModelSpace":
        """Reduce ``model_space`` (a ``nascore.nn.ModelSpace``) to its choices and build recipe.

        A class that cannot be imported by path still works in this process; its models refuse
        ``to_payload()`` with the reason. When ``config`` is an experiment config whose engine runs models on a
        training service, that problem is raised here instead.
        """
        from nascore.nn import ModelSpace
        if not isinstance(model_space, ModelSpace):
            kind = type(model_space).__name__
            if hasattr(model_space, "state_dict"):
                raise TypeError(f"the simplified format needs a nascore.nn.ModelSpace, got the plain module "
                                f"{kind}, which does not record how it was built; subclass "
                                f"nascore.nn.ModelSpace instead of torch.nn.Module (class {kind}(ModelSpace): ...)")
            raise TypeError(f"the simplified format needs a nascore.nn.ModelSpace, got {kind}")
        recipe = ModelRecipe.from_space(model_space)
        if recipe.problem is not None and requires_serialization(config):
            raise NotSerializableError(recipe.problem + "; models of this space must be sent to a training "
                                       "service (or use execution engine 'sequential', which runs in this process)")
        space = cls(recipe, cls.collect_mutables(model_space, evaluator), evaluator)
        space.keep_structure(model_space)
        return space

    def _freeze(self, sample: Sample) -> "SimplifiedModelSpace":
        frozen = SimplifiedModelSpace(self.recipe, self.mutables, self.frozen_evaluator(sample))
        return self.mark_frozen(frozen, sample)

    # ---- a frozen model ------------------------------------------------------------------------------
    @property
    def model_symbol(self) -> Optional[str]:
        """``"module:qualname"`` of the model class (None when it cannot be imported by path)."""
        return self.recipe.symbol

    def executable_model(self) -> Any:
        """The plain PyTorch model of this sample (built once, then cached)."""
        if self.sample is None:
            raise RuntimeError("executable_model() needs a frozen model; call space.freeze(sample) first")
        if self._model is None:
            self._model = self.recipe.build(self.sample)
        return self._model

    def check_serializable(self) -> None:
        """Raise :class:`NotSerializableError` now if models of this space could not reach a trial process
        (class or init arguments not importable / not JSON). Engines with a training service call it early."""
        if self.recipe.problem is not None:
            raise NotSerializableError(f"models of this simplified space run only in this process (execution "
                                       f"engine 'sequential'): {self.recipe.problem}")
        if self.evaluator is not None:
            json.dumps(_evaluator_payload(self.evaluator))

    def to_payload(self) -> Dict[str, Any]:
        if self.sample is None:
            raise RuntimeError("only a frozen model has a payload; call space.freeze(sample) first")
        recipe = self.recipe
        if recipe.problem is not None:
            raise NotSerializableError(f"model {self.sample} of the simplified format runs only in this process "
                                       f"(execution engine 'sequential'): {recipe.problem}")
        try:
            json.dumps(self.sample)
        except (TypeError, ValueError) as exc:
            raise NotSerializableError(f"sample {self.sample!r} is not JSON-serialisable ({exc}); samples hold "
                                       "plain numbers, strings, lists and dicts") from None
        return {"format": FORMAT, "model_symbol": recipe.symbol, "label_state": recipe.label_state,
                "init_args": recipe.encoded_arguments(self.sample), "sample": dict(self.sample),
                "evaluator": _evaluator_payload(self.evaluator)}

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "SimplifiedModelSpace":
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            got = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
            raise ValueError(f"not a simplified-format payload (format {got!r}); it needs format '{FORMAT}'")
        missing = [k for k in ("model_symbol", "init_args", "sample") if k not in payload]
        if missing:
            raise ValueError(f"simplified-format payload lacks {', '.join(missing)}")
        symbol = payload["model_symbol"]
        try:
            model_class = import_symbol(symbol)
        except ImportError as exc:
            raise ImportError(f"cannot import the model class {symbol!r} named in the payload ({exc}); the module "
                              "must be importable where the trial runs (installed, or on PYTHONPATH)") from exc
        init = payload["init_args"] or {}
        recipe = ModelRecipe(model_class, from_json_reference(init.get("args", [])),
                             from_json_reference(init.get("kwargs", {})), symbol,
                             label_state=payload.get("label_state"))
        evaluator = None
        if payload.get("evaluator") is not None:
            from nascore.evaluator import Evaluator
            evaluator = Evaluator.from_payload(payload["evaluator"])
        model = cls(recipe, {}, evaluator)
        model.sample = dict(payload["sample"])
        model.status = ModelStatus.Frozen
        return model


def _evaluator_payload(evaluator: Any) -> Optional[Dict[str, Any]]:
    if evaluator is None:
        return None
    to_payload = getattr(evaluator, "to_payload", None)
    if not callable(to_payload):
        raise NotSerializableError(f"evaluator {type(evaluator).__name__} has no to_payload(), so it cannot be "
                                   "sent to a trial process; use a nascore.evaluator.Evaluator (e.g. "
                                   "FunctionalEvaluator with a module-level function)")
    return to_payload()
