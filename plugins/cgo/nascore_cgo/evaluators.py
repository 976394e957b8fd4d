"""Which evaluators CGO can merge, and the multi-model evaluators a merged trial runs.

A model can join a merged trial when its evaluator is a :class:`nascore.evaluator.Classification` or
:class:`~nascore.evaluator.Regression` (or a class with a ``cgo_merge_info()`` method returning a
:class:`MergeInfo`). Its settings split three ways, compared by value (JSON of the evaluator's recorded
arguments), never by object identity:

* per model: criterion, learning rate, weight decay, optimizer, number of classes;
* the training loop (``trial_key``): evaluator kind, ``max_epochs`` and the other Trainer arguments -- only
  models with the same loop share a trial;
* the data (``data_key``): train/val dataloaders or datamodule -- what ``dedup_input`` reads once.
"""
from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from nascore.evaluator import Evaluator
from nascore.trace import to_json_reference
from nascore.seeding import seed_dataloaders
from nascore.trial import get_data_seed, report_final_result, report_intermediate_result

__all__ = ["MergeInfo", "CgoEvaluatorError", "merge_info", "MultiModelClassification", "MultiModelRegression",
           "multi_model_evaluator"]

_PER_MODEL = ("criterion", "learning_rate", "weight_decay", "optimizer", "num_classes")
_DATA = ("train_dataloaders", "val_dataloaders", "datamodule")


class CgoEvaluatorError(ValueError):
    """An evaluator that CGO cannot train together with other models."""


@dataclass
class MergeInfo:
    kind: str                    # "classification" | "regression"
    trial_key: str               # JSON: kind + training loop settings
    data_key: str                # JSON: the data the model reads
    per_model: Dict[str, Any]    # objects: criterion, learning_rate ...
    data: Dict[str, Any]         # objects: train_dataloaders, val_dataloaders, datamodule
    loop: Dict[str, Any]         # objects: max_epochs + Trainer arguments


def _key(values: Dict[str, Any], what: str) -> str:
    return json.dumps({k: to_json_reference(v, f"{what} {k}") for k, v in values.items()}, sort_keys=True)


def _bound_arguments(evaluator: Evaluator) -> Dict[str, Any]:
    """The evaluator's constructor arguments with defaults filled in; ``**kwargs`` flattened."""
    signature = inspect.signature(type(evaluator).__init__)
    bound = signature.bind(None, *evaluator.trace_args, **evaluator.trace_kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.pop(next(iter(signature.parameters)))  # self
    for name, param in signature.parameters.items():
        if param.kind is param.VAR_KEYWORD:
            arguments.update(arguments.pop(name, {}) or {})
    return arguments


def _fits_message(evaluator: Any) -> str:
    return (f"execution engine 'cgo' trains several models in one trial, which needs an evaluator it knows how "
            f"to merge: nascore.evaluator.Classification or Regression (or a class with cgo_merge_info()); got "
            f"{type(evaluator).__name__}. Use one of those, or run this evaluator with execution engine 'ts'")


def merge_info(evaluator: Any) -> MergeInfo:
    """How ``evaluator`` splits into per-model, loop and data settings; :class:`CgoEvaluatorError` if it
    cannot be merged (the message says what fits)."""
    custom = getattr(evaluator, "cgo_merge_info", None)
    if callable(custom):
        return custom()
    from nascore.evaluator.classification import Classification, Regression
    if isinstance(evaluator, Classification):
        kind = "classification"
    elif isinstance(evaluator, Regression):
        kind = "regression"
    else:
        raise CgoEvaluatorError(_fits_message(evaluator))
    arguments = _bound_arguments(evaluator)
    if arguments.get("export_onnx"):
        raise CgoEvaluatorError(f"{type(evaluator).__name__}(export_onnx=...) exports one model per trial and "
                                "cannot be merged by execution engine 'cgo'; drop export_onnx or use engine 'ts'")
    per_model = {k: arguments.pop(k) for k in _PER_MODEL if k in arguments}
    arguments.pop("export_onnx", None)
    data = {k: arguments.pop(k, None) for k in _DATA}
    loop = arguments  # max_epochs and the Trainer arguments
    try:
        trial_key = json.dumps({"kind": kind, "loop": json.loads(_key(loop, "evaluator argument"))}, sort_keys=True)
        data_key = _key(data, "evaluator argument")
    except TypeError as exc:
        raise CgoEvaluatorError(f"execution engine 'cgo' compares evaluators by value, and this one cannot be "
                                f"described as JSON: {exc}") from exc
    return MergeInfo(kind, trial_key, data_key, per_model, data, loop)


# ---- the evaluators of a merged trial ---------------------------------------------------------------------

class _MultiModelSupervised(Evaluator):
    kind = ""

    def __init__(self, models: List[Dict[str, Any]], inputs: List[Dict[str, Any]], model_inputs: List[int],
                 max_epochs: int = 10, **trainer_kwargs: Any) -> None:
        if len(models) != len(model_inputs):
            raise ValueError(f"{len(models)} model settings but {len(model_inputs)} model inputs")
        if any(not 0 <= i < len(inputs) for i in model_inputs):
            raise ValueError(f"model_inputs {model_inputs} must index the {len(inputs)} input pipeline(s)")
        self.models = models
        self.inputs = inputs
        self.model_inputs = model_inputs
        self.max_epochs = max_epochs
        self.trainer_kwargs = trainer_kwargs

    def _loaders(self) -> tuple:
        train, val = [], []
        for pipeline in self.inputs:
            datamodule = pipeline.get("datamodule")
            if datamodule is not None:
                datamodule.setup("fit")
                train.append(datamodule.train_dataloader())
                val.append(datamodule.val_dataloader())
            else:
                train.append(pipeline["train_dataloaders"])
                val.append(pipeline.get("val_dataloaders"))
        return train, (val if all(v is not None for v in val) else None)

    def evaluate(self, model: Any) -> Dict[str, Any]:
        """Train the merged ``model``; report ``{"default": mean, "per_model": [...]}`` per epoch and at the end."""
        import pytorch_lightning as pl

        from nascore.evaluator.lightning import quiet_lightning

        from .lightning import MultiModelLightningModule, MultiModelTrainer, ZipLoader
        self._require_frozen()
        module = MultiModelLightningModule(self.kind, self.models, self.model_inputs)
        module.set_model(model)
        device = getattr(model, "input_device", "cpu")
        trainer = MultiModelTrainer(device=device, max_epochs=self.max_epochs, **self.trainer_kwargs)
        reported: List[Optional[List[float]]] = [None]

        class _Report(pl.Callback):
            def on_validation_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
                if trainer.sanity_checking or pl_module.last_metrics is None:
                    return
                reported[0] = list(pl_module.last_metrics)
                report_intermediate_result(_combined(reported[0]))

        trainer.callbacks.append(_Report())
        train, val = self._loaders()
        seed_dataloaders([train, val], get_data_seed())  # the batches each model gets alone
        with quiet_lightning():
            trainer.fit(module, ZipLoader(train), ZipLoader(val) if val is not None else None)
        if reported[0] is None:
            raise RuntimeError("the merged trial ran no validation, so no model has a metric; give "
                               "val_dataloaders to the evaluator")
        final = _combined(reported[0])
        report_final_result(final)
        return final


def _combined(values: List[float]) -> Dict[str, Any]:
    finite = [v for v in values if v == v]
    return {"default": sum(finite) / len(finite) if finite else float("nan"), "per_model": list(values)}


class MultiModelClassification(_MultiModelSupervised):
    """Classification of several models in one trial: one accuracy per model (``per_model``)."""

    kind = "classification"


class MultiModelRegression(_MultiModelSupervised):
    """Regression of several models in one trial: one validation MSE per model (``per_model``)."""

    kind = "regression"


def multi_model_evaluator(infos: List[MergeInfo], inputs: List[Dict[str, Any]],
                          model_inputs: List[int]) -> _MultiModelSupervised:
    """The evaluator training models described by ``infos`` (all of the same ``trial_key``)."""
    if len({info.trial_key for info in infos}) != 1:
        raise ValueError("models with different training loops cannot share a merged trial")
    cls = MultiModelClassification if infos[0].kind == "classification" else MultiModelRegression
    loop = dict(infos[0].loop)
    max_epochs = loop.pop("max_epochs", 10)
    return cls([dict(info.per_model) for info in infos], inputs, model_inputs, max_epochs=max_epochs, **loop)
