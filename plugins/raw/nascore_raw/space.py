"""The ``raw`` model format: the user's model space object itself, weights included, in this process only.

Freezing is cheap: a frozen model only records the sample and shares the space; the structural copy
(``space.freeze(sample)``) happens in ``executable_model()``, once. One-shot strategies read ``model_space``.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

from nascore.mutable import LabeledMutable, Mutable, Sample
from nascore.space import ExecutableModelSpace, NotSerializableError

__all__ = ["RawModelSpace"]

FORMAT = "raw"
_NOT_SERIALIZABLE = ("model format 'raw' keeps models in this process (they share the model space object and its "
                     "weights), so they cannot be sent to a trial process; use execution engine 'sequential', or "
                     "model format 'simplified' or 'graph' with a training service")


class RawModelSpace(ExecutableModelSpace):
    """Wraps a model space (a ``nascore.nn.ModelSpace`` or other mutable ``nn.Module``) without copying it."""

    format_name = FORMAT

    def __init__(self, model_space: Any, evaluator: Any = None,
                 mutables: Optional[Dict[str, LabeledMutable]] = None):
        super().__init__(evaluator, self.collect_mutables(model_space, evaluator) if mutables is None else mutables)
        self.model_space = model_space
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
        space = cls(model_space, evaluator)
        space.keep_structure(model_space)
        return space

    def _freeze(self, sample: Sample) -> "RawModelSpace":
        # Shares the space and the mutables dict: a frozen model costs little more than its sample.
        frozen = RawModelSpace(self.model_space, self.frozen_evaluator(sample), self.mutables)
        return self.mark_frozen(frozen, sample)

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
