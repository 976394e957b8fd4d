"""Splitting a constructor call so it can be recorded and replayed as ``target(*positional, **by_name)``.

Evaluators and model spaces both record the arguments they were built with; binding them to parameter names
makes the record independent of how the user happened to pass them. Standard library only.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["split_call"]


def split_call(signature: inspect.Signature, args: tuple, kwargs: dict) -> Optional[Tuple[tuple, Dict[str, Any]]]:
    """``(positional, by_name)`` for a call of a method with ``signature`` (its first parameter, ``self``, is
    not part of ``args``), or None when the call does not bind (the call itself will raise the proper error).

    Positional-only arguments stay positional; so does everything before a non-empty ``*args``. Extra
    ``**kwargs`` are merged into ``by_name``.
    """
    try:
        bound = signature.bind(None, *args, **kwargs)  # None stands for self
    except TypeError:
        return None
    params = list(signature.parameters.values())[1:]
    has_varargs = any(p.kind is p.VAR_POSITIONAL and bound.arguments.get(p.name) for p in params)
    positional: List[Any] = []
    named: Dict[str, Any] = {}
    for p in params:
        if p.name not in bound.arguments:
            continue
        value = bound.arguments[p.name]
        if p.kind is p.POSITIONAL_ONLY or (p.kind is p.POSITIONAL_OR_KEYWORD and has_varargs):
            positional.append(value)
        elif p.kind is p.VAR_POSITIONAL:
            positional.extend(value)
        elif p.kind is p.VAR_KEYWORD:
            named.update(value)
        else:
            named[p.name] = value
    return tuple(positional), named
