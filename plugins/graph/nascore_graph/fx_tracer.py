"""The fx tracer of the graph format: children stay leaf calls, shapes may be used as values.

Beyond ``torch.fx.Tracer`` it records

* factories sized from a tensor (``torch.ones(x.size(0), n)``, ``torch.zeros(x.shape)``) and ``len(x)`` as
  nodes (torch.fx rejects a proxy there),
* item assignment (``y[:, 0] = v``) as an ``operator.setitem`` node,
* with example inputs, the real value of every node (run next to tracing, in eval mode, on copies), so that
  iterating over a tensor's chunks, ``range(x.size(1))`` and ``if x.dim() == 4`` are resolved for the
  example's shapes. Conditions on tensor *values* still fail: the graph would silently fix one branch.
"""
from __future__ import annotations

import builtins
import math
import operator
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

import torch
import torch.fx as fx
import torch.nn as nn
from torch.fx.node import map_aggregate

from .fx_proxy import MISSING, Proxy, example, has_proxy

__all__ = ["Tracer", "FACTORIES"]

# torch.fx replaces these while tracing; example values are computed with the real ones
_MODULE_CALL, _MODULE_GETATTR = nn.Module.__call__, nn.Module.__getattr__
#: torch functions that take sizes, not tensors: a proxy among their arguments becomes a call node
FACTORIES = ("ones", "zeros", "empty", "full", "rand", "randn", "randint", "arange", "eye", "linspace",
             "logspace", "tensor", "as_tensor", "scalar_tensor")


@contextmanager
def _grad_mode_recorded(tracer: "Tracer") -> Iterator[None]:
    """``with torch.no_grad():`` in a traced forward is recorded (the mode saved, gradients off, the mode
    restored at its end), so generated code does not train what the original kept out of autograd."""
    enter, leave = torch.no_grad.__enter__, torch.no_grad.__exit__

    def no_grad_enter(ctx: Any) -> None:
        enter(ctx)
        if not tracer.in_example_run:  # the tracer's own no_grad (running examples) is not the user's
            ctx._nascore_prev = tracer.create_proxy("call_function", torch.is_grad_enabled, (), {})
            tracer.create_proxy("call_function", torch.set_grad_enabled, (False,), {})

    def no_grad_exit(ctx: Any, *exc: Any) -> None:
        prev = ctx.__dict__.pop("_nascore_prev", None)
        if prev is not None:
            tracer.create_proxy("call_function", torch.set_grad_enabled, (prev,), {})
        leave(ctx, *exc)
    torch.no_grad.__enter__, torch.no_grad.__exit__ = no_grad_enter, no_grad_exit
    try:
        yield
    finally:
        torch.no_grad.__enter__, torch.no_grad.__exit__ = enter, leave


@contextmanager
def _untraced() -> Iterator[None]:
    """Run real code in the middle of a trace: modules called and read as they are outside tracing."""
    call, getattr_ = nn.Module.__call__, nn.Module.__getattr__
    nn.Module.__call__, nn.Module.__getattr__ = _MODULE_CALL, _MODULE_GETATTR
    try:
        yield
    finally:
        nn.Module.__call__, nn.Module.__getattr__ = call, getattr_


@contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()
        yield
    finally:
        for m, mode in modes:
            m.training = mode


class Tracer(fx.Tracer):
    """Every submodule is a leaf; tensors that are not the module's own become ``constants``."""

    # buffers are proxies too, so `self.pe[: x.size(0)]` (a slice bounded by a size) is recorded
    proxy_buffer_attributes = True

    def __init__(self, examples: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(autowrap_modules=(math,))
        self.constants: Dict[str, torch.Tensor] = {}
        self.examples = examples
        #: first example arguments each called child got: ``{target: (args, kwargs)}``
        self.call_examples: Dict[str, tuple] = {}
        #: (node, value, is a length) already checked in generated code (see Proxy._guard)
        self.guarded: set = set()
        self._training = False
        self.in_example_run = False
        self._tensor_names: Optional[Dict[int, str]] = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return m is not self.root

    def call_module(self, m: nn.Module, forward: Any, args: tuple, kwargs: dict) -> Any:
        if isinstance(m, nn.Sequential) and not self._installed(m) and all(self._installed(c) for c in m):
            return forward(*args, **kwargs)  # a slice made in forward (self.features[:2]): its layers in order
        return super().call_module(m, forward, args, kwargs)

    def _installed(self, m: nn.Module) -> bool:
        try:
            self.path_of_module(m)
            return True
        except NameError:
            return False

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return Proxy(node, self)

    def create_arg(self, a: Any) -> Any:
        # fx would store unknown tensors on the user's module (setattr); keep them here instead
        if isinstance(a, torch.Tensor):
            if self._tensor_names is None:
                self._tensor_names = {id(t): n for n, t in self.root.named_parameters(remove_duplicate=False)}
                self._tensor_names.update({id(t): n for n, t in self.root.named_buffers(remove_duplicate=False)})
            name = self._tensor_names.get(id(a))
            if name is None:
                name = f"_const_{len(self.constants)}"
                self.constants[name] = a
                self._tensor_names[id(a)] = name
            return self.create_node("get_attr", name, (), {})
        return super().create_arg(a)

    def create_args_for_root(self, root_fn, is_module, concrete_args=None):
        out = super().create_args_for_root(root_fn, is_module, concrete_args)
        # `self.training` read as a value (F.dropout(x, p, self.training)) stays `self.training` in generated
        # code; a branch on it (`if self.training:`) is taken for the module's current mode
        mode = self.root.__dict__.get("training")
        if isinstance(mode, bool):
            proxy = self.create_proxy("get_attr", "training", (), {})
            proxy.node.meta["example"] = mode
            proxy.node.meta["from_training"] = True  # the mode decides, not a shape: never guarded
            self.root.__dict__["training"] = proxy
            self._training = mode
        return out

    def create_proxy(self, kind, target, args, kwargs, name=None, type_expr=None, proxy_factory_fn=None):
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        if isinstance(proxy, fx.Proxy) and any(n.meta.get("from_training") for n in proxy.node.all_input_nodes):
            proxy.node.meta["from_training"] = True
        if self.examples is not None and isinstance(proxy, fx.Proxy):
            value = self._run(kind, target, args, kwargs)
            if value is not MISSING:
                proxy.node.meta["example"] = value
            node = proxy.node
            if (kind == "placeholder" and isinstance(value, (bool, int, float, str))) or any(
                    n.meta.get("from_scalar") for n in node.all_input_nodes):
                node.meta["from_scalar"] = True
        return proxy

    def _run(self, kind: str, target: Any, args: tuple, kwargs: dict) -> Any:
        """The node's value on the example inputs (``MISSING`` when an input has none or it fails)."""
        if target in (torch.set_grad_enabled, torch.is_grad_enabled):
            return MISSING  # never run: it would change the grad mode of the conversion itself
        if kind == "placeholder":
            return self.examples.get(target, MISSING)
        if kind == "get_attr" and target == "training":
            return MISSING  # set by create_args_for_root
        if kind == "get_attr":
            value = self.constants.get(target, MISSING)
            if value is MISSING:
                with _untraced():
                    value = operator.attrgetter(target)(self.root)
            return value.detach().clone() if isinstance(value, torch.Tensor) else value
        missing = []
        a, k = map_aggregate((args, kwargs), lambda v: missing.append(v) if example(v) is MISSING else example(v))
        if missing:
            return MISSING
        self.in_example_run = True
        try:
            with torch.no_grad(), _untraced():
                if kind == "call_function":
                    return target(*a, **k)
                if kind == "call_method":
                    return getattr(a[0], target)(*a[1:], **k)
                if kind == "call_module":
                    self.call_examples.setdefault(target, (a, k))
                    module = self.root.get_submodule(target)
                    with _eval_mode(module):  # values only feed shapes; no running-stat updates, no dropout
                        return module(*a, **k)
        except Exception:  # noqa: BLE001 - the trace itself decides; a missing example only limits it
            return MISSING
        finally:
            self.in_example_run = False
        return MISSING

    @contextmanager
    def patched(self, module: nn.Module) -> Iterator[None]:
        """Factories and ``len`` record a node when given a proxy (only while tracing ``module``)."""
        saved = {name: getattr(torch, name) for name in FACTORIES}
        fn_globals = getattr(type(module).forward, "__globals__", {})
        builtins_used = {"len": self._len, "int": self._number(int), "float": self._number(float),
                         "isinstance": self._isinstance}
        old_globals = {name: fn_globals.get(name, MISSING) for name in builtins_used}
        for name, fn in saved.items():
            setattr(torch, name, self._wrap(fn))
        fn_globals.update(builtins_used)
        apply = torch.autograd.Function.__dict__["apply"]
        tracer = self

        def function_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
            # a custom autograd Function stays one call (its backward is the point), not its traced forward
            if has_proxy((args, kwargs)):
                return tracer.create_proxy("call_function", apply.__get__(None, cls), args, kwargs)
            return apply.__get__(None, cls)(*args, **kwargs)
        torch.autograd.Function.apply = classmethod(function_apply)
        try:
            with _grad_mode_recorded(self):
                yield
        finally:
            if isinstance(module.__dict__.get("training"), fx.Proxy):
                module.__dict__["training"] = self._training
            torch.autograd.Function.apply = apply
            for name, fn in saved.items():
                setattr(torch, name, fn)
            for name, old in old_globals.items():
                if old is MISSING:
                    fn_globals.pop(name, None)
                else:
                    fn_globals[name] = old

    def _number(self, kind: type) -> Any:
        def convert(*args: Any) -> Any:  # int(x.size(1) / 2): a node, the value known only when run
            if args and isinstance(args[0], fx.Proxy):
                return self.create_proxy("call_function", kind, args, {})
            return kind(*args)
        convert.__wrapped__ = kind  # type: ignore[attr-defined]
        return convert

    def _isinstance(self, obj: Any, cls: Any) -> bool:
        # `int`/`float` are this tracer's wrappers inside the traced forward: test against the real types
        cls = tuple(getattr(c, "__wrapped__", c) for c in cls) if builtins.isinstance(cls, tuple) \
            else getattr(cls, "__wrapped__", cls)
        if not isinstance(obj, fx.Proxy):
            return builtins.isinstance(obj, cls)
        value = example(obj)
        if value is not MISSING:
            return builtins.isinstance(value, cls)
        classes = cls if builtins.isinstance(cls, tuple) else (cls,)
        if any(issubclass(torch.Tensor, c) for c in classes):
            # a proxy is no Tensor; answering False would silently take the other branch
            raise TypeError("isinstance() of a traced value against Tensor cannot be decided while tracing; "
                            "pass example_inputs to convert")
        return False

    def _len(self, obj: Any) -> Any:
        if isinstance(obj, fx.Proxy):  # len(x) of a tensor: a node; len() of a list of proxies stays a number
            return self.create_proxy("call_function", builtins.len, (obj,), {})
        return builtins.len(obj)

    def _wrap(self, fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if has_proxy((args, kwargs)):
                return self.create_proxy("call_function", fn, args, kwargs)
            return fn(*args, **kwargs)
        wrapper.__wrapped__ = fn
        return wrapper
