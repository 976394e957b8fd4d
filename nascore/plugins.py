"""The plugin manager: finds plugins through entry points, isolates their failures, serves typed registries.

Environment switches (read when a manager is built):

* ``NASCORE_DISABLE_PLUGIN_AUTOLOAD=1`` — load no entry point (built-in strategies stay).
* ``NASCORE_PLUGINS=a,b`` — load only the entry points named here.
* ``NASCORE_STRICT_PLUGINS=1`` — a plugin that fails to load is fatal instead of reported.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

import importlib_metadata
import pluggy

from nascore import hookspecs
from nascore.specs import (SPEC_TYPES, DashboardSpec, EngineSpec, MiddlewareSpec, ModelFormatSpec, OptimizerSpec,
                           EarlyStopperSpec, ProfilerSpec, StrategySpec, TrainingServiceSpec, _Spec)
from nascore.suggest import did_you_mean

__all__ = ["hookimpl", "PluginInfo", "PluginError", "UnknownComponentError", "PluginManager",
           "get_plugin_manager", "create_plugin_manager", "reset_plugin_manager"]

_logger = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)
ENTRY_POINT_GROUP = "nascore"
BUILTIN_PLUGINS = {"nascore.strategy": "nascore.strategy.hooks", "nascore.profilers": "nascore.profilers.hooks",
                   "nascore.early_stopping": "nascore.early_stopping.hooks"}

_SPEC_BY_HOOK = dict(zip(hookspecs.REGISTRATION_HOOKS, SPEC_TYPES))


class PluginError(RuntimeError):
    """A plugin could not be loaded (raised only in strict mode; otherwise recorded in ``PluginInfo``)."""


class UnknownComponentError(LookupError, ValueError):
    """A component name that no active plugin registers (a ValueError too, so config validation reports it)."""

    def __str__(self) -> str:  # LookupError would print the repr of the message
        return str(self.args[0])


@dataclass
class PluginInfo:
    """What ``nascore plugins`` shows about one plugin."""

    name: str
    entry_point: str
    distribution: Optional[str] = None
    version: Optional[str] = None
    status: str = "active"  # active | disabled | failed
    reason: Optional[str] = None
    registers: Dict[str, List[str]] = field(default_factory=dict)
    hooks: List[str] = field(default_factory=list)
    builtin: bool = False
    #: mistakes that do not stop the plugin (e.g. a ``nascore_*`` function without ``@hookimpl``)
    warnings: List[str] = field(default_factory=list)
    #: the traceback of the exception that failed the plugin (``nascore plugins --traceback``)
    traceback: Optional[str] = None

    def describe(self) -> str:
        dist = f"{self.distribution} {self.version}" if self.distribution else "no distribution"
        return f"plugin '{self.name}' (entry point {self.entry_point}, {dist})"

    def to_json(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def _failure(exc: BaseException, where: str) -> str:
    """A plugin failure's reason; ``sys.exit()`` in a plugin is a failure of that plugin, not the program's end."""
    if isinstance(exc, SystemExit):
        return f"called sys.exit({exc.code!r}) {where}; a plugin must raise an exception instead"
    return f"{type(exc).__name__}: {exc}"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class PluginManager:
    """Loads plugins and holds one registry per component kind.

    Core code reaches plugins only through the accessors here (``get_model_format`` ...) and
    :meth:`notify`; it never calls ``pluggy`` hooks by hand.
    """

    def __init__(self, load_entrypoints: bool = True, strict: Optional[bool] = None):
        self.strict = _env_flag("NASCORE_STRICT_PLUGINS") if strict is None else strict
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self.plugins: Dict[str, PluginInfo] = {}
        self._registries: Dict[str, Dict[str, _Spec]] = {spec.component: {} for spec in SPEC_TYPES}
        from nascore import __version__
        for name, module in BUILTIN_PLUGINS.items():
            self._load(PluginInfo(name=name, entry_point=module, distribution="nascore", version=__version__,
                                  builtin=True),
                       lambda module=module: __import__(module, fromlist=["_"]))
        if load_entrypoints:
            self._load_entrypoints()
        self._rebuild()

    # ---- loading -------------------------------------------------------------------------------------
    def _load_entrypoints(self) -> None:
        disabled_all = _env_flag("NASCORE_DISABLE_PLUGIN_AUTOLOAD")
        allowed = {n.strip() for n in os.environ.get("NASCORE_PLUGINS", "").split(",") if n.strip()}
        seen = set()
        for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(name=ep.name, entry_point=ep.value,
                              distribution=dist.metadata["Name"] if dist else None,
                              version=dist.version if dist else None)
            if (info.name, info.distribution) in seen:  # the same distribution found twice on sys.path
                continue
            seen.add((info.name, info.distribution))
            if disabled_all:
                info.status, info.reason = "disabled", "NASCORE_DISABLE_PLUGIN_AUTOLOAD is set"
            elif allowed and info.name not in allowed:
                info.status, info.reason = "disabled", "not listed in NASCORE_PLUGINS"
            if info.name in self.plugins:  # the first keeps working; this one is listed apart, as failed
                other = self.plugins[info.name]
                info.status = "failed"
                info.reason = (f"entry point name '{info.name}' is already used by {other.describe()}; "
                               f"rename the entry point of {info.distribution or info.entry_point} or uninstall "
                               "one of them")
                self.plugins[self._clash_key(info)] = info
                self._report(info)
                continue
            if info.status == "disabled":
                self.plugins[info.name] = info
                continue
            self._load(info, ep.load)

    def _load(self, info: PluginInfo, loader) -> None:
        self.plugins[info.name] = info
        try:
            module = loader()
            self._pm.register(module, name=info.name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - third-party code's failure is reported, not raised
            info.traceback = traceback.format_exc()
            self._fail(info, _failure(exc, "while it was imported"))
            return
        impls = self._pm.get_hookcallers(self._pm.get_plugin(info.name)) or []
        info.hooks = sorted(caller.name for caller in impls)
        info.warnings = [f"{n} is not decorated with @nascore.hookimpl, so it is never called"
                         for n in dir(module) if n.startswith("nascore_") and hasattr(hookspecs, n)
                         and callable(getattr(module, n)) and n not in info.hooks]
        unknown = [n for n in dir(module) if n.startswith("nascore_") and callable(getattr(module, n))
                   and not hasattr(hookspecs, n)]
        if unknown:
            self._fail(info, f"implements unknown hook(s) {', '.join(unknown)}; known hooks are listed in "
                             "nascore.hookspecs")

    def _clash_key(self, info: PluginInfo) -> str:
        """A key of its own for a plugin whose entry point name is taken (shown by ``nascore plugins``)."""
        key, n = f"{info.name} ({info.distribution or info.entry_point})", 2
        while key in self.plugins:
            key, n = f"{info.name} ({info.distribution or info.entry_point} #{n})", n + 1
        return key

    def _fail(self, info: PluginInfo, reason: str) -> None:
        info.status, info.reason = "failed", reason
        self.plugins[info.name] = info
        if self._pm.has_plugin(info.name):
            self._pm.unregister(name=info.name)
        self._report(info)

    def _report(self, info: PluginInfo) -> None:
        message = f"{info.describe()} failed to load: {info.reason}"
        if self.strict:
            raise PluginError(message + " (NASCORE_STRICT_PLUGINS is set)")
        _logger.warning(message)

    def _rebuild(self) -> None:
        """Call every active plugin's registration hooks, one plugin at a time, and index the records."""
        for registry in self._registries.values():
            registry.clear()
        for info in list(self.plugins.values()):
            if info.status != "active":
                continue
            try:
                records = self._collect(info)
            except (Exception, SystemExit) as exc:  # noqa: BLE001
                info.traceback = traceback.format_exc()
                self._fail(info, str(exc) if isinstance(exc, PluginError) else
                           _failure(exc, "in a registration hook"))
                continue
            clash = next(((r, self._registries[r.component][r.name]) for r in records
                          if r.name in self._registries[r.component]), None)
            if clash:
                record, first = clash
                owner = self.plugins[first.provider]
                advice = (f"rename yours (e.g. '{info.name}-{record.name}'): '{record.name}' is built into nascore"
                          if owner.builtin else "uninstall one of them")
                self._fail(info, f"registers {record.component} '{record.name}', which {owner.describe()} "
                                 f"already registers; {advice}")
                continue
            info.registers = {}
            for record in records:
                self._registries[record.component][record.name] = record
                info.registers.setdefault(record.component, []).append(record.name)

    def _collect(self, info: PluginInfo) -> List[_Spec]:
        plugin = self._pm.get_plugin(info.name)
        records: List[_Spec] = []
        for hook_name, spec_type in _SPEC_BY_HOOK.items():
            for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                result = impl.function() or []
                for record in result:
                    if not isinstance(record, spec_type):
                        raise PluginError(f"{hook_name}() must return {spec_type.__name__} records, "
                                          f"got {type(record).__name__}")
                    records.append(dataclasses.replace(record, provider=info.name))
        names = [(r.component, r.name) for r in records]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup:
            raise PluginError(f"registers {dup[0]} '{dup[1]}' twice")
        return records

    # ---- registering by hand (tests, notebooks) -----------------------------------------------------------
    def register(self, plugin: Any, name: Optional[str] = None) -> PluginInfo:
        """Register a plugin object (module or instance with hookimpls) without an entry point."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        self._load(PluginInfo(name=name, entry_point=f"<registered {name}>"), lambda: plugin)
        self._rebuild()
        return self.plugins[name]

    def unregister(self, name: str) -> None:
        """Remove the plugin registered under ``name`` and rebuild the registries."""
        if self._pm.has_plugin(name):
            self._pm.unregister(name=name)
        self.plugins.pop(name, None)
        self._rebuild()

    # ---- typed accessors ------------------------------------------------------------------------------
    def names(self, component: str) -> List[str]:
        """Sorted names registered for ``component`` (e.g. ``"strategy"``)."""
        return sorted(self._registries[component])

    def get(self, component: str, name: str) -> Any:
        """The record registered as ``name`` for ``component``; UnknownComponentError lists what is available."""
        registry = self._registries[component]
        if name in registry:
            return registry[name]
        known = sorted(registry)
        if component == EngineSpec.component:  # a middleware name is given where an engine's is
            known = sorted({*known, *self._registries[MiddlewareSpec.component]})
        available = ", ".join(known) or "none"
        close = did_you_mean(name, known)
        hint = f"did you mean '{close}'?" if close else f"is nascore-{name} installed?"
        failed = self.plugins.get(name)
        if failed is not None and failed.status != "active":
            hint = f"{failed.describe()} is {failed.status}: {failed.reason}"
        raise UnknownComponentError(f"unknown {component} '{name}'; available: {available} ({hint})")

    def get_model_format(self, name: str) -> ModelFormatSpec:
        """The :class:`~nascore.specs.ModelFormatSpec` named ``name``."""
        return self.get(ModelFormatSpec.component, name)

    def get_execution_engine(self, name: str) -> EngineSpec:
        """The :class:`~nascore.specs.EngineSpec` named ``name``."""
        return self.get(EngineSpec.component, name)

    def get_middleware(self, name: str) -> MiddlewareSpec:
        """The :class:`~nascore.specs.MiddlewareSpec` named ``name``."""
        return self.get(MiddlewareSpec.component, name)

    def get_optimizer(self, name: str) -> OptimizerSpec:
        """The :class:`~nascore.specs.OptimizerSpec` named ``name``."""
        return self.get(OptimizerSpec.component, name)

    def get_training_service(self, name: str) -> TrainingServiceSpec:
        """The :class:`~nascore.specs.TrainingServiceSpec` named ``name``."""
        return self.get(TrainingServiceSpec.component, name)

    def get_strategy(self, name: str) -> StrategySpec:
        """The :class:`~nascore.specs.StrategySpec` named ``name``."""
        return self.get(StrategySpec.component, name)

    def get_dashboard(self, name: Optional[str] = None) -> Optional[DashboardSpec]:
        """The dashboard called ``name``; without a name the one called "dashboard", else the first installed
        by name, or None when no dashboard is installed."""
        if name is not None:
            return self.get(DashboardSpec.component, name)
        registry = self._registries[DashboardSpec.component]
        if not registry:
            return None
        return registry.get("dashboard") or registry[min(registry)]  # type: ignore[return-value]
    def get_early_stopper(self, name: str) -> EarlyStopperSpec:
        """The :class:`~nascore.specs.EarlyStopperSpec` named ``name``."""
        return self.get(EarlyStopperSpec.component, name)

    def get_profiler(self, name: str) -> ProfilerSpec:
        """The :class:`~nascore.specs.ProfilerSpec` named ``name``."""
        return self.get(ProfilerSpec.component, name)

    def specs(self, component: str) -> List[_Spec]:
        """Every record registered for ``component``, sorted by name."""
        return [self._registries[component][n] for n in self.names(component)]

    # ---- observer hooks ----------------------------------------------------------------------------------
    def notify(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of an observer hook; a failing observer is logged, never raised."""
        if hook_name in hookspecs.REGISTRATION_HOOKS or not hasattr(hookspecs, hook_name):
            raise ValueError(f"{hook_name} is not an observer hook")
        for impl in getattr(self._pm.hook, hook_name).get_hookimpls():
            try:
                impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
            except Exception:  # noqa: BLE001
                _logger.exception("observer %s of plugin '%s' raised; ignored", hook_name, impl.plugin_name)

    def active_plugins(self) -> Iterable[PluginInfo]:
        """The plugins that loaded (status active)."""
        return (p for p in self.plugins.values() if p.status == "active")


_manager: Optional[PluginManager] = None
_lock = threading.Lock()


def create_plugin_manager(load_entrypoints: bool = True, strict: Optional[bool] = None) -> PluginManager:
    """A fresh manager, not cached (for tests)."""
    return PluginManager(load_entrypoints=load_entrypoints, strict=strict)


def get_plugin_manager() -> PluginManager:
    """The process-wide manager, built on first use."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = create_plugin_manager()
        return _manager


def set_plugin_manager(manager: Optional[PluginManager]) -> Optional[PluginManager]:
    """Replace the process-wide manager (None: rebuild on next use); returns the previous one."""
    global _manager
    with _lock:
        previous, _manager = _manager, manager
    return previous


def reset_plugin_manager() -> None:
    """Drop the process-wide manager; the next :func:`get_plugin_manager` builds a new one."""
    set_plugin_manager(None)
