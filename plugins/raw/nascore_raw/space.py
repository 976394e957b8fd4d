"""The ``raw`` model format: the user's model space object itself, weights included, in this process only.

Freezing is cheap: a frozen model only records the sample and shares the space; the structural copy
(``space.freeze(sample)``) happens in ``executable_model()``, once. One-shot strategies read ``model_space``.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from nascore.mutable import LabeledMutable, Mutable, Sample, SampleValidationError
from nascore.space import ExecutableModelSpace, NotSerializableError

__all__ = ["RawModelSpace"]

FORMAT = "raw"
_NOT_SERIALIZABLE = ("model format 'raw' keeps models in this process (they share the model space object and its "
                     "weights), so they cannot be sent to a trial process; use execution engine 'sequential', or "
                     "model format 'simplified' or 'graph' with a training service")


def _evaluator_mutables(evaluator: Any) -> Dict[str, LabeledMutable]:
    simplify = getattr(evaluator, "simplify", None)
    return dict(simplify()) if evaluator is not None and callable(simplify) else {}


class RawModelSpace(ExecutableModelSpace):
    """Wraps a model space (a ``nascore.nn.ModelSpace`` or other mutable ``nn.Module``) without copying it."""

    format_name = FORMAT

    def __init__(self, model_space: Any, evaluator: Any = None,
                 mutables: Optional[Dict[str, LabeledMutable]] = None, evaluator_has_mutables: bool = False):
        super().__init__(evaluator)
        self.model_space = model_space
        self._mutables = dict(model_space.simplify()) if mutables is None else mutables
        self._evaluator_has_mutables = evaluator_has_mutables
        self._model: Any = None

    @classmethod
    def from_model(cls, model_space: Any, evaluator: Any = None, config: Any = None) -> "RawModelSpace":
        if not (isinstance(model_space, Mutable) and hasattr(model_space, "state_dict")):
            kind = type(model_space).__name__
            if hasattr(model_space, "state_dict"):
                raise TypeError(f"the raw format needs a nascore.nn.ModelSpace, got the plain module {kind}; "
                                f"subclass nascore.nn.ModelSpace instead of torch.nn.Module "
                                f"(class {kind}(ModelSpace): ...)")
            raise TypeError(f"the raw format needs a nascore.nn.ModelSpace, got {kind}")
        mutables = dict(model_space.simplify())
        own = _evaluator_mutables(evaluator)
        for label, mutable in own.items():
            seen = mutables.get(label)
            if seen is not None and seen is not mutable and not seen.equals(mutable):
                raise ValueError(f"label {label!r} is used by both the model space ({seen!r}) and the evaluator "
                                 f"({mutable!r}); give one of them another label")
            mutables[label] = mutable
        return cls(model_space, evaluator, mutables, bool(own))

    # ---- Mutable ---------------------------------------------------------------------------------------
    def simplify(self, is_leaf: Optional[Callable[[Mutable], bool]] = None) -> Dict[str, LabeledMutable]:
        if is_leaf is None:
            return dict(self._mutables)
        return Mutable.simplify(self, is_leaf)

    def leaf_mutables(self, is_leaf: Callable[[Mutable], bool]) -> Iterable[Mutable]:
        for mutable in self._mutables.values():
            yield from mutable.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        if not isinstance(sample, dict):
            return SampleValidationError(f"a sample is a dict {{label: value}}, got {type(sample).__name__}")
        for mutable in self._mutables.values():
            error = mutable.check_contains(sample)
            if error is not None:
                return error
        return None

    def freeze(self, sample: Sample) -> "RawModelSpace":
        """Validate ``sample`` (a :class:`SampleValidationError` names the offending label) and return the
        frozen model."""
        error = self.check_contains(sample)
        if error is not None:
            raise error
        return self._freeze(sample)

    def _freeze(self, sample: Sample) -> "RawModelSpace":
        evaluator = self.evaluator
        if self._evaluator_has_mutables and hasattr(evaluator, "freeze"):
            evaluator = evaluator.freeze(sample)
        # Shares the space and the mutables dict: a frozen model costs little more than its sample.
        frozen = RawModelSpace(self.model_space, evaluator, self._mutables)
        return self._mark_frozen(frozen, sample)

    # ---- a frozen model ------------------------------------------------------------------------------
    def executable_model(self) -> Any:
        """The plain module for this sample: ``model_space.freeze(sample)``, built on first call and cached.
        It starts from the space's current weights."""
        if self.sample is None:
            raise RuntimeError("executable_model() needs a frozen model; call space.freeze(sample) first")
        if self._model is None:
            self._model = self.model_space.freeze(self.sample)
        return self._model

    def to_payload(self) -> Dict[str, Any]:
        raise NotSerializableError(_NOT_SERIALIZABLE)

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "RawModelSpace":
        raise NotSerializableError(_NOT_SERIALIZABLE)
