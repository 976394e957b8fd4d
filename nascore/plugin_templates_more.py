"""More templates for ``nascore new-plugin``: model format, middleware, cross-graph optimizer and profiler (the
others are in :mod:`nascore.plugin_templates`)."""
from __future__ import annotations

from nascore.plugin_templates_base import hooks_with_config

__all__ = ["FORMAT", "MIDDLEWARE", "OPTIMIZER", "PROFILER"]

FORMAT = {
    "$package/hooks.py": '''"""Entry point of $dist: registers model format "$name"."""
from nascore import hookimpl
from nascore.specs import ModelFormatSpec


@hookimpl
def nascore_model_formats():
    # serializable=False: models stay in this process (sequential engine). Implement to_payload/from_payload
    # (JSON) and drop serializable=False to send them to training services.
    return [ModelFormatSpec(name="$name", factory="$package.space:$Class", serializable=False,
                            description="$summary")]
''',
    "$package/space.py": '''"""$Class: a frozen model is the space's class built again under the sample (``nascore.nn.build_frozen``)."""
from nascore.nn import build_frozen
from nascore.space import ExecutableModelSpace


class $Class(ExecutableModelSpace):
    """$summary."""

    format_name = "$name"

    def __init__(self, model_space, mutables, evaluator=None) -> None:
        super().__init__(evaluator, mutables)
        self.model_space = model_space

    @classmethod
    def from_model(cls, model_space, evaluator=None, config=None):
        space = cls(model_space, cls.collect_mutables(model_space, evaluator), evaluator)
        space.keep_structure(model_space)
        return space

    def _freeze(self, sample):
        frozen = type(self)(self.model_space, self.mutables, self.frozen_evaluator(sample))
        return self.mark_frozen(frozen, sample)

    def executable_model(self):
        space = self.model_space
        return build_frozen(type(space), self.sample, space.trace_args, space.trace_kwargs, space.label_state)
''',
    "tests/test_$name.py": '''from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.strategy import GridSearch
from nascore.testkit import ToySpace, toy_evaluator

from $package.space import $Class


def test_same_sample_same_model():
    space = $Class.from_model(ToySpace(), toy_evaluator())
    model = space.freeze({"a": 2, "b": 1, "c": 0}).executable_model()
    assert (model.a, model.b, model.c) == (2, 1, 0)


def test_grid_search_finds_the_best_model():
    config = NasExperimentConfig("sequential", "$name", max_trial_number=27)
    exp = NasExperiment(ToySpace(), toy_evaluator(), GridSearch(), config)
    assert exp.run() == "done"
    assert exp.export_top_models(1, formatter="dict") == [{"a": 2, "b": 0, "c": 1}]
''',
}

MIDDLEWARE = {
    "$package/hooks.py": hooks_with_config("MiddlewareSpec", "nascore_middlewares", "middleware",
                                           ', engine="sequential"'),
    "$package/middleware.py": '''"""$Class: passes models to the engine it wraps and counts them. A middleware sees every model on its way in
(``submit_models``) and every event on its way out (``handle_inner_event``)."""
from nascore.engine import Middleware


class $Class(Middleware):
    """$summary."""

    def __init__(self, config=None) -> None:
        super().__init__()
        self.submitted = 0

    def submit_models(self, *models) -> None:
        self.submitted += len(models)
        self.engine.submit_models(*models)
''',
    "tests/test_$name.py": '''from nascore.experiment import NasExperiment, NasExperimentConfig
from nascore.strategy import Random
from nascore.testkit import ToySpace, toy_evaluator


def test_wraps_the_engine_in_an_experiment():
    exp = NasExperiment(ToySpace(), toy_evaluator(), Random(seed=0),
                        NasExperimentConfig("$name", "simplified", max_trial_number=4))
    assert exp.run() == "done"
    assert len(exp.list_models()) == 4 and all(m.status.value == "trained" for m in exp.list_models())
''',
}

OPTIMIZER = {
    "$package/hooks.py": '''"""Entry point of $dist: registers cross-graph optimizer "$name" (used by nascore-cgo)."""
from nascore import hookimpl
from nascore.specs import OptimizerSpec


@hookimpl
def nascore_optimizers():
    return [OptimizerSpec(name="$name", factory="$package.optimizer:$Class", description="$summary")]
''',
    "$package/optimizer.py": '''"""$Class: orders the models of a CGO batch by their input pipeline. ``convert`` rewrites the logical plan in
place and must keep its invariants (nascore_cgo.plan): never drop, duplicate or invent a model."""


class $Class:
    """$summary."""

    def __init__(self, reverse: bool = False) -> None:  # settings: config.optimizers = [{"name": "$name", ...}]
        self.reverse = reverse

    def convert(self, plan) -> None:
        plan.models.sort(key=lambda entry: entry.input, reverse=self.reverse)
''',
    "tests/test_$name.py": '''from nascore_cgo.plan import InputPipeline, LogicalPlan, PlanModel

from $package.optimizer import $Class


def _plan():
    plan = LogicalPlan(inputs=[InputPipeline("a", {}), InputPipeline("b", {})])
    models = [object(), object(), object()]
    plan.models = [PlanModel(models[0], None, 1), PlanModel(models[1], None, 0), PlanModel(models[2], None, 1)]
    return plan, models


def test_orders_models_and_keeps_the_plan_valid():
    plan, models = _plan()
    $Class().convert(plan)
    assert [m.input for m in plan.models] == [0, 1, 1]
    plan.check(models, "'$name'")  # raises PlanError when an invariant is broken
''',
}

PROFILER = {
    "$package/hooks.py": '''"""Entry point of $dist: registers profiler "$name"."""
from nascore import hookimpl
from nascore.specs import ProfilerSpec


@hookimpl
def nascore_profilers():
    return [ProfilerSpec(name="$name", factory="$package.profiler:profile", metrics=("$name",),
                         description="$summary")]
''',
    "$package/profiler.py": '''"""profile(module, context): the number of tensors in the model's state_dict (replace with your cost)."""


def profile(module, context):
    """``{"$name": number}`` for the built ``module`` (no training)."""
    return {"$name": float(len(module.state_dict()))}
''',
    "tests/test_$name.py": '''import torch

from $package.profiler import profile


def test_counts_state_tensors():
    assert profile(torch.nn.Linear(3, 2), None) == {"$name": 2.0}
''',
}
