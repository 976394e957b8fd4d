"""Evaluators built on PyTorch Lightning: ``Lightning``, its ``LightningModule`` base and a quiet ``Trainer``.

``Lightning(module, trainer, ...)`` trains each model with a fresh copy of ``module`` and ``trainer`` (a
Lightning trainer cannot fit twice), reports the module's ``default_metric`` after every validation epoch as
an intermediate result and its last value after fit as the final result.
"""
from __future__ import annotations

import contextlib
import copy
import logging
import warnings
from typing import Any, Iterator, Optional

import pytorch_lightning as pl
import torch

from nascore.metric import Objective
from nascore.trace import get_trace, trace
from nascore.seeding import seed_dataloaders
from nascore.trial import get_data_seed, report_final_result, report_intermediate_result

from .base import Evaluator

__all__ = ["LightningModule", "Trainer", "QuietTrainer", "Lightning", "quiet_lightning"]

# Lightning's chatter ("GPU available: False ...", "LOCAL_RANK: 0 ...") goes through these loggers at INFO.
_CHATTY_LOGGERS = ("pytorch_lightning.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero",
                   "lightning_fabric.utilities.rank_zero", "pytorch_lightning.accelerators.cuda")
_NOISY_WARNINGS = (r".*does not have many workers.*", r".*smaller than the logging interval.*",
                   r".*The number of training batches.*", r".*isinstance\(treespec, LeafSpec\).*")


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's start-up chatter (info logs, known harmless warnings) inside the block."""
    loggers = [logging.getLogger(name) for name in _CHATTY_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(lg.level, logging.WARNING))
    try:
        with warnings.catch_warnings():
            for pattern in _NOISY_WARNINGS:
                warnings.filterwarnings("ignore", message=pattern)
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


_quiet = quiet_lightning  # former private name


class LightningModule(pl.LightningModule):
    """Base of the Lightning modules used by :class:`Lightning`: holds the model under evaluation.

    Subclasses write ``training_step`` / ``validation_step`` / ``configure_optimizers`` around ``self.model``
    and log the metric to report under the name :attr:`default_metric` (``self.log("val_acc", acc)``). That
    value is reported after each validation epoch and, after fit, as the final metric.
    """

    #: the logged metric reported to nascore (a key of ``trainer.callback_metrics``)
    default_metric: str = "val_loss"
    #: whether higher (``"max"``) or lower (``"min"``) :attr:`default_metric` is better. A subclass that
    #: changes ``default_metric`` and leaves this None gets the direction of a well-known name (loss, mse, mae,
    #: error → min; acc, accuracy, f1, auc, precision, recall, r2 → max) or none at all (see ``objective``)
    metric_mode: Optional[str] = "min"

    @classmethod
    def objective(cls) -> Optional[Objective]:
        """The metric this module reports and its direction; None when neither :attr:`metric_mode` nor a
        well-known name says which direction is better."""
        mode = cls.metric_mode
        if mode is not None and _defined_below(cls, "default_metric", "metric_mode"):
            mode = None  # default_metric was changed below the class that chose metric_mode
        mode = mode or _mode_of_name(cls.default_metric)
        return None if mode is None else Objective(cls.default_metric, mode)

    def __init__(self) -> None:
        super().__init__()
        self.model: Optional[torch.nn.Module] = None

    def set_model(self, model: torch.nn.Module) -> None:
        """Attach the model to train (called by the evaluator before fit)."""
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"set_model() needs a torch.nn.Module, got {type(model).__name__}")
        self.model = model

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if self.model is None:
            raise RuntimeError(f"{type(self).__name__} has no model; call set_model(model) first")
        return self.model(*args, **kwargs)


_MIN_WORDS = ("loss", "mse", "mae", "rmse", "error", "err", "perplexity", "nll")
_MAX_WORDS = ("acc", "accuracy", "f1", "auc", "auroc", "precision", "recall", "r2", "iou", "map", "top1", "top5")


def _mode_of_name(name: str) -> Optional[str]:
    words = set(name.lower().replace("-", "_").replace("/", "_").split("_"))
    if words & set(_MIN_WORDS):
        return "min"
    if words & set(_MAX_WORDS):
        return "max"
    return None


def _defined_below(cls: type, attr: str, than: str) -> bool:
    """Whether ``attr`` is set in a class of ``cls``'s MRO that comes before the one setting ``than``."""
    for klass in cls.__mro__:
        if than in klass.__dict__:
            return False
        if attr in klass.__dict__:
            return True
    return False


class QuietTrainer(pl.Trainer):
    """``pytorch_lightning.Trainer`` with defaults fit for trials: nothing written to the working directory
    (no checkpoints, no logger unless one is given), no progress bar or model summary, one device, no sanity
    validation. Any Lightning ``Trainer`` argument may be passed and overrides these defaults."""

    QUIET_DEFAULTS = {"logger": False, "enable_checkpointing": False, "enable_progress_bar": False,
                      "enable_model_summary": False, "num_sanity_val_steps": 0, "devices": 1}

    def __init__(self, **kwargs: Any) -> None:
        for key, value in self.QUIET_DEFAULTS.items():
            kwargs.setdefault(key, value)
        with quiet_lightning():
            super().__init__(**kwargs)


#: ``QuietTrainer``, traced so an evaluator holding one can be sent to a trial process (``isinstance(x, Trainer)``
#: works). The class keeps its own name so its instances can still be pickled.
Trainer = trace(QuietTrainer)


class _Reporter(pl.Callback):
    """Reports ``metric_name`` after every (non sanity-check) validation run."""

    def __init__(self, metric_name: str) -> None:
        self.metric_name = metric_name
        self.last: Optional[float] = None

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        value = trainer.callback_metrics.get(self.metric_name)
        if value is None:
            return
        self.last = float(value)
        report_intermediate_result(self.last)


def _fresh(obj: Any) -> Any:
    # Rebuild from the recipe when traced (cheap, and exactly what a trial process does); copy otherwise.
    info = get_trace(obj)
    return info.rebuild() if info is not None else copy.deepcopy(obj)


@contextlib.contextmanager
def _seeded_datamodule(datamodule: Any, seed: Optional[int]) -> Iterator[None]:
    """While fitting, the loaders ``datamodule`` makes get the trial's data seed (as given loaders do)."""
    overridden = [] if datamodule is None or seed is None else [
        name for name in ("train_dataloader", "val_dataloader")
        if getattr(type(datamodule), name, None) is not getattr(pl.LightningDataModule, name)]
    for name in overridden:
        make = getattr(datamodule, name)

        def seeded(make: Any = make) -> Any:
            loaders = make()
            seed_dataloaders([loaders], seed)
            return loaders
        setattr(datamodule, name, seeded)  # an instance attribute: the class's method is left alone
    try:
        yield
    finally:
        for name in overridden:
            delattr(datamodule, name)


class Lightning(Evaluator):
    """Train each model with a PyTorch Lightning module and trainer.

    ``module`` is a :class:`LightningModule` (build it as ``nascore.trace(MyModule)(...)`` to send it to trial
    processes); ``trainer`` is a :data:`Trainer` (or any ``nascore.trace(pytorch_lightning.Trainer)(...)``).
    Give ``train_dataloaders`` (and usually ``val_dataloaders``) or a ``datamodule``.
    """

    def __init__(self, module: LightningModule, trainer: pl.Trainer, train_dataloaders: Any = None,
                 val_dataloaders: Any = None, datamodule: Any = None) -> None:
        if not isinstance(module, LightningModule):
            raise TypeError(f"Lightning needs a nascore.evaluator.LightningModule, got {type(module).__name__}; "
                            f"subclass nascore.evaluator.LightningModule and use self.model")
        if not isinstance(trainer, pl.Trainer) or get_trace(trainer) is None:
            raise TypeError("Lightning needs a trainer built as nascore.evaluator.Trainer(...) (or "
                            "nascore.trace(pytorch_lightning.Trainer)(...)): each model gets a fresh trainer made "
                            f"the same way, got {type(trainer).__name__} built without nascore.trace")
        if train_dataloaders is None and datamodule is None:
            raise ValueError("Lightning needs train_dataloaders or a datamodule")
        if datamodule is not None and (train_dataloaders is not None or val_dataloaders is not None):
            raise ValueError("give either a datamodule or train/val dataloaders to Lightning, not both")
        self.module = module
        self.trainer = trainer
        self.objective = type(module).objective()
        if self.objective is None:
            logging.getLogger(__name__).warning(
                "%s reports %r but does not say whether higher or lower is better; set metric_mode = 'max' or "
                "'min' on the class (until then the experiment maximises it, or follows metric_direction)",
                type(module).__name__, module.default_metric)
        self.train_dataloaders = train_dataloaders
        self.val_dataloaders = val_dataloaders
        self.datamodule = datamodule

    def evaluate(self, model: torch.nn.Module) -> Optional[float]:
        self._require_frozen()
        module, trainer = self._prepare(model)
        reporter = _Reporter(module.default_metric)
        trainer.callbacks.append(reporter)
        seed_dataloaders([self.train_dataloaders, self.val_dataloaders], get_data_seed())
        with quiet_lightning(), _seeded_datamodule(self.datamodule, get_data_seed()):
            if self.datamodule is not None:
                trainer.fit(module, datamodule=self.datamodule)
            else:
                trainer.fit(module, self.train_dataloaders, self.val_dataloaders)
        final = reporter.last
        if final is None:  # no validation ran: fall back to the last logged value (e.g. a training metric)
            value = trainer.callback_metrics.get(module.default_metric)
            if value is None:
                raise RuntimeError(
                    f"{type(module).__name__} logged no metric named {module.default_metric!r} "
                    f"(logged: {sorted(trainer.callback_metrics)}); log it with self.log({module.default_metric!r}, "
                    f"value) or set default_metric to a logged name")
            final = float(value)
        self._after_fit(module, trainer)
        report_final_result(final)
        return final

    def _prepare(self, model: torch.nn.Module) -> tuple:
        module, trainer = _fresh(self.module), _fresh(self.trainer)
        module.set_model(model)
        return module, trainer

    def _after_fit(self, module: LightningModule, trainer: pl.Trainer) -> None:
        """Hook for subclasses (e.g. exporting the trained model)."""
