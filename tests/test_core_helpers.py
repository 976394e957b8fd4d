"""The small shared helpers of the core: lazy exports, scoped context values, call splitting, submit checks and
the budget's refusal, the ``importable_module`` fixture."""
from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from contextvars import ContextVar

import pytest

from nascore.arguments import split_call
from nascore.conformance import ConformanceModel
from nascore.engine import Budget, BudgetExhaustedError, EngineStoppedError, ExecutionEngine
from nascore.scoped import scoped
from nascore.space import ModelStatus


def test_lazy_exports_import_on_first_access_only(importable_module):
    target = importable_module("VALUE = 42\n", prefix="nascore_lazy_target").__name__
    package = importable_module(f'''
        from nascore.lazy import lazy_exports
        __getattr__, __dir__ = lazy_exports(__name__, {{"VALUE": "{target}", "renamed": "{target}:VALUE"}})
    ''')
    assert package.VALUE == 42 and package.renamed == 42
    assert {"VALUE", "renamed"} <= set(dir(package))
    with pytest.raises(AttributeError, match=f"module '{package.__name__}' has no attribute 'missing'"):
        package.missing  # noqa: B018


def test_lazy_exports_keep_import_nascore_light():
    code = textwrap.dedent("""
        import sys, nascore, nascore.strategy, nascore.evaluator
        assert "torch" not in sys.modules, "import nascore imported torch"
        assert "optuna" not in sys.modules
        print(nascore.strategy.Random.__name__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Random"


def test_lazy_exports_reject_a_target_without_module():
    from nascore.lazy import lazy_exports
    with pytest.raises(ValueError, match="lazy export 'X' of 'pkg' has no module"):
        lazy_exports("pkg", {"X": ":X"})


def test_scoped_restores_the_previous_value_even_on_error():
    var: ContextVar[str] = ContextVar("test_scoped", default="outer")
    with scoped(var, "inner") as value:
        assert value == "inner" and var.get() == "inner"
        with pytest.raises(KeyError):
            with scoped(var, "innermost"):
                raise KeyError("boom")
        assert var.get() == "inner"
    assert var.get() == "outer"


class _Init:
    def __init__(self, a, b=2, *rest, key=None, **extra):
        pass


class _PosOnly:
    def __init__(self, a, /, b):
        pass


@pytest.mark.parametrize("args, kwargs, expected", [
    ((1,), {}, ((), {"a": 1})),
    ((1, 5), {"key": 3}, ((), {"a": 1, "b": 5, "key": 3})),
    ((1, 2, 3), {"z": 0}, ((1, 2, 3), {"z": 0})),  # a non-empty *rest keeps everything before it positional
])
def test_split_call_binds_names_where_the_call_allows(args, kwargs, expected):
    assert split_call(inspect.signature(_Init.__init__), args, kwargs) == expected


def test_split_call_keeps_positional_only_and_refuses_a_bad_call():
    signature = inspect.signature(_PosOnly.__init__)
    assert split_call(signature, (1,), {"b": 2}) == ((1,), {"b": 2})
    assert split_call(signature, (), {"b": 2}) is None


def test_check_submittable_names_the_culprit():
    frozen = ConformanceModel({"x": 1})
    ExecutionEngine.check_submittable([frozen])
    with pytest.raises(TypeError, match="got dict; freeze a sample first"):
        ExecutionEngine.check_submittable([frozen, {"x": 2}])
    frozen.status = ModelStatus.Initialized  # a space, not a model: nothing was chosen
    with pytest.raises(ValueError, match="is not frozen"):
        ExecutionEngine.check_submittable([frozen])


def test_budget_counts_pending_models_and_explains_a_refusal():
    budget = Budget(max_trial_number=3, already_used_trials=1)
    assert budget.available() and budget.available(pending=1) and not budget.available(pending=2)
    error = budget.exhausted_error("<model>")
    assert isinstance(error, BudgetExhaustedError) and isinstance(error, RuntimeError)
    assert str(error) == ("experiment budget used up (max_trial_number=3 (1 submitted)); '<model>' was not run. "
                          "Check budget_available() before submitting, or raise the limit")
    timed = Budget(max_duration=60)
    assert "max_experiment_duration=60s (" in str(timed.exhausted_error("m", "ignored: no trial limit"))
    assert issubclass(EngineStoppedError, RuntimeError)


def test_engine_errors_are_the_core_classes_in_the_plugins():
    import nascore.engine as core
    from nascore_sequential import engine as sequential
    from nascore_training_service import engine as ts
    for module in (sequential, ts):
        assert module.BudgetExhaustedError is core.BudgetExhaustedError
        assert module.EngineStoppedError is core.EngineStoppedError
