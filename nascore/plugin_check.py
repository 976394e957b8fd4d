"""``nascore plugins --check``: everything a plugin registers is resolved now, not at first use.

Checks, for every plugin: it loaded; every ``nascore_*`` function carries ``@hookimpl`` and sits in the
entry-point module (one in another module of the package is never called); every registered
record's ``factory`` import reference resolves (a misspelling gets a did-you-mean); every ``config_model`` is a
:class:`~nascore.experiment.config.ComponentConfig` that builds from the component's name alone (what
``NasExperimentConfig("name")`` does). Record kinds added later (new registration hooks) are checked the same
way, through :data:`nascore.specs.SPEC_TYPES`.
"""
from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional

from nascore.plugins import PluginManager
from nascore.specs import SPEC_TYPES

__all__ = ["PluginProblem", "check_plugins"]


@dataclass(frozen=True)
class PluginProblem:
    """One finding: the plugin (entry point name) and what is wrong with it, with what to do."""

    plugin: str
    message: str

    def __str__(self) -> str:
        return f"{self.plugin}: {self.message}"


def _reference_hint(reference: str) -> str:
    """'did you mean ...' for a ``module:attribute`` reference whose module imports but attribute does not."""
    module_name, _, attribute = reference.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - the module itself is the problem; the error says so
        return ""
    for part in filter(None, attribute.split(".")):
        if not hasattr(obj, part):
            close = difflib.get_close_matches(part, [n for n in dir(obj) if not n.startswith("_")], n=1)
            return f"; did you mean '{close[0]}'?" if close else ""
        obj = getattr(obj, part)
    return ""


def _check_record(record: Any) -> Optional[str]:
    what = f"{record.component} '{record.name}'"
    try:
        record.load()
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        hint = _reference_hint(record.factory) if isinstance(record.factory, str) else ""
        return f"{what}: factory {record.factory!r} cannot be resolved ({type(exc).__name__}: {exc}){hint}"
    model = getattr(record, "config_model", None)
    if model is None:
        return None
    from nascore.experiment.config import ComponentConfig
    if not (isinstance(model, type) and issubclass(model, ComponentConfig)):
        return f"{what}: config_model {model!r} is not a subclass of nascore.experiment.config.ComponentConfig"
    try:
        model(name=record.name)
    except Exception as exc:  # noqa: BLE001
        return (f"{what}: config_model {model.__name__} cannot be built from its name alone ({exc}); give every "
                "field a default (settings are filled in after construction and checked in check())")
    return None


def _stray_hooks(entry_point: str) -> List[str]:
    """``nascore_*`` hook functions defined in other modules of the entry point's package: only the entry-point
    module is registered, so they are never called. Read from source (nothing is imported)."""
    from nascore import hookspecs
    module_name = entry_point.partition(":")[0]
    package = module_name.split(".")[0]
    if package == module_name:
        return []
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return []
    found = []
    for folder in spec.submodule_search_locations:
        for path in sorted(Path(folder).rglob("*.py")):
            name = ".".join((package, *path.relative_to(folder).with_suffix("").parts)).removesuffix(".__init__")
            if name == module_name:
                continue
            try:
                tree = ast.parse(path.read_text(), str(path))
            except (OSError, SyntaxError, ValueError):
                continue
            found += [f"{node.name} in {name} is never called: only {module_name} is registered (entry point); "
                      f"move it there or import it there" for node in tree.body
                      if isinstance(node, ast.FunctionDef) and hasattr(hookspecs, node.name)
                      and node.name.startswith("nascore_")]
    return found


def check_plugins(manager: PluginManager) -> List[PluginProblem]:
    """Every problem found in ``manager``'s plugins (empty: all good). Resolving factories imports them."""
    problems: List[PluginProblem] = []
    for key, info in sorted(manager.plugins.items()):
        if info.status == "failed":
            problems.append(PluginProblem(key, f"failed to load: {info.reason}"))
        problems.extend(PluginProblem(key, warning) for warning in info.warnings)
        if info.status == "active" and not info.builtin and ":" not in info.entry_point:
            problems.extend(PluginProblem(key, stray) for stray in _stray_hooks(info.entry_point))
    for spec_type in SPEC_TYPES:
        for record in manager.specs(spec_type.component):
            message = _check_record(record)
            if message:
                problems.append(PluginProblem(record.provider or "?", message))
    return problems
