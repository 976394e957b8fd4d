"""Recipes for rebuilding an experiment's model space, evaluator and strategy when it is resumed.

Each recipe is JSON (import paths plus encoded arguments, via :mod:`nascore.trace`), or None when the object
cannot be rebuilt in another process — the caller of ``NasExperiment.resume`` then passes it.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Dict, Optional, Union

from nascore.trace import from_json_reference, get_trace, import_symbol, symbol_of, to_json_reference

__all__ = ["space_recipe", "build_space", "evaluator_recipe", "build_evaluator", "strategy_recipe",
           "build_strategy"]

_logger = logging.getLogger(__name__)


def _encode(symbol_owner: Any, args: Any, kwargs: Dict[str, Any], what: str) -> Optional[Dict[str, Any]]:
    try:
        return {"symbol": symbol_of(symbol_owner, what),
                "args": [to_json_reference(a, f"{what} argument {i}") for i, a in enumerate(args)],
                "kwargs": {k: to_json_reference(v, f"{what} argument {k}") for k, v in kwargs.items()}}
    except (TypeError, ValueError) as exc:  # NotSerializableError is a TypeError
        _logger.info("%s cannot be rebuilt on resume (%s); NasExperiment.resume() will need it passed", what, exc)
        return None


def _call(recipe: Dict[str, Any]) -> Any:
    target = import_symbol(recipe["symbol"])
    args = [from_json_reference(a) for a in recipe.get("args", [])]
    kwargs = {k: from_json_reference(v) for k, v in recipe.get("kwargs", {}).items()}
    return target(*args, **kwargs)


# ---- model space: a ModelSpace records trace_symbol / trace_args / trace_kwargs ---------------------------
def space_recipe(model_space: Any) -> Optional[Dict[str, Any]]:
    """JSON recipe (import path + arguments) rebuilding the model space, or None when it is not importable."""
    symbol = getattr(model_space, "trace_symbol", None)
    if symbol is None:
        return None
    return _encode(symbol, getattr(model_space, "trace_args", ()), getattr(model_space, "trace_kwargs", {}),
                   "model space")


def build_space(recipe: Dict[str, Any]) -> Any:
    """The model space built from :func:`space_recipe`'s recipe."""
    return _call(recipe)


# ---- evaluator: its own payload --------------------------------------------------------------------------
def evaluator_recipe(evaluator: Any) -> Optional[Dict[str, Any]]:
    """The evaluator's JSON payload, or None when it cannot be serialized."""
    if evaluator is None or not hasattr(evaluator, "to_payload"):
        return None
    try:
        return {"payload": evaluator.to_payload()}
    except (TypeError, ValueError) as exc:
        _logger.info("evaluator cannot be rebuilt on resume (%s)", exc)
        return None


def build_evaluator(recipe: Dict[str, Any]) -> Any:
    """The evaluator rebuilt from :func:`evaluator_recipe`'s recipe."""
    from nascore.evaluator.base import Evaluator
    return Evaluator.from_payload(recipe["payload"])


# ---- strategy: class path + init arguments (state is saved separately) ----------------------------------------
#: The rule resume uses to rebuild a strategy (documented in nascore.strategy.multi_trial): the same class, built
#: with the arguments it was built with, read back from ``nascore.trace`` (a traced class), from
#: ``trace_args``/``trace_kwargs`` attributes, or from attributes named like the constructor's parameters
#: (``self.x = x`` or ``self._x = x``). A parameter it cannot read back is never guessed (its default could be
#: another search than the one that ran): the strategy is then not rebuilt and resume says what to do.
def _strategy_arguments(strategy: Any) -> Union[tuple, str]:
    """(args, kwargs) the strategy was built with, or why they cannot be read back."""
    info = get_trace(strategy)
    if info is not None:
        return tuple(info.args), dict(info.kwargs)
    if hasattr(strategy, "trace_kwargs"):
        return tuple(getattr(strategy, "trace_args", ())), dict(strategy.trace_kwargs)
    kwargs: Dict[str, Any] = {}
    try:
        parameters = list(inspect.signature(type(strategy).__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return f"the signature of {type(strategy).__name__}.__init__ cannot be read"
    unread = []
    for p in parameters:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        for attr in (p.name, f"_{p.name}"):
            if attr in getattr(strategy, "__dict__", {}):
                kwargs[p.name] = strategy.__dict__[attr]
                break
        else:
            unread.append(p.name)
    if unread:
        return (f"constructor parameter(s) {', '.join(unread)} of {type(strategy).__name__} are not kept as "
                f"attributes of the same name (self.{unread[0]} or self._{unread[0]}); keep them, decorate the class "
                "with nascore.trace, or pass the strategy to NasExperiment.resume(..., strategy=...)")
    return (), kwargs


def strategy_recipe(strategy: Any) -> Optional[Dict[str, Any]]:
    """JSON recipe (class path + constructor arguments) rebuilding the strategy; ``{"error": why}`` when the rule
    above cannot be applied, None when an argument is not JSON. Its search state is saved apart."""
    arguments = _strategy_arguments(strategy)
    if isinstance(arguments, str):
        _logger.warning("strategy %s cannot be rebuilt on resume: %s", type(strategy).__name__, arguments)
        return {"error": arguments}
    return _encode(type(strategy), arguments[0], arguments[1], "strategy")


def build_strategy(recipe: Dict[str, Any]) -> Any:
    """A new strategy built from :func:`strategy_recipe`'s recipe (its search state is loaded afterwards)."""
    if "error" in recipe:
        raise ValueError(recipe["error"])
    return _call(recipe)
