"""Early stopping: rules that stop running trials from their intermediate metrics, and the middleware that
applies them on every engine.

``NasExperimentConfig(early_stopping="asha")`` (or ``{"name": "median", "grace_period": 5}``, or a stopper
object) puts an :class:`EarlyStoppingMiddleware` between the engine and the experiment. After each intermediate
metric it asks the stopper; a stopped trial is cancelled through the engine (``cancel_model``: the sequential
engine at the trial's next report, a training service by cancelling the trial and freeing its worker), and ends
with status ``early_stopped``, keeping its intermediate metrics. Stoppers register through the
``nascore_early_stoppers`` hook, so third parties add their own.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["EarlyStopper", "MedianStop", "ASHA", "EarlyStoppingMiddleware", "build_early_stopper", "compute_saved",
           "describe_saved"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "EarlyStopper": ".base", "build_early_stopper": ".base", "MedianStop": ".median", "ASHA": ".asha",
    "EarlyStoppingMiddleware": ".middleware", "compute_saved": ".accounting",
    "describe_saved": ".accounting",
})
