"""Components given by registered name: ``"evolution"`` or ``{"name": "evolution", "population_size": 20}``.

Strategies (in ``NasExperiment`` and in config files) and cross-graph optimizers (CGO's ``optimizers`` setting)
may be named instead of built; the registry resolves the name and the keyword arguments go to the factory,
checked against its signature first so a misspelled argument is reported with the ones that fit.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Mapping, Tuple, Union

__all__ = ["NamedComponent", "parse_named", "build_named"]

#: a registered name, or a mapping with ``name`` plus the factory's keyword arguments
NamedComponent = Union[str, Mapping[str, Any]]


def parse_named(value: NamedComponent, component: str) -> Tuple[str, Dict[str, Any]]:
    """``(name, kwargs)`` from ``"name"`` or ``{"name": ..., **kwargs}``; a ValueError says what fits."""
    if isinstance(value, str) and value.strip():
        return value.strip(), {}
    if isinstance(value, Mapping) and isinstance(value.get("name"), str) and value["name"].strip():
        kwargs = {str(k): v for k, v in value.items() if k != "name"}
        return value["name"].strip(), kwargs
    raise ValueError(f"a {component} is given by its registered name ('random') or a mapping with 'name' and "
                     f"its arguments ({{'name': 'evolution', 'population_size': 20}}), got {value!r}")


def _parameters(factory: Any) -> str:
    try:
        names = [p.name for p in inspect.signature(factory).parameters.values()
                 if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        return "unknown"
    return ", ".join(names) or "none"


def build_named(value: NamedComponent, component: str) -> Any:
    """Resolve ``value`` through the plugin registry of ``component`` (e.g. ``"strategy"``) and build it.

    Unknown names raise :class:`~nascore.plugins.UnknownComponentError` (with what is available); arguments
    the factory does not take raise a ValueError naming the component and the arguments it takes.
    """
    from nascore.plugins import get_plugin_manager
    name, kwargs = parse_named(value, component)
    factory = get_plugin_manager().get(component, name).load()
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{component} '{name}' cannot take {sorted(kwargs)} ({exc}); its arguments are: "
                         f"{_parameters(factory)}") from None
    except ValueError:  # no signature to check (a builtin): let the call itself say
        pass
    return factory(**kwargs)
