"""The fx tracer's proxy: values traced through a forward that can be assigned into, iterated, measured and
tested with the help of example values (run next to tracing), and that leave checks (``torch._assert``) in the
graph where an example value decides code."""
from __future__ import annotations

import builtins
import dis
import inspect
import operator
import sys
from bisect import bisect_left
from typing import Any, Iterator, Optional

import torch
import torch.fx as fx
from torch.fx.node import map_aggregate

__all__ = ["Proxy", "MISSING", "example", "has_proxy", "shape_example", "chunk_count"]

#: no example value (an input without one, or running the node failed)
MISSING = object()


def example(value: Any) -> Any:
    """The example value of a proxy (``MISSING`` when it has none); any other value is its own example."""
    return value.node.meta.get("example", MISSING) if isinstance(value, fx.Proxy) else value


def shape_example(proxy: fx.Proxy) -> Any:
    """The example value when it may decide code: not derived from a non-tensor argument (a flag or a
    number that call sites pass differently must stay an error, not one branch fixed silently)."""
    return MISSING if proxy.node.meta.get("from_scalar") else example(proxy)


def has_proxy(value: Any) -> bool:
    """Whether ``value`` (nested lists, tuples, dicts) holds a proxy."""
    found = []
    map_aggregate(value, lambda v: found.append(v) if isinstance(v, fx.Proxy) else None)
    return bool(found)


def chunk_count(node: fx.Node) -> Optional[int]:
    """``n`` of ``x.chunk(n)`` / ``torch.chunk(x, n)`` / ``x.tensor_split(n)`` when it is a literal."""
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", None)
    if node.op not in ("call_method", "call_function") or name not in ("chunk", "tensor_split"):
        return None
    n = node.args[1] if len(node.args) > 1 else node.kwargs.get("chunks", node.kwargs.get("sections"))
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _caller_instruction() -> tuple:
    """``(instructions, index)`` of the bytecode instruction running in the frame that called the caller
    (the traced forward, where a proxy is iterated or tested)."""
    frame = inspect.currentframe().f_back.f_back  # type: ignore[union-attr]
    code = list(dis.get_instructions(frame.f_code))
    at = bisect_left(code, frame.f_lasti, key=lambda i: i.offset) if sys.version_info >= (3, 11) \
        else frame.f_lasti // 2
    return code, at


class Proxy(fx.Proxy):
    """A proxy that can be assigned into and, with an example value, iterated and used as a shape."""

    def __getattr__(self, k: str) -> Any:
        return _Attribute(self, k)  # x.shape / x.ndim keep this class's behaviour (list(x.shape), len(...))

    def __setitem__(self, key: Any, value: Any) -> None:
        self.tracer.create_proxy("call_function", operator.setitem, (self, key, value), {})

    def __iter__(self) -> Iterator[Any]:
        code, at = _caller_instruction()
        inst = code[at]
        if inst.opname == "UNPACK_SEQUENCE":  # `a, b = x.chunk(2)`: the count is in the code
            return iter([self[i] for i in range(inst.argval)])
        chunks = chunk_count(self.node)
        if chunks is not None:  # x.chunk(n): at most n parts; indexing a missing one raises, never guesses
            return iter([self[i] for i in range(chunks)])
        value = shape_example(self)
        if isinstance(value, (torch.Tensor, tuple, list)):
            self._guard(len(value), length=True)
            return iter([self[i] for i in range(len(value))])
        return self.tracer.iter(self)

    def keys(self) -> Any:
        value = example(self)  # `f(**kwargs)`: the keywords of the example call (none at all call sites)
        if isinstance(value, dict):
            return value.keys()
        return super().keys()

    def __len__(self) -> int:
        value = shape_example(self)  # `f(*x.shape[:2])` asks for a length first
        if isinstance(value, (tuple, list, torch.Tensor)):
            self._guard(len(value), length=True)
            return len(value)
        return super().__len__()

    def __bool__(self) -> bool:
        code, at = _caller_instruction()
        if at + 1 < len(code) and code[at + 1].opname == "LOAD_ASSERTION_ERROR":
            # `assert C == self.dim, "..."`: a check kept in generated code (torch._assert), not a branch
            message = code[at + 2].argval if at + 2 < len(code) and code[at + 2].opname == "LOAD_CONST" and \
                isinstance(code[at + 2].argval, str) else "assertion failed"
            self.tracer.create_proxy("call_function", torch._assert, (self, message), {})
            return True
        value = shape_example(self)
        if isinstance(value, (bool, int)):  # a shape condition (x.dim() == 4), resolved for the example
            self._guard(value)
            return bool(value)
        return super().__bool__()

    def __index__(self) -> int:
        value = shape_example(self)
        if isinstance(value, int) and not isinstance(value, bool):
            self._guard(value)
            return value
        raise TypeError("a traced size is used as a Python int (e.g. in range()); pass example_inputs to "
                        "convert so it can be resolved for their shapes")

    __int__ = __index__

    def _guard(self, value: Any, length: bool = False) -> None:
        """A value resolved from the example inputs decides code here (a branch, a trip count, a Python int):
        generated code checks it still holds (``torch._assert``), as torch.export guards its shapes, so
        other shapes raise instead of silently running the code specialised to these."""
        key = (self.node, value, length)
        if self.node.meta.get("from_training") or key in self.tracer.guarded:  # the mode's branch; once per value
            return
        self.tracer.guarded.add(key)
        subject = self.tracer.create_proxy("call_function", builtins.len, (self,), {}) if length else self
        if isinstance(value, bool):
            cond = subject if value else self.tracer.create_proxy("call_function", operator.not_, (subject,), {})
        else:
            cond = self.tracer.create_proxy("call_function", operator.eq, (subject, value), {})
        self.tracer.create_proxy("call_function", torch._assert, (cond, "this model was generated for the shapes "
                                 "of the example inputs; convert with example_inputs of the shapes you need"), {})


class _Attribute(fx.proxy.Attribute, Proxy):
    """``proxy.attr``: torch.fx's lazy attribute proxy, with the behaviour of :class:`Proxy`."""

