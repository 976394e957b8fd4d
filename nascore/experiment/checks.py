"""Up-front checks of what a user hands ``NasExperiment``: the common slips get a message saying what to write."""
from __future__ import annotations

import inspect
from typing import Any

__all__ = ["check_experiment_parts"]


def _instance_hint(what: str, cls: type) -> str:
    return (f"{what} must be an instance, got the class {cls.__qualname__} itself; write "
            f"{cls.__qualname__}() (with its arguments), not {cls.__qualname__}")


def check_experiment_parts(model_space: Any, evaluator: Any, strategy: Any) -> None:
    """Raise TypeError for a class passed where an instance belongs, and for a missing evaluator or space.

    ``strategy`` may be None or a registered name: the config or the registry supplies it then."""
    from nascore.evaluator import Evaluator
    if model_space is None:
        raise TypeError("model_space is None: pass your model space, e.g. NasExperiment(MySpace(), evaluator, "
                        "strategy)")
    if inspect.isclass(model_space):
        raise TypeError(_instance_hint("model_space", model_space))
    if evaluator is None:
        raise TypeError("evaluator is None: pass how each model is trained and scored, e.g. "
                        "FunctionalEvaluator(fit) or Classification(train_dataloaders=..., val_dataloaders=...) "
                        "from nascore.evaluator")
    if inspect.isclass(evaluator):
        raise TypeError(_instance_hint("evaluator", evaluator))
    if not isinstance(evaluator, Evaluator) and callable(evaluator):
        raise TypeError(f"evaluator must be a nascore.evaluator.Evaluator, got the function "
                        f"{getattr(evaluator, '__qualname__', evaluator)!r}; wrap it: FunctionalEvaluator(fn)")
    if not isinstance(evaluator, Evaluator):
        raise TypeError(f"evaluator must be a nascore.evaluator.Evaluator (e.g. FunctionalEvaluator(fit)), got "
                        f"{type(evaluator).__qualname__}")
    if inspect.isclass(strategy):
        raise TypeError(_instance_hint("strategy", strategy))
