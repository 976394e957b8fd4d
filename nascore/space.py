"""What every model format implements: ``ExecutableModelSpace``, its status and its metrics."""
from __future__ import annotations

import math
import numbers
from enum import Enum
from typing import Any, ClassVar, Dict, List, Optional, Union

from nascore.mutable import LabeledMutable, Mutable, Sample, SampleValidationError

__all__ = ["ModelStatus", "Metrics", "ExecutableModelSpace", "metric_value", "NotSerializableError"]

MetricType = Union[float, int, Dict[str, Any]]


class NotSerializableError(TypeError):
    """The model format keeps its models in this process; they cannot be sent to a trial elsewhere."""


class ModelStatus(str, Enum):
    """Initialized → Frozen → Training → Trained | Failed | Interrupted | Invalid | EarlyStopped.

    EarlyStopped: an early stopper ended the trial on purpose; it keeps its intermediate metrics, counts as a
    result (never re-run) and is ranked by its best intermediate metric."""

    Initialized = "initialized"
    Frozen = "frozen"
    Training = "training"
    Trained = "trained"
    Failed = "failed"
    Interrupted = "interrupted"
    Invalid = "invalid"
    EarlyStopped = "early_stopped"

    def frozen(self) -> bool:
        return self is not ModelStatus.Initialized

    def completed(self) -> bool:
        return self in (ModelStatus.Trained, ModelStatus.Failed, ModelStatus.Interrupted, ModelStatus.Invalid,
                        ModelStatus.EarlyStopped)


def metric_value(metric: Optional[MetricType]) -> Optional[float]:
    """The number a strategy compares: the metric itself, or its ``"default"`` entry when it is a dict."""
    if metric is None:
        return None
    if isinstance(metric, dict):
        metric = metric.get("default")
        if metric is None:
            return None
    value = float(metric)
    return None if math.isnan(value) else value


def _as_number(value: Any) -> Optional[Union[int, float]]:
    """A plain int/float for a real number (numpy scalars included); None for anything else (bools too)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _describe(value: Any) -> str:
    kind = type(value)
    text = f"{value!r}"
    return f"{text[:60]}{'...' if len(text) > 60 else ''} ({kind.__module__}.{kind.__qualname__})" \
        if kind.__module__ != "builtins" else f"{text[:60]} ({kind.__name__})"


def _check_metric(metric: Any) -> MetricType:
    """``metric`` as plain JSON numbers (numpy scalars converted), or a ``TypeError`` saying what was given and
    what to report instead. NaN and infinity pass here; a *final* metric must be finite (the experiment fails
    a trial whose final metric is not)."""
    number = _as_number(metric)
    if number is not None:
        return number
    if isinstance(metric, dict):
        # named metrics: the evaluator's own metric is read by its name (or the "default" entry)
        if "default" in metric and _as_number(metric["default"]) is None:
            raise TypeError(f"the 'default' entry of a dict metric must be a number, got {_describe(metric)}")
        if not any(_as_number(value) is not None for value in metric.values()):
            raise TypeError(f"a dict metric holds named numbers, e.g. {{'val_acc': 0.9, 'latency_ms': 3.1}}; got "
                            f"{_describe(metric)}")
        return {key: (value if _as_number(value) is None else _as_number(value)) for key, value in metric.items()}
    hint = ""
    if hasattr(metric, "item") and callable(metric.item):
        hint = "; report a Python number, e.g. value.item()"
    elif isinstance(metric, str):
        hint = "; report the number itself, e.g. float(text)"
    elif metric is None:
        hint = "; report the value the model scored"
    raise TypeError(f"a metric is a number or a dict of named numbers, got {_describe(metric)}{hint}")


class Metrics:
    """Intermediate metrics (in reporting order) and the final metric of one model, plus its ``profile``: costs
    measured without training (``{"params": ..., "flops": ...}``, see :mod:`nascore.profilers`)."""

    def __init__(self) -> None:
        self.intermediates: List[MetricType] = []
        self._final: Optional[MetricType] = None
        self.profile: Dict[str, float] = {}

    def add_intermediate(self, metric: MetricType) -> None:
        self.intermediates.append(_check_metric(metric))

    @property
    def final(self) -> Optional[MetricType]:
        return self._final

    @final.setter
    def final(self, metric: Optional[MetricType]) -> None:
        self._final = None if metric is None else _check_metric(metric)

    def clear(self) -> None:
        """Forget what training reported (the profile describes the architecture and stays)."""
        self.intermediates.clear()
        self._final = None

    def to_json(self) -> Dict[str, Any]:
        data: Dict[str, Any] = {"intermediates": list(self.intermediates), "final": self._final}
        if self.profile:
            data["profile"] = dict(self.profile)
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Metrics":
        metrics = cls()
        metrics.intermediates = list(data.get("intermediates", []))
        metrics._final = data.get("final")
        metrics.profile = dict(data.get("profile") or {})
        return metrics

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Metrics) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        profile = f", profile={self.profile}" if self.profile else ""
        return f"Metrics(intermediates={self.intermediates}, final={self._final}{profile})"


class ExecutableModelSpace(Mutable):
    """A model space converted to one model format, or (once frozen) one concrete model of it.

    It is a :class:`~nascore.mutable.Mutable`, so strategies use ``simplify()``, ``random()``, ``grid()``,
    ``default()`` and ``freeze(sample)`` on it; the result of a freeze is another ``ExecutableModelSpace``
    with ``status`` Frozen and ``sample`` set. The base keeps the choices (``collect_mutables`` builds them
    from the model space and the evaluator) and validates samples; a format implements ``from_model``,
    ``_freeze`` (the override point ``freeze`` calls after validating; it returns ``self.mark_frozen(copy,
    sample)`` with the copy sharing :attr:`mutables`), ``executable_model`` and, when its models can leave this
    process, ``to_payload`` / ``from_payload``.
    """

    #: the registered format name (``"simplified"``, ``"raw"``, ``"graph"`` ...)
    format_name: ClassVar[str] = ""

    def __init__(self, evaluator: Any = None, mutables: Optional[Dict[str, LabeledMutable]] = None) -> None:
        self.evaluator = evaluator
        # every labelled choice of the space and of its evaluator; shared (not copied) by frozen models
        self._mutables: Dict[str, LabeledMutable] = mutables if mutables is not None else {}
        self.sample: Optional[Sample] = None
        self.status = ModelStatus.Initialized
        self.metrics = Metrics()
        #: set by the experiment when the model is recorded in the store
        self.model_id: Optional[int] = None
        #: why the model failed (an exception summary), when it did
        self.failure_reason: Optional[str] = None
        #: where the trial saves the trained ``state_dict`` (set by the experiment; None: not kept)
        self.weights_path: Optional[str] = None
        #: the trial's random seed (set by the experiment from its ``seed``; None: not seeded)
        self.seed: Optional[int] = None
        #: the seed of the trial's data order, the same for every model of the experiment (None: not seeded)
        self.data_seed: Optional[int] = None

    # ---- what a format implements ---------------------------------------------------------------
    @classmethod
    def from_model(cls, model_space: Any, evaluator: Any = None, config: Any = None) -> "ExecutableModelSpace":
        """Convert a user's model space (an ``nn.Module``, usually a ``ModelSpace``) into this format."""
        raise NotImplementedError

    def _freeze(self, sample: Sample) -> "ExecutableModelSpace":
        """Return the frozen model for an already validated ``sample`` (status Frozen, see ``_mark_frozen``).
        Formats implement this; ``freeze`` validates first."""
        if type(self).freeze is not ExecutableModelSpace.freeze:  # a format that overrides freeze() instead
            return self.freeze(sample)
        raise NotImplementedError(f"{type(self).__name__} must implement _freeze(sample)")

    def executable_model(self) -> Any:
        """The concrete PyTorch module of a frozen model (built lazily where the format allows)."""
        raise NotImplementedError

    def to_payload(self) -> Dict[str, Any]:
        """A JSON-serialisable description of a frozen model, enough to rebuild it in a trial process."""
        raise NotSerializableError(f"model format '{self.format_name}' cannot be serialized")

    @classmethod
    def from_payload(cls, payload: Dict[str, Any]) -> "ExecutableModelSpace":
        """Rebuild a frozen model from :meth:`to_payload`'s JSON (in a trial process); formats that cannot leave this
        process raise NotSerializableError.
        """
        raise NotSerializableError(f"model format '{cls.format_name}' cannot be deserialized")

    def save_weights(self, module: Any) -> None:
        """Save the trained ``module``'s ``state_dict`` to :attr:`weights_path` (nothing when unset). Called in
        the trial once the evaluator returns; a format whose trial trains several models at once overrides it."""
        if self.weights_path:
            from nascore.weights import save_state_dict
            save_state_dict(module, self.weights_path)

    # ---- shared behaviour -----------------------------------------------------------------------------
    @staticmethod
    def collect_mutables(*sources: Any) -> Dict[str, LabeledMutable]:
        """Merge the ``simplify()`` of each source (model space, evaluator, mutators...; None is skipped) into
        one ``{label: mutable}``. A label two sources use for different choices is an error naming it."""
        merged: Dict[str, LabeledMutable] = {}
        for source in sources:
            simplify = getattr(source, "simplify", None)
            if source is None or not callable(simplify):
                continue
            for label, mutable in simplify().items():
                seen = merged.get(label)
                if seen is not None and seen is not mutable and not seen.equals(mutable):
                    raise ValueError(f"label {label!r} names two different choices ({seen!r} in one part of the "
                                     f"experiment, {mutable!r} in {type(source).__name__}); rename one of them")
                merged[label] = mutable
        return merged

    @property
    def mutables(self) -> Dict[str, LabeledMutable]:
        """``{label: mutable}`` of the space and its evaluator (shared with the frozen models: do not modify);
        a format passes it on to the models it freezes."""
        return self._mutables

    def simplify(self, is_leaf=None) -> Dict[str, LabeledMutable]:
        """Every labelled choice of the model space *and* the evaluator, keyed by label."""
        return dict(self._mutables) if is_leaf is None else Mutable.simplify(self, is_leaf)

    def leaf_mutables(self, is_leaf=None):
        """The leaf mutables of the space (what a sample gives values to)."""
        for mutable in self._mutables.values():
            yield from mutable.leaf_mutables(is_leaf)

    def check_contains(self, sample: Sample) -> Optional[SampleValidationError]:
        """None when ``sample`` is a valid sample of this space, else the SampleValidationError saying why not."""
        if not isinstance(sample, dict):
            return SampleValidationError(f"a sample is a dict {{label: value}}, got {type(sample).__name__}")
        for mutable in self._mutables.values():
            error = mutable.check_contains(sample)
            if error is not None:
                return error
        return None

    def freeze(self, sample: Sample) -> "ExecutableModelSpace":
        """Validate ``sample`` (a :class:`SampleValidationError` names the bad label) and return a frozen
        copy (status Frozen) that can be trained. Its ``sample`` is :meth:`canonical_sample` of ``sample``:
        the same network, with the choices it does not use at their defaults."""
        self.validate(sample)
        return self._freeze(self.canonical_sample(sample))

    def keep_structure(self, model_space: Any) -> None:
        """Remember the user's module tree ``model_space`` so :meth:`canonical_sample` can see which choices a
        sample leaves unused (formats call this in ``from_model``; the experiment does for every format)."""
        self.__dict__["_structure"] = model_space

    def canonical_sample(self, sample: Sample) -> Sample:
        """``sample`` with the choices that cannot change the built model — ops of ``Repeat`` blocks beyond the
        sampled depth, choices inside ``LayerChoice`` candidates not chosen — at their default values, so one
        architecture has one sample. A model space with a ``canonical_sample(sample)`` method of its own (e.g. one
        whose isomorphic graphs are one network) decides instead. Unchanged when the structure is unknown or the
        result breaks a constraint."""
        structure = self.__dict__.get("_structure")
        if structure is None or not isinstance(sample, dict):
            return sample
        own = getattr(structure, "canonical_sample", None)  # a space that knows its own equivalences says so
        if callable(own):
            canonical = own(sample)
        else:
            from nascore.nn.canonical import canonical_sample  # torch: only where a module tree exists
            canonical = canonical_sample(structure, sample)
        return canonical if canonical == sample or self.check_contains(canonical) is None else sample

    def frozen_evaluator(self, sample: Sample) -> Any:
        """The evaluator with its own choices (if any) taken from ``sample``."""
        freeze = getattr(self.evaluator, "freeze", None)
        return freeze(sample) if callable(freeze) else self.evaluator

    def mark_frozen(self, frozen: "ExecutableModelSpace", sample: Sample) -> "ExecutableModelSpace":
        """Helper for ``_freeze`` implementations: record ``sample`` on ``frozen`` and set its status Frozen."""
        frozen.sample = dict(sample)
        frozen.status = ModelStatus.Frozen
        return frozen

    _mark_frozen = mark_frozen  # its former, private name

    @property
    def metric(self) -> Optional[float]:
        """The final metric as a number (None when missing or NaN)."""
        return metric_value(self.metrics.final)

    def __repr__(self) -> str:
        ident = f"#{self.model_id} " if self.model_id is not None else ""
        return f"<{type(self).__name__} {ident}{self.status.value} sample={self.sample}>"
