"""SupernetData: what supernet training needs from an evaluator (loaders, loss, metric, optimiser settings)."""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Tuple

import torch
import torch.nn as nn

__all__ = ["SupernetData", "METRICS", "bilevel_batches", "device_for", "evaluate_module"]

METRICS = {"accuracy": "maximize", "mse": "minimize"}


@dataclass
class SupernetData:
    """Plain-torch training settings. ``metric`` is ``"accuracy"`` (higher is better) or ``"mse"`` (lower)."""

    train_loader: Any
    val_loader: Any = None
    criterion: Any = nn.CrossEntropyLoss
    metric: str = "accuracy"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    optimizer: Callable[..., torch.optim.Optimizer] = torch.optim.Adam
    max_epochs: int = 10
    device: Optional[str] = None  # where the supernet trains; None: where the space's weights already are

    def __post_init__(self) -> None:
        if self.train_loader is None:
            raise ValueError("one-shot training needs training data: give the evaluator train_dataloaders")
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {sorted(METRICS)}, got {self.metric!r}")
        if isinstance(self.criterion, type):
            self.criterion = self.criterion()

    @property
    def direction(self) -> str:
        return METRICS[self.metric]

    def better(self, a: Optional[float], b: Optional[float]) -> bool:
        """Whether metric ``a`` beats ``b`` (None loses)."""
        if a is None:
            return False
        if b is None:
            return True
        return a > b if self.direction == "maximize" else a < b

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.criterion(_shape(output, target, self.metric), target)

    @classmethod
    def from_evaluator(cls, evaluator: Any) -> "SupernetData":
        """Read the settings of a ``nascore.evaluator.Classification`` / ``Regression`` (or anything with
        the same attributes: ``train_dataloaders``, ``val_dataloaders``, ``criterion``, ``learning_rate``,
        ``weight_decay``, ``optimizer``, ``max_epochs``)."""
        if isinstance(evaluator, SupernetData):
            return evaluator
        if evaluator is None or getattr(evaluator, "train_dataloaders", None) is None:
            if getattr(evaluator, "datamodule", None) is not None:
                dm = evaluator.datamodule
                dm.setup("fit") if hasattr(dm, "setup") else None
                train, val = dm.train_dataloader(), dm.val_dataloader()
            else:
                raise TypeError(f"one-shot strategies train the supernet themselves and read the data from a "
                                f"Classification/Regression evaluator with train_dataloaders; got "
                                f"{type(evaluator).__name__}")
        else:
            train, val = evaluator.train_dataloaders, getattr(evaluator, "val_dataloaders", None)
        metric = "mse" if _is_regression(evaluator) else "accuracy"
        return cls(train_loader=train, val_loader=val,
                   criterion=getattr(evaluator, "criterion", nn.MSELoss if metric == "mse" else nn.CrossEntropyLoss),
                   metric=metric, learning_rate=getattr(evaluator, "learning_rate", 1e-3),
                   weight_decay=getattr(evaluator, "weight_decay", 0.0),
                   optimizer=getattr(evaluator, "optimizer", torch.optim.Adam),
                   max_epochs=getattr(evaluator, "max_epochs", 10),
                   device=device_for((getattr(evaluator, "trainer_kwargs", None) or {}).get("accelerator")))


def device_for(accelerator: Any) -> Optional[str]:
    """The device a Lightning ``accelerator`` setting means for supernet training (Lightning's default is
    ``"auto"``: the GPU when there is one, as a multi-trial candidate would get)."""
    name = "auto" if accelerator is None else str(accelerator).lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else None
    if name == "cpu":
        return "cpu"
    if name in ("gpu", "cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"the evaluator asks for accelerator={accelerator!r} but torch sees no CUDA device "
                             f"here; use accelerator='cpu' or 'auto'")
        return "cuda"
    raise ValueError(f"one-shot strategies train on 'cpu' or 'gpu' (or 'auto'); the evaluator asks for "
                     f"accelerator={accelerator!r}")


def _is_regression(evaluator: Any) -> bool:
    # look the class up only if its module is loaded: it cannot be a Regression otherwise, and importing it
    # would pull in pytorch-lightning for nothing
    module = sys.modules.get("nascore.evaluator.classification")
    return module is not None and isinstance(evaluator, module.Regression)


def _shape(output: torch.Tensor, target: torch.Tensor, metric: str) -> torch.Tensor:
    # like the Regression evaluator: a (N, 1) prediction for (N,) targets
    if metric == "mse" and output.dim() == target.dim() + 1 and output.shape[-1] == 1:
        return output.squeeze(-1)
    return output


@torch.no_grad()
def evaluate_module(module: nn.Module, loader: Any, data: SupernetData, channels_last: bool = False) -> float:
    """Accuracy or mean squared error of ``module`` over ``loader`` (eval mode, restored afterwards);
    ``channels_last`` converts 4-D batches to NHWC."""
    was_training = module.training
    module.eval()
    total, score, device = 0, 0.0, _device(module)
    try:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            if channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            out = _shape(module(x), y, data.metric)
            if data.metric == "accuracy":
                score += float((out.argmax(-1) == y).sum())
            else:
                score += float(((out - y.to(out.dtype)) ** 2).mean()) * len(y)
            total += len(y)
    finally:
        module.train(was_training)
    if total == 0:
        raise ValueError("the validation loader is empty")
    return score / total


def _device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def bilevel_batches(train_loader: Any, val_loader: Any) -> Iterator[Tuple[Any, Any]]:
    """``(training batch, validation batch)`` pairs for one DARTS epoch: one pair per training batch, the
    validation loader cycled as often as needed; without one, odd training batches serve as validation."""
    if val_loader is None:
        it = iter(train_loader)
        for train_batch in it:
            yield train_batch, next(it, None)
        return
    val = None
    for batch in train_loader:
        if val is None:
            val = _split_batches(_cycle(val_loader), _batch_size(batch))
        yield batch, next(val)


def _batch_size(batch: Any) -> Optional[int]:
    x, y = batch
    return len(y) if isinstance(y, torch.Tensor) and y.dim() > 0 else None


def _split_batches(batches: Iterator[Any], size: Optional[int]) -> Iterator[Any]:
    """``(x, y)`` batches cut into pieces of at most ``size`` examples. DARTS takes its architecture steps on
    validation batches as large as the training batches (as in the paper): a validation loader built with
    a large evaluation batch would otherwise make every architecture step that much costlier."""
    for batch in batches:
        x, y = batch
        if size is None or not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)) or len(y) <= size \
                or len(x) != len(y):
            yield batch
        else:
            yield from zip(x.split(size), y.split(size))


def _cycle(loader: Any) -> Iterator[Any]:
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("the validation loader is empty")
