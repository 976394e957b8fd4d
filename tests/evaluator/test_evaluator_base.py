"""Evaluator base and FunctionalEvaluator: recorded arguments, mutables, payloads, reporting."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

import nascore
from nascore.evaluator import Evaluator, FunctionalEvaluator
from nascore.evaluator.data import digits_dataset
from nascore.mutable import Categorical, Numerical, SampleValidationError
from nascore.space import NotSerializableError
from nascore.trial import TrialContext, run_model, trial_context


class StandInModel:
    """What a frozen model offers run_model: an evaluator, a sample and the concrete module."""

    def __init__(self, evaluator, sample=None):
        self.evaluator = evaluator
        self.sample = sample or {}

    def executable_model(self):
        torch.manual_seed(0)
        return nn.Linear(4, 2)


def collect(evaluator, model):
    intermediates, finals = [], []
    with trial_context(TrialContext(intermediates.append, finals.append)):
        returned = evaluator.evaluate(model)
    return intermediates, finals, returned


def test_functional_evaluator_reports_through_trial_context(user_module):
    evaluator = FunctionalEvaluator(user_module.train_and_score, lr=0.2, epochs=3, tags=["a", "b"])
    model = nn.Linear(4, 1)
    intermediates, finals, _ = collect(evaluator, model)
    assert intermediates == pytest.approx([0.2, 0.4, 0.6])
    expected_out = model(torch.ones(1, 4)).sum().item()
    assert finals == [{"default": pytest.approx(2.0), "out": pytest.approx(expected_out), "tags": 2}]


def test_run_model_takes_returned_number_as_final(user_module):
    intermediates, finals = [], []
    run_model(StandInModel(FunctionalEvaluator(user_module.returns_metric, value=0.75)),
              intermediates.append, finals.append)
    assert intermediates == [] and finals == [0.75]


def test_arguments_are_recorded_by_name(user_module):
    evaluator = user_module.TwoStep(1, 3, 4, 5, scale=2.0, note="x")
    assert evaluator.trace_args == (1, 3, 4, 5)  # a *rest forces the leading ones to stay positional
    assert evaluator.trace_kwargs == {"scale": 2.0, "note": "x"}
    simple = user_module.TwoStep(1, second=3)
    assert simple.trace_args == () and simple.trace_kwargs == {"first": 1, "second": 3}
    # a subclass calling super().__init__ keeps the user's own arguments
    scaled = user_module.ScaledTwoStep(0.5, note="y")
    assert scaled.trace_kwargs == {"factor": 0.5, "note": "y"} and scaled.values[0] == 5.0
    again = Evaluator.from_payload(json.loads(json.dumps(scaled.to_payload())))
    assert type(again) is user_module.ScaledTwoStep and again.values == scaled.values and again == scaled


def test_mutables_join_the_sample_and_freeze(user_module):
    evaluator = FunctionalEvaluator(user_module.train_and_score,
                                    lr=Categorical([0.1, 0.01], label="lr"),
                                    tags=[Categorical(["x", "y"], label="tag"), "fixed"],
                                    epochs={"n": Numerical(1, 4, label="epochs")}["n"])
    space = evaluator.simplify()
    assert sorted(space) == ["epochs", "lr", "tag"]
    frozen = evaluator.freeze({"lr": 0.01, "tag": "y", "epochs": 2})
    assert type(frozen) is FunctionalEvaluator and frozen is not evaluator
    assert frozen.kwargs == {"lr": 0.01, "tags": ["y", "fixed"], "epochs": 2}
    assert frozen.simplify() == {}
    intermediates, finals, _ = collect(frozen, nn.Linear(4, 1))
    assert intermediates == pytest.approx([0.01, 0.02]) and finals[0]["default"] == pytest.approx(0.1)

    with pytest.raises(SampleValidationError, match="'z' is not one of") as info:
        evaluator.freeze({"lr": 0.1, "tag": "z", "epochs": 2})
    assert info.value.paths[0] == "evaluator argument tags[0]"
    with pytest.raises(RuntimeError, match=r"still has choices \['lr', 'tag', 'epochs'\]"):
        evaluator.evaluate(nn.Linear(4, 1))
    assert evaluator.random(random_state=1).simplify() == {}
    assert len(list(evaluator.grid(granularity=1))) >= 4

    # an evaluator with choices still travels (its mutables are encoded), and freezes the same way after
    rebuilt = Evaluator.from_payload(json.loads(json.dumps(evaluator.to_payload())))
    assert rebuilt == evaluator and sorted(rebuilt.simplify()) == ["epochs", "lr", "tag"]
    assert rebuilt.freeze({"lr": 0.01, "tag": "y", "epochs": 2}) == frozen


def test_evaluator_without_mutables_freezes_to_itself(user_module):
    evaluator = FunctionalEvaluator(user_module.returns_metric)
    assert evaluator.simplify() == {} and evaluator.freeze({"other": 1}) is evaluator


def test_equality_by_value_and_fingerprint(user_module):
    def make(batch_size):
        loader = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("val"), batch_size=batch_size)
        return FunctionalEvaluator(user_module.train_and_score, loader=loader, lr=0.1)

    a, b, c = make(32), make(32), make(64)
    assert a == b and hash(a) == hash(b) and a.fingerprint() == b.fingerprint()
    assert a != c and a.fingerprint() != c.fingerprint()
    assert a != FunctionalEvaluator(user_module.returns_metric, lr=0.1)
    assert len({a, b, c}) == 2


def test_check_serializable_names_the_argument(user_module):
    loader = DataLoader(digits_dataset("val"), batch_size=8)
    evaluator = FunctionalEvaluator(user_module.train_and_score, train_dataloaders=loader)
    with pytest.raises(NotSerializableError, match=r"^evaluator argument train_dataloaders: a DataLoader built "
                                                   r"without nascore.trace cannot be sent to a trial process"):
        evaluator.check_serializable()

    def local_function(model):
        return 1.0
    local = FunctionalEvaluator(local_function)
    with pytest.raises(TypeError, match=r"^evaluator argument function: 'test_check_serializable_names_the_argument"
                                        r".<locals>.local_function' is defined inside a function"):
        local.check_serializable()
    # in-process use still works, and equality falls back to comparing the arguments themselves
    assert collect(local, nn.Linear(1, 1))[2] == 1.0
    assert local == FunctionalEvaluator(local_function) and local != FunctionalEvaluator(local_function, x=1)


def test_from_payload_rejects_other_classes():
    with pytest.raises(TypeError, match="not a subclass of Evaluator"):
        Evaluator.from_payload({"evaluator": "torch.nn:Linear", "args": [], "kwargs": {}})
    with pytest.raises(ValueError, match="not an evaluator payload"):
        Evaluator.from_payload({"kwargs": {}})
    with pytest.raises(ImportError, match="no attribute 'Nope'"):
        Evaluator.from_payload({"evaluator": "nascore.evaluator:Nope"})


def test_payload_runs_in_a_fresh_process(user_module, tmp_path):
    """The payload is all a trial process gets: rebuild the evaluator there and run it."""
    evaluator = FunctionalEvaluator(user_module.train_and_score, lr=Categorical([0.1, 0.3], label="lr"))
    payload = json.dumps(evaluator.freeze({"lr": 0.3}).to_payload())
    script = (
        "import json, sys, torch\n"
        "from nascore.evaluator import Evaluator\n"
        "from nascore.trial import TrialContext, trial_context\n"
        "ev = Evaluator.from_payload(json.loads(sys.argv[1]))\n"
        "got = []\n"
        "with trial_context(TrialContext(got.append, got.append)):\n"
        "    ev.evaluate(torch.nn.Linear(4, 1))\n"
        "print(json.dumps(got))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(user_module.__file__),
                                                       os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", script, payload], capture_output=True, text=True, env=env,
                            timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reports = json.loads(result.stdout.strip().splitlines()[-1])
    assert reports[:2] == pytest.approx([0.3, 0.6]) and reports[2]["default"] == pytest.approx(3.0)
