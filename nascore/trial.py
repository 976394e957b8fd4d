"""The trial-side API: what an evaluator calls to report metrics, wherever the trial runs.

The engine running a trial installs a *trial context* (sequential: callbacks in this process; training
services: a channel to the experiment). Outside any trial the calls log the metric and return, so an
evaluator function can also be run by hand.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any, Callable, ContextManager, Optional

from nascore.scoped import scoped
from nascore.space import _check_metric

__all__ = ["report_intermediate_result", "report_final_result", "get_sample", "get_data_seed", "trial_context", "TrialContext"]

_logger = logging.getLogger(__name__)


class TrialContext:
    """Where a running trial's reports go."""

    def __init__(self, on_intermediate: Callable[[Any], None], on_final: Callable[[Any], None],
                 sample: Optional[dict] = None, name: Optional[str] = None, data_seed: Optional[int] = None):
        self.on_intermediate = on_intermediate
        #: the seed of the data order (see :func:`nascore.seeding.seed_dataloaders`); None: not seeded
        self.data_seed = data_seed
        self.on_final = on_final
        self.sample = sample
        #: how messages name this trial ("trial #3", "trial 1f2e"); defaults to its sample
        self.name = name or f"the trial of sample {sample}"
        self.final_reported = False

    def check(self, metric: Any, kind: str) -> Any:
        """``metric`` validated for this trial: a ``TypeError`` names the trial and what it reported."""
        try:
            return _check_metric(metric)
        except TypeError as exc:
            raise TypeError(f"{self.name} reported an invalid {kind} metric: {exc}") from None


_current: ContextVar[Optional[TrialContext]] = ContextVar("nascore_trial", default=None)


def trial_context(context: TrialContext) -> ContextManager[TrialContext]:
    """Route ``report_*_result`` calls made inside the block to ``context``."""
    return scoped(_current, context)


def current_trial() -> Optional[TrialContext]:
    return _current.get()


def report_intermediate_result(metric: Any) -> None:
    """Report a metric during training (e.g. once per epoch). A number, or a dict with a ``"default"``."""
    context = _current.get()
    if context is None:
        _logger.info("intermediate result (no trial running): %s", _check_metric(metric))
        return
    context.on_intermediate(context.check(metric, "intermediate"))


def report_final_result(metric: Any) -> None:
    """Report the model's final metric, once per trial."""
    context = _current.get()
    if context is None:
        _logger.info("final result (no trial running): %s", _check_metric(metric))
        return
    metric = context.check(metric, "final")
    if context.final_reported:
        raise RuntimeError("report_final_result() was already called in this trial; report it once")
    context.final_reported = True
    context.on_final(metric)


def get_sample() -> Optional[dict]:
    """The sample of the model this trial trains (None outside a trial)."""
    context = _current.get()
    return None if context is None else context.sample


def get_data_seed() -> Optional[int]:
    """The seed an evaluator gives its data loaders in this trial (None outside a trial or when not seeded);
    see :func:`nascore.seeding.seed_dataloaders`."""
    context = _current.get()
    return None if context is None else context.data_seed


def run_model(model: Any, on_intermediate: Callable[[Any], None], on_final: Callable[[Any], None],
              name: Optional[str] = None) -> None:
    """Build a frozen model and evaluate it inside a trial context; the evaluator's exceptions propagate.

    Shared by every engine so a model runs the same way in-process and in a trial process. An evaluator that
    returns a number without calling ``report_final_result`` has that number recorded as its final metric; one
    that returns something else (a tensor, a string, a bool) raises a ``TypeError`` naming the trial (``name``,
    default ``"trial #<model_id>"``), so the trial fails with that reason.
    """
    if model.evaluator is None:
        raise RuntimeError(f"{model!r} has no evaluator; pass one to NasExperiment(space, evaluator, strategy)")
    model_id = getattr(model, "model_id", None)
    name = name or (f"trial #{model_id}" if model_id is not None else None)
    context = TrialContext(on_intermediate, on_final, sample=model.sample, name=name,
                           data_seed=getattr(model, "data_seed", None))
    if getattr(model, "seed", None) is not None:  # before the build: initial weights, shuffles, dropout
        from nascore.seeding import seed_everything
        seed_everything(model.seed)
    with trial_context(context):
        module = model.executable_model()
        result = model.evaluator.evaluate(module)
        if not context.final_reported and result is not None:
            try:
                metric = _check_metric(result)
            except TypeError as exc:
                raise TypeError(f"{context.name}: the evaluator returned a value that is not a metric and reported "
                                f"no final metric: {exc}") from None
            report_final_result(metric)
    _count_parameters(model, module)
    _save_weights(model, module, context.name)


def _count_parameters(model: Any, module: Any) -> None:
    # the module is built here anyway; the experiment records it (where the trial ran in its process)
    profile = getattr(getattr(model, "metrics", None), "profile", None)
    parameters = getattr(module, "parameters", None)
    if isinstance(profile, dict) and "params" not in profile and callable(parameters):
        profile["params"] = float(sum(p.numel() for p in parameters()))


def _save_weights(model: Any, module: Any, name: str) -> None:
    # the run's results stand without the file: a full disk costs the weights, not the trial
    save = getattr(model, "save_weights", None)
    if not callable(save):
        return
    try:
        save(module)
    except Exception as exc:  # noqa: BLE001
        _logger.warning("%s: could not save the trained weights: %s: %s", name, type(exc).__name__, exc)
