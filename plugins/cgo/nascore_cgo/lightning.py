"""Training several models in one Lightning loop: ``MultiModelLightningModule`` and ``MultiModelTrainer``.

The merged module (see :mod:`nascore_cgo.merged`) takes one tensor per input pipeline and returns one output
per model. Each model has its own criterion, metric and optimizer; every batch does one optimizer step per
model. The trainer keeps each model on the device it was placed on (Lightning would move the whole module to
one device) and moves batches to the merged module's input device.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Type, Union

import pytorch_lightning as pl
import torch
import torchmetrics
from pytorch_lightning.strategies import SingleDeviceStrategy
from torch import nn

from nascore.evaluator.lightning import QuietTrainer

__all__ = ["MultiModelLightningModule", "MultiModelTrainer", "KeepPlacementStrategy", "ZipLoader"]


class ZipLoader:
    """Iterates several loaders in lock step, yielding a tuple with one batch of each (stops at the shortest).

    With ``dedup_input`` a merged trial usually has one loader, so each batch is read and preprocessed once.
    """

    def __init__(self, loaders: Sequence[Any]) -> None:
        if not loaders:
            raise ValueError("ZipLoader needs at least one loader")
        self.loaders = list(loaders)

    def __iter__(self) -> Iterator[tuple]:
        # a generator, so iter() starts no loader: Lightning calls iter() once to check the loader is iterable,
        # and an eager zip would make each loader draw one extra seed (the data order of a model trained alone)
        yield from zip(*self.loaders)

    def __len__(self) -> int:
        return min(len(loader) for loader in self.loaders)


class KeepPlacementStrategy(SingleDeviceStrategy):
    """Single-process strategy that does not move the model: each sub-model stays on its own device."""

    def model_to_device(self) -> None:
        pass

    def teardown(self) -> None:
        # Strategy.teardown moves the whole module and optimizer state to the CPU after fit; a merged model must
        # keep its placement (the trial process frees the devices when it ends).
        self.precision_plugin.teardown()
        assert self.accelerator is not None
        self.accelerator.teardown()
        self.checkpoint_io.teardown()


class MultiModelTrainer(QuietTrainer):
    """A quiet Lightning trainer for merged models. ``device`` is where batches go (the merged module's input
    device); every other Lightning ``Trainer`` argument is accepted."""

    def __init__(self, device: Union[str, torch.device] = "cpu", **kwargs: Any) -> None:
        device = torch.device(device)
        kwargs.setdefault("accelerator", "cuda" if device.type == "cuda" else device.type)
        kwargs.setdefault("strategy", KeepPlacementStrategy(device=device))
        super().__init__(**kwargs)


_METRICS: Dict[str, str] = {"classification": "val_acc", "regression": "val_mse"}


class MultiModelLightningModule(pl.LightningModule):
    """Trains the models of a merged module side by side.

    ``kind`` is ``"classification"`` (metric: accuracy) or ``"regression"`` (metric: mean squared error).
    ``models`` holds one dict per model: ``criterion`` (class or instance), ``learning_rate``,
    ``weight_decay``, ``optimizer`` (a ``torch.optim`` class) and, for classification, ``num_classes``.
    ``model_inputs[i]`` is the input pipeline whose targets model ``i`` learns from.
    After each validation epoch :attr:`last_metrics` holds one value per model.
    """

    def __init__(self, kind: str, models: List[Dict[str, Any]], model_inputs: List[int]) -> None:
        super().__init__()
        if kind not in _METRICS:
            raise ValueError(f"kind must be one of {sorted(_METRICS)}, got {kind!r}")
        if len(models) != len(model_inputs):
            raise ValueError(f"{len(models)} model settings but {len(model_inputs)} model inputs")
        self.kind = kind
        self.default_metric = _METRICS[kind]
        self.settings = [dict(m) for m in models]
        self.model_inputs = list(model_inputs)
        self.criteria = [self._criterion(m.get("criterion")) for m in self.settings]
        self.model: Optional[nn.Module] = None
        self.automatic_optimization = False  # one step per model, each with its own optimizer
        self._metrics: List[Optional[torchmetrics.Metric]] = [None] * len(models)
        self.last_metrics: Optional[List[float]] = None

    def _criterion(self, criterion: Union[None, Type[nn.Module], nn.Module]) -> nn.Module:
        if criterion is None:
            criterion = nn.CrossEntropyLoss if self.kind == "classification" else nn.MSELoss
        return criterion() if isinstance(criterion, type) else criterion

    def set_model(self, model: nn.Module) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"set_model() needs a torch.nn.Module, got {type(model).__name__}")
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> tuple:
        if self.model is None:
            raise RuntimeError("MultiModelLightningModule has no model; call set_model(merged) first")
        return tuple(self.model(*inputs))

    # ---- per-model pieces ----------------------------------------------------------------------------
    def _shape(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.kind == "regression" and output.dim() == target.dim() + 1 and output.shape[-1] == 1:
            return output.squeeze(-1)  # a Linear(k, 1) head predicts (N, 1) for (N,) targets
        return output

    def _make_metric(self, index: int, output: torch.Tensor) -> torchmetrics.Metric:
        if self.kind == "classification":
            num_classes = self.settings[index].get("num_classes") or output.shape[-1]
            metric = torchmetrics.classification.MulticlassAccuracy(num_classes=num_classes, average="micro")
        else:
            metric = torchmetrics.MeanSquaredError()
        return metric.to(output.device)

    def _outputs(self, batch: Sequence[Any]) -> List[tuple]:
        """``(output, target)`` per model, the target on the output's device."""
        outputs = self(*[b[0] for b in batch])
        pairs = []
        for i, output in enumerate(outputs):
            target = batch[self.model_inputs[i]][1].to(output.device, non_blocking=True)
            pairs.append((self._shape(output, target), target))
        return pairs

    # ---- Lightning hooks ---------------------------------------------------------------------------------
    def training_step(self, batch: Sequence[Any], batch_idx: int) -> None:
        optimizers = self.optimizers()
        optimizers = optimizers if isinstance(optimizers, list) else [optimizers]
        losses = [criterion(output, target) for criterion, (output, target)
                  in zip(self.criteria, self._outputs(batch))]
        for optimizer in optimizers:
            optimizer.zero_grad()
        # Models share no parameters, so the gradient of the sum is each model's own gradient: one backward
        # pass through the merged graph instead of one per model.
        self.manual_backward(sum(loss.to(losses[0].device) for loss in losses))
        for optimizer in optimizers:
            optimizer.step()

    def validation_step(self, batch: Sequence[Any], batch_idx: int) -> None:
        for i, (output, target) in enumerate(self._outputs(batch)):
            if self._metrics[i] is None:
                self._metrics[i] = self._make_metric(i, output)
            self._metrics[i].update(output, target)

    def on_validation_epoch_end(self) -> None:
        values = []
        for metric in self._metrics:
            if metric is None or not metric.update_count:
                values.append(math.nan)
                continue
            values.append(float(metric.compute()))
            metric.reset()
        self.last_metrics = values

    def configure_optimizers(self) -> List[torch.optim.Optimizer]:
        if self.model is None:
            raise RuntimeError("MultiModelLightningModule has no model; call set_model(merged) first")
        submodels = list(getattr(self.model, "submodels", None) or [])
        if len(submodels) != len(self.settings):
            raise RuntimeError(f"the merged module has {len(submodels)} models, the settings describe "
                               f"{len(self.settings)}")
        optimizers = []
        for submodel, setting in zip(submodels, self.settings):
            factory: Callable[..., torch.optim.Optimizer] = setting.get("optimizer") or torch.optim.Adam
            optimizers.append(factory(submodel.parameters(), lr=setting.get("learning_rate", 1e-3),
                                      weight_decay=setting.get("weight_decay", 0.0)))
        return optimizers
