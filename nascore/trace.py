"""Record how an object was made, so it can be rebuilt elsewhere from JSON.

Trials may run in another process or on another machine, and no pickle crosses a machine boundary: an
evaluator and everything it holds (data loaders, data sets, trainers) travel as *references*: import paths
plus (recursively) the arguments they were called with.

``trace(obj)`` wraps a class or function; calling the wrapper calls ``obj`` and attaches the recipe
``(target, args, kwargs)`` to the result, which stays an ordinary instance (``type(result)`` is unchanged)::

    loader = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("train"), batch_size=32)
    data = to_json_reference(loader)      # {"__trace__": "torch.utils.data.dataloader:DataLoader", ...}
    again = from_json_reference(data)     # a new, working DataLoader (also traced)
"""
from __future__ import annotations

import functools
import importlib
import inspect
import sys
import types
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

from nascore.space import NotSerializableError

__all__ = ["trace", "Traced", "TraceInfo", "get_trace", "is_traced", "symbol_of", "import_symbol",
           "to_json_reference", "from_json_reference", "NotSerializableError"]

TRACE_ATTR = "_nascore_trace"
# keys that mark an encoded (non-plain) value; a user dict using one of them is encoded as a pair list
_MARKERS = ("__trace__", "__symbol__", "__tuple__", "__dict__", "__mutable__")

_HINT = "or use the sequential engine"


@dataclass
class TraceInfo:
    """How a traced object was made: ``target(*args, **kwargs)``."""

    target: Callable[..., Any]
    args: Tuple[Any, ...] = ()
    kwargs: Dict[str, Any] = field(default_factory=dict)

    def rebuild(self) -> Any:
        """Call the recipe again: a fresh object made the same way (no JSON involved, works for locals)."""
        return trace(self.target)(*self.args, **self.kwargs)


# Objects that refuse attributes (``__slots__``) but allow weak references keep their recipe here.
_side_table: Dict[int, Tuple["weakref.ref[Any]", TraceInfo]] = {}


def _attach(obj: Any, info: TraceInfo) -> bool:
    try:
        object.__setattr__(obj, TRACE_ATTR, info)
        return True
    except (AttributeError, TypeError):
        pass
    try:
        key = id(obj)
        ref = weakref.ref(obj, lambda _r, key=key: _side_table.pop(key, None))
    except TypeError:
        return False  # ints, tuples ...: such results are usually plain JSON anyway
    _side_table[key] = (ref, info)
    return True


def get_trace(obj: Any) -> Optional[TraceInfo]:
    """The recipe attached to ``obj`` by :func:`trace` (or by an evaluator's constructor), else None."""
    if isinstance(obj, type):  # a class attribute of that name is not an instance's recipe
        return None
    try:
        info = obj.__dict__.get(TRACE_ATTR) if hasattr(obj, "__dict__") else None
    except Exception:  # exotic objects with a broken __dict__
        info = None
    if isinstance(info, TraceInfo):
        return info
    entry = _side_table.get(id(obj))
    if entry is not None and entry[0]() is obj:
        return entry[1]
    return None


def is_traced(obj: Any) -> bool:
    """True when ``obj`` was made by a traced class or function (its recipe can be rebuilt elsewhere)."""
    return get_trace(obj) is not None


class Traced:
    """A class or function whose calls record their arguments on the result (see :func:`trace`).

    It forwards attribute access to the wrapped object, ``isinstance(x, trace(Cls))`` checks against
    ``Cls`` and ``class Sub(trace(Cls))`` subclasses ``Cls`` itself. Instances of a class *decorated* with
    ``@trace`` cannot be pickled (the module name then refers to this wrapper); where pickling matters (e.g.
    DataLoader workers started with "spawn"), trace at the call site instead: ``nascore.trace(MyDataset)(...)``.
    """

    def __init__(self, target: Callable[..., Any]) -> None:
        self.__wrapped__ = target
        functools.update_wrapper(self, target, updated=())

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = self.__wrapped__(*args, **kwargs)
        _attach(result, TraceInfo(self.__wrapped__, args, dict(kwargs)))
        return result

    def __getattr__(self, name: str) -> Any:
        if name == "__wrapped__":  # not set yet (copy/unpickle): avoid recursing forever
            raise AttributeError(name)
        return getattr(self.__wrapped__, name)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(self.__wrapped__, type) and isinstance(instance, self.__wrapped__)

    def __subclasscheck__(self, subclass: type) -> bool:
        return isinstance(self.__wrapped__, type) and issubclass(subclass, self.__wrapped__)

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (self.__wrapped__,)

    def __repr__(self) -> str:
        return f"nascore.trace({getattr(self.__wrapped__, '__qualname__', self.__wrapped__)!r})"


def trace(obj: Callable[..., Any]) -> Traced:
    """Wrap a class or function so each call's result remembers how it was made.

    Use it at the call site (``nascore.trace(DataLoader)(dataset, batch_size=32)``) or as a decorator on
    your own classes and factory functions. The result is the real object; only a recipe is attached. To send
    it to a trial process, ``obj`` and every argument must be importable or JSON (see
    :func:`to_json_reference`).
    """
    if isinstance(obj, Traced):
        return obj
    if not callable(obj):
        raise TypeError(f"nascore.trace() takes a class or a function, got {obj!r}")
    return Traced(obj)


# ---- import references -------------------------------------------------------------------------------------
def import_symbol(symbol: str) -> Any:
    """The object named ``"module:qualname"``; a clear error when it cannot be imported."""
    if not isinstance(symbol, str) or ":" not in symbol:
        raise ValueError(f"not an import reference 'module:qualname': {symbol!r}")
    module_name, _, qualname = symbol.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ImportError(f"cannot import module '{module_name}' for reference '{symbol}': {exc}") from exc
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImportError(f"module '{module_name}' has no attribute '{qualname}' (reference '{symbol}')") \
                from None
    return obj


def _describe(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"'{name}'"


def symbol_of(obj: Any, path: str = "value") -> str:
    """``"module:qualname"`` of an importable class or function; NotSerializableError naming ``path`` else."""
    if isinstance(obj, Traced):
        obj = obj.__wrapped__
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if module is None or qualname is None:
        raise NotSerializableError(f"{path}: {obj!r} has no import path; pass an importable class or function, "
                                   f"{_HINT}")
    if qualname == "<lambda>" or qualname.endswith(".<lambda>"):
        raise NotSerializableError(f"{path}: a lambda cannot be sent to a trial process; define a function at "
                                   f"module level in an importable module, {_HINT}")
    if "<locals>" in qualname:
        raise NotSerializableError(
            f"{path}: {_describe(obj)} is defined inside a function ({qualname}) and cannot be imported by a "
            f"trial process; move it to module level in an importable module, {_HINT}")
    if module == "__main__":
        raise NotSerializableError(
            f"{path}: {_describe(obj)} is defined in __main__ (the script being run) and cannot be imported by "
            f"a trial process; move it into an importable module, {_HINT}")
    symbol = f"{module}:{qualname}"
    try:
        found = import_symbol(symbol)
    except ImportError as exc:
        raise NotSerializableError(f"{path}: {_describe(obj)} cannot be imported back ({exc}); {_HINT}") from None
    if isinstance(found, Traced):
        found = found.__wrapped__
    if found is not obj and not _same_builtin(found, obj):
        raise NotSerializableError(f"{path}: '{symbol}' imports a different object than {obj!r}; pass an object "
                                   f"reachable by its module and name, {_HINT}")
    return symbol


def _same_builtin(a: Any, b: Any) -> bool:
    # bound builtin methods (e.g. math.sqrt reached two ways) compare equal though not identical
    return inspect.isbuiltin(a) and a == b


# ---- JSON encoding -----------------------------------------------------------------------------------------
def _is_reference(obj: Any) -> bool:
    return isinstance(obj, (type, Traced)) or inspect.isfunction(obj) or inspect.isbuiltin(obj)


def to_json_reference(value: Any, path: str = "value") -> Any:
    """Encode ``value`` as JSON data that :func:`from_json_reference` turns back into an equal value.

    Plain JSON values stay as they are (tuples and dicts with non-string keys get a marker); traced objects
    become ``{"__trace__": "module:qualname", "args": [...], "kwargs": {...}}``; importable classes and
    functions ``{"__symbol__": "module:qualname"}``; nascore mutables their state. Anything else raises
    :class:`NotSerializableError` (a ``TypeError``) naming ``path``, the place of the culprit in ``value``.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [to_json_reference(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if type(value) is tuple:
        return {"__tuple__": [to_json_reference(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if type(value) is dict:
        if all(isinstance(k, str) for k in value) and not any(m in value for m in _MARKERS):
            return {k: to_json_reference(v, f"{path}[{k!r}]") for k, v in value.items()}
        return {"__dict__": [[to_json_reference(k, f"{path} key {k!r}"), to_json_reference(v, f"{path}[{k!r}]")]
                             for k, v in value.items()]}
    info = get_trace(value)
    if info is not None:
        return {"__trace__": symbol_of(info.target, path),
                "args": [to_json_reference(a, f"{path}.args[{i}]") for i, a in enumerate(info.args)],
                "kwargs": {k: to_json_reference(v, f"{path}.{k}") for k, v in info.kwargs.items()}}
    if _is_reference(value):
        return {"__symbol__": symbol_of(value, path)}
    from nascore.mutable import Mutable
    if isinstance(value, Mutable):
        return {"__mutable__": symbol_of(type(value), path),
                "state": {k: to_json_reference(v, f"{path}.{k}") for k, v in vars(value).items()}}
    raise NotSerializableError(_untraced_message(value, path))


_DATA_TYPES = ("torch.Tensor", "torch.nn.parameter.Parameter", "numpy.ndarray", "pandas.core.frame.DataFrame",
               "pandas.core.series.Series")


def _is_data(value: Any) -> bool:
    return any(f"{c.__module__}.{c.__qualname__}" in _DATA_TYPES for c in type(value).__mro__)


def _untraced_message(value: Any, path: str) -> str:
    cls = type(value)
    full = f"{cls.__module__}.{cls.__qualname__}"
    if _is_data(value):  # data itself cannot travel; the code that makes it can
        return (f"{path}: a {cls.__qualname__} holds data, which is not sent to trial processes (they rebuild "
                f"data by calling importable code); move the code that builds the data set into a function of an "
                f"importable module, e.g. `def make_train_set(): return TensorDataset(...)`, and pass "
                f"nascore.trace(make_train_set)() in its place, {_HINT}")
    if cls.__module__.startswith("torch.utils.data") and cls.__qualname__ != "DataLoader":
        return (f"{path}: a {cls.__qualname__} built without nascore.trace cannot be sent to a trial process; "
                f"build it in a function of an importable module (e.g. `def make_train_set(): return "
                f"{cls.__qualname__}(...)`) and pass nascore.trace(make_train_set)(), {_HINT}")
    if cls.__module__.startswith("torch.utils.data"):
        public = f"torch.utils.data.{cls.__qualname__}" if hasattr(importlib.import_module("torch.utils.data"),
                                                                   cls.__qualname__) else full
        return (f"{path}: a {cls.__qualname__} built without nascore.trace cannot be sent to a trial process; "
                f"build it as nascore.trace({public})(...) from importable functions, {_HINT}")
    return (f"{path}: {cls.__qualname__} object {_short_repr(value)} is not JSON and was not built with "
            f"nascore.trace, so it cannot be sent to a trial process; build it as nascore.trace({full})(...) "
            f"with importable, JSON-like arguments, {_HINT}")


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__qualname__}>"
    return text if len(text) <= 60 else text[:57] + "..."


def from_json_reference(data: Any) -> Any:
    """Rebuild a value encoded by :func:`to_json_reference` (imports modules, calls traced recipes)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [from_json_reference(v) for v in data]
    if not isinstance(data, dict):
        raise TypeError(f"not an encoded reference: {data!r}")
    if "__trace__" in data:
        target = import_symbol(data["__trace__"])
        args = [from_json_reference(a) for a in data.get("args", [])]
        kwargs = {k: from_json_reference(v) for k, v in data.get("kwargs", {}).items()}
        return trace(target)(*args, **kwargs)
    if "__symbol__" in data:
        found = import_symbol(data["__symbol__"])
        return found.__wrapped__ if isinstance(found, Traced) else found
    if "__tuple__" in data:
        return tuple(from_json_reference(v) for v in data["__tuple__"])
    if "__dict__" in data:
        return {_hashable(from_json_reference(k)): from_json_reference(v) for k, v in data["__dict__"]}
    if "__mutable__" in data:
        cls = import_symbol(data["__mutable__"])
        mutable = cls.__new__(cls)
        vars(mutable).update({k: from_json_reference(v) for k, v in data["state"].items()})
        return mutable
    return {k: from_json_reference(v) for k, v in data.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


# ``nascore.trace`` names both this module and the function: once the module is imported, the package
# attribute is the module, so make the module itself callable as ``trace``.
class _CallableModule(types.ModuleType):
    def __call__(self, obj: Callable[..., Any]) -> Traced:
        return trace(obj)


sys.modules[__name__].__class__ = _CallableModule
