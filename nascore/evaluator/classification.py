"""Ready-made supervised evaluators: ``Classification`` (reports validation accuracy, higher is better) and
``Regression`` (reports validation mean squared error, lower is better); each declares it as its ``objective``."""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Callable, Optional, Type, Union

import pytorch_lightning as pl
import torch
import torchmetrics
from torch import nn

from nascore.trace import trace

from .lightning import Lightning, LightningModule, Trainer

__all__ = ["SupervisedModule", "ClassificationModule", "RegressionModule", "Classification", "Regression"]


class SupervisedModule(LightningModule):
    """Trains ``self.model`` on ``(x, y)`` batches with ``criterion``; logs ``train_loss``, ``val_loss`` and
    the validation metric named :attr:`default_metric` (computed by :meth:`make_metric`)."""

    def __init__(self, criterion: Union[Type[nn.Module], nn.Module] = nn.MSELoss, learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam
                 ) -> None:
        super().__init__()
        self.criterion = criterion() if isinstance(criterion, type) else criterion
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.optimizer_class = optimizer
        self.val_metric: Optional[torchmetrics.Metric] = None

    def make_metric(self, output: torch.Tensor) -> torchmetrics.Metric:
        raise NotImplementedError

    def shape_output(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return output

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = self.criterion(self.shape_output(self(x), y), y)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        output = self.shape_output(self(x), y)
        self.log("val_loss", self.criterion(output, y), on_step=False, on_epoch=True, batch_size=len(y))
        if self.val_metric is None:  # created lazily: e.g. the number of classes is read from the output
            self.val_metric = self.make_metric(output).to(output.device)
        self.val_metric.update(output, y)

    def on_validation_epoch_end(self) -> None:
        if self.val_metric is not None and self.val_metric.update_count:
            self.log(self.default_metric, self.val_metric.compute())
            self.val_metric.reset()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return self.optimizer_class(self.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)


class ClassificationModule(SupervisedModule):
    default_metric = "val_acc"
    metric_mode = "max"

    def __init__(self, criterion: Union[Type[nn.Module], nn.Module] = nn.CrossEntropyLoss,
                 learning_rate: float = 1e-3, weight_decay: float = 0.0,
                 optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
                 num_classes: Optional[int] = None) -> None:
        super().__init__(criterion, learning_rate, weight_decay, optimizer)
        self.num_classes = num_classes

    def make_metric(self, output: torch.Tensor) -> torchmetrics.Metric:
        num_classes = self.num_classes or output.shape[-1]
        return torchmetrics.classification.MulticlassAccuracy(num_classes=num_classes, average="micro")


class RegressionModule(SupervisedModule):
    default_metric = "val_mse"
    metric_mode = "min"

    def make_metric(self, output: torch.Tensor) -> torchmetrics.Metric:
        return torchmetrics.MeanSquaredError()

    def shape_output(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # a model ending in Linear(k, 1) predicts (N, 1) for (N,) targets
        if output.dim() == target.dim() + 1 and output.shape[-1] == 1:
            return output.squeeze(-1)
        return output


class _Supervised(Lightning):
    """Shared constructor logic: build the module and a quiet trainer from plain arguments."""

    def _setup(self, module_class: type, module_kwargs: dict, train_dataloaders: Any, val_dataloaders: Any,
               datamodule: Any, export_onnx: Union[bool, str], max_epochs: int, trainer_kwargs: dict) -> None:
        if export_onnx and importlib.util.find_spec("onnx") is None:
            raise ImportError("export_onnx needs the 'onnx' package (pip install onnx), or pass export_onnx=False")
        self.export_onnx = export_onnx
        self.max_epochs = max_epochs
        self.trainer_kwargs = trainer_kwargs
        for name, value in module_kwargs.items():
            setattr(self, name, value)
        self.objective = module_class.objective()
        if next(self._mutables(), None) is not None:
            # Choices among the arguments: nothing can be built yet; freeze(sample) gives a usable evaluator.
            self.module = self.trainer = None  # type: ignore[assignment]
            self.train_dataloaders, self.val_dataloaders, self.datamodule = \
                train_dataloaders, val_dataloaders, datamodule
            return
        module = trace(module_class)(**module_kwargs)
        trainer = Trainer(max_epochs=max_epochs, **trainer_kwargs)
        Lightning.__init__(self, module, trainer, train_dataloaders, val_dataloaders, datamodule)

    def _after_fit(self, module: LightningModule, trainer: pl.Trainer) -> None:
        if not self.export_onnx:
            return
        path = self.export_onnx if isinstance(self.export_onnx, str) else \
            os.path.join(trainer.default_root_dir, "model.onnx")
        loader = self.val_dataloaders if self.val_dataloaders is not None else self.train_dataloaders
        if loader is None:
            loader = (self.datamodule.val_dataloader() if self.datamodule is not None else None)
        x = next(iter(loader))[0][:1].to(module.device)
        module.model.eval()
        torch.onnx.export(module.model, (x,), path, dynamo=False)


class Classification(_Supervised):
    """Train a classifier with ``criterion`` (cross entropy) and ``optimizer``; report validation accuracy
    (a float in [0, 1]) after every epoch and after training.

    ``max_epochs`` and any other ``pytorch_lightning.Trainer`` argument (``limit_train_batches``,
    ``accelerator`` ...) configure the quiet :data:`Trainer`. ``num_classes`` defaults to the width of the
    model's output. ``export_onnx`` (True or a path) writes the trained model as ONNX (needs ``onnx``).
    """

    def __init__(self, criterion: Type[nn.Module] = nn.CrossEntropyLoss, learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
                 train_dataloaders: Any = None, val_dataloaders: Any = None, datamodule: Any = None,
                 export_onnx: Union[bool, str] = False, num_classes: Optional[int] = None, max_epochs: int = 10,
                 **trainer_kwargs: Any) -> None:
        self._setup(ClassificationModule,
                    dict(criterion=criterion, learning_rate=learning_rate, weight_decay=weight_decay,
                         optimizer=optimizer, num_classes=num_classes),
                    train_dataloaders, val_dataloaders, datamodule, export_onnx, max_epochs, trainer_kwargs)


class Regression(_Supervised):
    """Train a regressor with ``criterion`` (MSE) and ``optimizer``; report the validation mean squared error
    after every epoch and after training.

    The metric is an error: its objective is ``Objective("val_mse", "min")``, so experiments minimise it without
    any setting. Other arguments as for :class:`Classification`.
    """

    def __init__(self, criterion: Type[nn.Module] = nn.MSELoss, learning_rate: float = 1e-3,
                 weight_decay: float = 0.0, optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam,
                 train_dataloaders: Any = None, val_dataloaders: Any = None, datamodule: Any = None,
                 export_onnx: Union[bool, str] = False, max_epochs: int = 10, **trainer_kwargs: Any) -> None:
        self._setup(RegressionModule,
                    dict(criterion=criterion, learning_rate=learning_rate, weight_decay=weight_decay,
                         optimizer=optimizer),
                    train_dataloaders, val_dataloaders, datamodule, export_onnx, max_epochs, trainer_kwargs)
