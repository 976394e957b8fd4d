"""The whole nascore plugin contract, in lifecycle order.

A plugin is a module with functions decorated by :data:`nascore.hookimpl` and named like the hooks below.
It is found through an entry point in the ``nascore`` group::

    [project.entry-points.nascore]
    myformat = "nascore_myformat.hooks"

Two kinds of hook:

* **Registration hooks** are called once, per plugin, when the plugin manager is built. Each returns a list
  of typed records (:mod:`nascore.specs`). The manager flattens them into registries, rejects a name that two
  plugins register (naming both), and serves them through typed accessors such as
  ``get_plugin_manager().get_model_format("graph")``. A hook that raises marks its plugin as failed; the
  other plugins keep working.
* **Observer hooks** are called for every implementation, in no particular order, when something happens.
  Their return values are ignored, and an exception in one is logged and does not stop the experiment.
  They suit loggers, dashboards and trackers.

What observers see when an experiment is resumed (``NasExperiment.resume``): each run of the experiment is a
*session* (``experiment.session``: 1, then 2, ...). ``nascore_experiment_started`` and
``nascore_experiment_finished`` fire once per session. A model that finished in an earlier session was reported
then and is not reported again, even when the resumed strategy proposes its sample and gets the stored result
back (read earlier results from ``experiment.list_models()`` or the store). A model that was still running when
the earlier session ended is run again: observers see ``nascore_model_submitted`` (same ``model.model_id``) and
then ``nascore_model_finished`` for it. So within a session every ``nascore_model_finished`` follows a
``nascore_model_submitted`` of the same model.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, List

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from nascore.specs import (DashboardSpec, EngineSpec, MiddlewareSpec, ModelFormatSpec, OptimizerSpec,
                               EarlyStopperSpec, ProfilerSpec, StrategySpec, TrainingServiceSpec)

PROJECT = "nascore"
_hookspec = pluggy.HookspecMarker(PROJECT)


# ---- registration hooks: called once when the plugin manager is built ---------------------------------

@_hookspec
def nascore_model_formats() -> "List[ModelFormatSpec]":
    """Register model formats (how a model space is represented, frozen and shipped to a trial).

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.ModelFormatSpec`: ``name`` (what users write as
    ``NasExperimentConfig(model_format=...)``), ``factory`` resolving to an ``ExecutableModelSpace`` subclass,
    ``config_model`` (a :class:`~nascore.experiment.config.ComponentConfig` subclass, or None for no settings)
    and ``serializable`` (False when frozen models cannot leave this process).
    """


@_hookspec
def nascore_execution_engines() -> "List[EngineSpec]":
    """Register execution engines (what runs submitted models).

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.EngineSpec`; ``factory(config)`` receives the validated
    :class:`~nascore.NasExperimentConfig` and returns an :class:`~nascore.engine.ExecutionEngine`.
    ``uses_training_service=True`` tells the config to require a training service and serializable models.
    """


@_hookspec
def nascore_middlewares() -> "List[MiddlewareSpec]":
    """Register middlewares (components between the strategy and an engine, e.g. CGO).

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.MiddlewareSpec`. A middleware is selected by naming it as the
    execution engine (``NasExperimentConfig("cgo", ...)``); it wraps the engine named by ``engine``.
    ``requires_format`` (e.g. ``"graph"``) is checked up front against the configured model format.
    """


@_hookspec
def nascore_optimizers() -> "List[OptimizerSpec]":
    """Register cross-graph optimizers, the rewriting passes CGO applies to its logical plan.

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.OptimizerSpec`; ``factory()`` returns an optimizer object with a
    ``convert(plan)`` method that rewrites the plan in place.
    """


@_hookspec
def nascore_training_services() -> "List[TrainingServiceSpec]":
    """Register training services (where the ``ts`` engine runs trials: local processes, SSH machines...).

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.TrainingServiceSpec`; ``factory(config)`` receives the whole
    experiment config and returns a :class:`~nascore.training_service.TrainingService`.
    """


@_hookspec
def nascore_strategies() -> "List[StrategySpec]":
    """Register search strategies.

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.StrategySpec`: ``factory`` resolves to a
    :class:`~nascore.strategy.Strategy` subclass; ``kind`` is ``"multi-trial"`` (samples models and submits
    them to an engine; default format simplified, engine ts) or ``"one-shot"`` (trains a supernet in this
    process; default format raw, engine sequential).
    """


@_hookspec
def nascore_dashboards() -> "List[DashboardSpec]":
    """Register web dashboards (what serves ``exp.run(config, port)`` and ``nascore dashboard DIR``).

    Fires once per plugin while the plugin manager is built.
    Return a list of :class:`~nascore.specs.DashboardSpec`; ``factory(target, port=..., host=...)`` receives a
    running :class:`~nascore.NasExperiment` or the path of stored experiments and returns a server (``url``,
    ``token``, ``start()``, ``serve_forever()``, ``stop()``). When a port is given and several dashboards are
    installed, the one named ``"dashboard"`` is used, else the first by name. A live dashboard learns about
    the run through the observer hooks below and the store.
    """


@_hookspec
def nascore_profilers() -> "List[ProfilerSpec]":
    """Register profilers: costs of a frozen model measured without training (parameters, FLOPs, latency...).

    Fires once per plugin while the plugin manager is built. Return a list of
    :class:`~nascore.specs.ProfilerSpec`: ``metrics`` names what the profiler measures (each name may be used
    in ``objectives`` and ``constraints``; two profilers may not measure the same name), ``factory`` resolves
    to ``profile(module, context) -> {metric: number}``, called in the experiment's process on the built
    ``torch.nn.Module`` before the model's trial (``context`` is a :class:`~nascore.profilers.ProfileContext`:
    ``input_shape``, ``example_input()``, ``latency_runs``). ``needs_input=True`` makes the experiment require
    ``profile_input_shape``. A profiler runs only when an objective, a constraint or ``profilers=[...]`` needs
    one of its metrics; results are cached per sample. The built-in ``params``, ``flops`` and ``latency``
    profilers are registered through this hook by the built-in plugin ``nascore.profilers``.
    """


@_hookspec
def nascore_early_stoppers() -> "List[EarlyStopperSpec]":
    """Register early stoppers: rules that stop running trials from their intermediate metrics.

    Fires once per plugin while the plugin manager is built. Return a list of
    :class:`~nascore.specs.EarlyStopperSpec`; ``factory`` resolves to a
    :class:`~nascore.early_stopping.EarlyStopper` subclass built with the keyword arguments of
    ``NasExperimentConfig(early_stopping={"name": ..., **kwargs})``. The experiment puts the stopper behind an
    :class:`~nascore.early_stopping.EarlyStoppingMiddleware`, which asks it after every intermediate metric and
    stops the trial through the engine's ``cancel_model``; the model ends ``early_stopped``. The built-in
    ``median`` and ``asha`` stoppers are registered through this hook by the built-in plugin
    ``nascore.early_stopping``.
    """


# ---- observer hooks: every implementation is called; return values are ignored ------------------------

@_hookspec
def nascore_experiment_started(experiment: Any) -> None:
    """An experiment is about to run its strategy.

    Fires in the experiment's process after the config is validated, the store is open and the engine is
    built, before the first model is submitted; once per session (a resumed run fires it again, with
    ``experiment.session`` > 1). ``experiment`` is the :class:`~nascore.NasExperiment` (``experiment.id``,
    ``experiment.config``, ``experiment.directory``, ``experiment.session`` are set).
    """


@_hookspec
def nascore_model_submitted(model: Any) -> None:
    """A frozen model was handed to the execution engine.

    Fires in the experiment's process once per submission (a re-run after a CGO fallback, or of a model that was
    running when an earlier session ended, counts as a new submission; a sample answered from the store on
    resume is not submitted). ``model`` is the :class:`~nascore.space.ExecutableModelSpace`; ``model.sample`` is its
    sample and ``model.model_id`` its id in the store.
    """


@_hookspec
def nascore_model_finished(model: Any) -> None:
    """A model reached a final status (Trained, Failed, Interrupted or Invalid).

    Fires in the experiment's process after its final metric (if any) is recorded, once per submission (never for
    a model answered from the store on resume). ``model.status`` and ``model.metrics`` hold the outcome.
    """


@_hookspec
def nascore_experiment_finished(experiment: Any) -> None:
    """An experiment stopped: the strategy finished, the budget ran out, or ``stop()`` was called.

    Fires once, after every model's final status is recorded and the engine is shut down.
    """


REGISTRATION_HOOKS = {
    "nascore_model_formats": "model format",
    "nascore_execution_engines": "execution engine",
    "nascore_middlewares": "middleware",
    "nascore_optimizers": "optimizer",
    "nascore_training_services": "training service",
    "nascore_strategies": "strategy",
    "nascore_dashboards": "dashboard",
    "nascore_profilers": "profiler",
    "nascore_early_stoppers": "early stopper",
}
