"""TorchScript frontend: ``torch.jit.script`` one module instance and translate its forward graph.

Submodule calls stay calls (``prim::CallMethod``); constants, attribute reads and every non-tensor
computation whose inputs are known at conversion time are folded, so conditions on module attributes
(``if self.training``, ``if mask is not None`` with a call site passing None) pick their branch here.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn

from .errors import GraphConversionError
from .ir import Graph, Operation, Slot
from .ts_inplace import LIST_OPS as _LIST_OPS, grad_context as _grad_context, list_op as _list_op
from .ts_inplace import raising_branch as _raising_branch
from .ts_script import Scripted
from .ts_values import FOLD as _FOLD, MATH as _MATH, MAX_UNROLL as _MAX_UNROLL, OBJECT_KINDS as _OBJECT_KINDS
from .ts_values import SCALAR_KINDS as _SCALAR_KINDS, Const as _Const, Object as _Object
from .ts_values import Uninitialized as _Uninitialized, enum_value as _enum_value, is_default as _is_default
from .ts_values import items as _items, same as _same
from .units import qualified_name, resolve_name

__all__ = ["trace_graph"]


def trace_graph(module: nn.Module, path: str, name: str, concrete: Dict[str, Any],
                cache: Optional[Scripted] = None) -> tuple:
    """Script ``module`` (at ``path``) with TorchScript and turn its graph into an IR graph named ``name``."""
    scripted, shell = (cache or Scripted()).get(module, path)
    jit_graph = scripted.graph
    inputs = list(jit_graph.inputs())[1:]
    import inspect
    params = list(inspect.signature(module.forward).parameters)
    names = params[: len(inputs)]
    dynamic = [n for n in names if n not in concrete]
    graph = Graph(name, dynamic, type(module).__name__)
    tr = _Translator(graph, module, path, shell, scripted)
    env = tr.env
    env[list(jit_graph.inputs())[0].unique()] = ("module", "")
    k = 0
    for value, pname in zip(inputs, names):
        if pname in concrete:
            env[value.unique()] = _Const(concrete[pname])
        else:
            env[value.unique()] = ("node", graph.input_node, k)
            k += 1
    outputs = tr.block(jit_graph.nodes(), [o for o in jit_graph.outputs()])
    graph.output_node.operation.args = (tr.template(outputs[0], graph.output_node, [0]),)
    return graph, {}, {}


def _script_function(name: str, tr: "_Translator", node: Any) -> Any:
    """The one compiled function named ``name`` (TorchScript's constant holds no qualified name)."""
    import torch.jit._state as jit_state
    found = [f for f in jit_state._python_cu.get_functions() if f.qualified_name.rsplit(".", 1)[-1] == name]
    if len(found) != 1:
        tr.fail(f"a call of function {name!r} ({len(found)} compiled functions have that name)", node)
    return found[0]


class _Translator:
    def __init__(self, graph: Graph, module: nn.Module, path: str, shell: nn.Module, scripted: Any) -> None:
        self.graph, self.module, self.path, self.shell, self.scripted = graph, module, path, shell, scripted
        self.env: Dict[int, Any] = {}

    def inline_method(self, n: Any, owner: str, name: str, args: List[Any]) -> List[Any]:
        """A helper method (``self._block(x)``, ``self.sub.helper(x)``) translated in place, as fx traces
        through it; value ids are per graph, so the method's body gets its own environment."""
        script = self.scripted
        for part in filter(None, owner.split(".")):
            script = getattr(script, part)
        try:
            method_graph = script._c._get_method(name).graph
        except RuntimeError:
            self.fail(f"method call {name!r}", n)
        return self.inline(method_graph, [("module", owner)] + list(args))

    def inline(self, method_graph: Any, args: List[Any]) -> List[Any]:
        inner = _Translator(self.graph, self.module, self.path, self.shell, self.scripted)
        for value, arg in zip(method_graph.inputs(), args):
            inner.env[value.unique()] = arg
        return inner.block(method_graph.nodes(), list(method_graph.outputs()))

    def unroll(self, n: Any, ins: List[Any]) -> List[Any]:
        """A loop whose trip count and condition are known here (``for _ in range(self.n)``, ``while i <
        self.steps``) is unrolled, as fx does; one that depends on tensor values or sizes is rejected."""
        trip, cond, values = ins[0], ins[1], list(ins[2:])
        if not (isinstance(trip, _Const) and isinstance(cond, _Const)):
            self.fail("a loop whose length is not known when converting (it depends on tensor sizes or values)", n)
        body = list(n.blocks())[0]
        params, step = list(body.inputs()), 0
        while cond.value and step < trip.value:
            if step >= _MAX_UNROLL:
                self.fail(f"a loop of more than {_MAX_UNROLL} iterations", n)
            for param, value in zip(params, [_Const(step)] + values):
                self.env[param.unique()] = value
            cond, *values = self.block(body.nodes(), list(body.outputs()))
            if not isinstance(cond, _Const):
                self.fail("a loop whose condition depends on tensor values", n)
            step += 1
        return values

    def object_node(self, n: Any, kind: str, ins: List[Any], set_out: Any) -> bool:
        """Objects of TorchScript classes (``Stats(mean, std)`` in forward): their attributes are tracked
        here and their methods inlined, so only tensor operations reach the graph."""
        if kind == "prim::CreateObject":
            set_out(_Object(n.output().type().qualified_name()))
        elif kind == "prim::SetAttr" and isinstance(ins[0], _Object):
            ins[0].attrs[n.s("name")] = ins[1]
        elif kind == "prim::GetAttr" and isinstance(ins[0], _Object):
            set_out(ins[0].attrs[n.s("name")])
        elif kind == "prim::CallMethod" and isinstance(ins[0], _Object):
            import torch.jit._state as jit_state
            fn = jit_state._python_cu.find_function(f"{ins[0].qualname}.{n.s('name')}")
            if fn is None:
                self.fail(f"method {n.s('name')!r} of {ins[0].qualname}", n)
            for i, v in enumerate(self.inline(fn.graph, list(ins))):
                set_out(v, i)
        else:
            return False
        return True

    def python_op(self, n: Any, set_out: Any) -> None:
        """A Python call TorchScript left as is: a ``torch.autograd.Function``'s ``apply`` (or an ignored
        function), kept as one call."""
        fn = n.pyobj()
        values, scalars = iter(self.env[v.unique()] for v in n.inputs()), iter(n.scalar_args())
        args = [next(values) if c == "d" else _Const(next(scalars)) for c in n.cconv()]
        op = Operation("function", qualified_name(fn))
        set_out(("node", self.emit(n, op, args), 0))

    def fail(self, what: str, node: Any) -> None:
        raise GraphConversionError(f"the torchscript frontend cannot convert {what}", path=self.path,
                                   construct=node.kind(), fix="use frontend='fx', or mark the module a basic unit")

    def _explicit_args(self, target: str, args: list) -> list:
        """Drop trailing arguments TorchScript filled in with the callee's defaults (fx records the call as
        written, so both frontends give the same node)."""
        import inspect
        try:
            params = list(inspect.signature(self.shell.get_submodule(target).forward).parameters.values())
        except (AttributeError, TypeError, ValueError):
            return args
        args = list(args)
        while args and len(args) <= len(params) and isinstance(args[-1], _Const):
            default = params[len(args) - 1].default
            if default is inspect.Parameter.empty or not _same(default, args[-1].value):
                break
            args.pop()
        return args

    def block(self, nodes: Any, outputs: List[Any]) -> List[Any]:
        for node in nodes:
            self.node(node)
        return [self.env[o.unique()] for o in outputs]

    def template(self, value: Any, node: Any, counter: list) -> Any:
        if isinstance(value, _Const):
            return value.value
        if isinstance(value, list):  # a list/tuple whose items are known separately
            return [self.template(v, node, counter) for v in value]
        if isinstance(value, tuple) and value and value[0] == "node":
            slot = counter[0]
            counter[0] += 1
            self.graph.add_edge(value[1], value[2], node, slot)
            return Slot(slot)
        if isinstance(value, tuple) and value and value[0] == "tuple":
            return tuple(self.template(v, node, counter) for v in value[1])
        if isinstance(value, tuple) and value and value[0] == "dict":
            return {self.template(k, node, counter): self.template(v, node, counter)
                    for k, v in zip(value[1], value[2])}
        if isinstance(value, tuple) and value and value[0] == "module":
            self.fail("a submodule used as a value", node)
        raise AssertionError(value)

    def emit(self, jit_node: Any, op: Operation, args: list, kwargs: dict | None = None) -> Any:
        name = (jit_node.output().debugName().split(".")[0] if jit_node.outputsSize() == 1 else op.type) or "v"
        name = name if name.isidentifier() and not name[0].isdigit() else f"v{name}"
        node = self.graph.add_node(name, op)
        counter = [0]
        op.args = tuple(self.template(a, node, counter) for a in args)
        op.kwargs = {k: self.template(v, node, counter) for k, v in (kwargs or {}).items()}
        return node

    def node(self, n: Any) -> None:
        kind = n.kind()
        ins = [self.env[v.unique()] for v in n.inputs()]
        outs = list(n.outputs())
        set_out = lambda value, i=0: self.env.__setitem__(outs[i].unique(), value)  # noqa: E731
        if kind in _OBJECT_KINDS and self.object_node(n, kind, ins, set_out):
            return
        if kind == "prim::Constant":
            t = outs[0].type()
            if t.kind() == "FunctionType":
                qual = t.str().replace("__torch__.", "")
                if "." not in qual:  # TorchScript gave no qualified name ("Function")
                    name = n.s("name")
                    qual = f"torch.nn.functional.{name}" if hasattr(torch.nn.functional, name) else name
                set_out(_Const(("function", qual)))
            else:
                set_out(_Const(outs[0].toIValue()))
        elif kind == "prim::GetAttr":
            base = ins[0]
            attr = n.s("name")
            path = f"{base[1]}.{attr}" if base[1] else attr
            obj = self.module.get_submodule(base[1]) if base[1] else self.module
            value = getattr(obj, attr)
            if isinstance(value, nn.Module):
                set_out(("module", path))
            elif isinstance(value, torch.Tensor):
                set_out(("node", self.emit(n, Operation("getattr", path), []), 0))
            else:
                set_out(_Const(value))
        elif kind == "prim::CallMethod":
            if not (isinstance(ins[0], tuple) and ins[0][0] == "module"):
                self.fail(f"method call {n.s('name')!r}", n)
            if not n.s("name").startswith("forward"):  # a helper method of this module or a child
                for i, v in enumerate(self.inline_method(n, ins[0][1], n.s("name"), ins[1:])):
                    set_out(v, i)
                return
            from .units import call_kind
            target = ins[0][1]
            args = self._explicit_args(target, ins[1:])
            set_out(("node", self.emit(n, Operation(call_kind(self.module.get_submodule(target)), target), args), 0))
        elif kind == "prim::CallFunction":
            fn = ins[0].value if isinstance(ins[0], _Const) else None
            if isinstance(fn, tuple) and fn[0] == "function" and "." not in fn[1]:
                # a compiled function TorchScript did not inline (a static method such as
                # nn.Transformer.generate_square_subsequent_mask): translate its graph in place
                for i, v in enumerate(self.inline(_script_function(fn[1], self, n).graph, ins[1:])):
                    set_out(v, i)
                return
            if not (isinstance(fn, tuple) and fn[0] == "function"):
                self.fail("a call of an unknown function", n)
            set_out(("node", self.emit(n, Operation("function", qualified_name(resolve_name(fn[1]))), ins[1:]), 0))
        elif kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            if all(isinstance(v, _Const) for v in ins):
                vals = [v.value for v in ins]
                set_out(_Const(vals if kind == "prim::ListConstruct" else tuple(vals)))
            else:
                set_out(list(ins) if kind == "prim::ListConstruct" else ("tuple", list(ins)))
        elif kind in _LIST_OPS and n.inputsAt(0).type().kind() in ("ListType", "DictType") and \
                _list_op(self, n, kind, ins, set_out):
            pass
        elif kind in ("aten::append", "aten::extend") and _items(ins[0]) is not None and (
                kind == "aten::append" or _items(ins[1]) is not None):
            # a list built in place (`outs.append(op(x))`, list comprehensions): the list value changes
            items = _items(ins[0]) + ([ins[1]] if kind == "aten::append" else _items(ins[1]))
            self.env[n.inputsAt(0).unique()] = items
            set_out(items)
        elif kind == "prim::DictConstruct" or (kind == "aten::dict" and not ins):  # {...}, OrderedDict()
            set_out(("dict", list(ins[0::2]), list(ins[1::2])))
        elif kind == "aten::_set_item" and isinstance(ins[0], tuple) and ins[0][0] == "dict" and \
                isinstance(ins[1], _Const):
            # a dict filled in place ({k: m(x) for k, m in self.heads.items()})
            keys = [k.value if isinstance(k, _Const) else k for k in ins[0][1]]
            if ins[1].value in keys:
                ins[0][2][keys.index(ins[1].value)] = ins[2]
            else:
                ins[0][1].append(ins[1])
                ins[0][2].append(ins[2])
        elif kind in ("prim::Enter", "prim::Exit"):
            _grad_context(self, n, kind, ins, set_out)
        elif kind == "prim::Uninitialized":  # the value of a branch not taken (early returns); never rendered
            set_out(_Const(_Uninitialized()))
        elif kind == "prim::PythonOp":
            self.python_op(n, set_out)
        elif kind in ("prim::TupleUnpack", "prim::ListUnpack"):
            src = ins[0]
            if isinstance(src, _Const):
                for i, v in enumerate(src.value):
                    set_out(_Const(v), i)
            elif isinstance(src, list) or (isinstance(src, tuple) and src[0] == "tuple"):
                for i, v in enumerate(src if isinstance(src, list) else src[1]):
                    set_out(v, i)
            else:
                node = self.emit(n, Operation("unpack", attrs={"n": len(outs)}), [src])
                for i in range(len(outs)):
                    set_out(("node", node, i), i)
        elif kind in ("prim::TupleIndex", "aten::__getitem__") and isinstance(ins[1], _Const) and (
                isinstance(ins[0], list) or (isinstance(ins[0], tuple) and ins[0][0] == "tuple")):
            items = ins[0] if isinstance(ins[0], list) else ins[0][1]
            set_out(items[ins[1].value])
        elif kind == "prim::TupleIndex" and isinstance(ins[1], _Const):  # a call's tuple result, e.g. attn(...)[0]
            set_out(("node", self.emit(n, Operation("getitem"), ins), 0))
        elif kind == "prim::If":
            cond = ins[0]
            if not isinstance(cond, _Const):
                if _raising_branch(self, n, cond, set_out):  # an assert on shapes or values: kept as a check
                    return
                self.fail("a condition that depends on tensor values", n)
            blk = list(n.blocks())[0 if cond.value else 1]
            for i, v in enumerate(self.block(blk.nodes(), list(blk.outputs()))):
                set_out(v, i)
        elif kind in ("prim::unchecked_cast", "aten::detach_") and len(ins) == 1:
            set_out(ins[0])
        elif kind == "prim::Loop":
            for i, v in enumerate(self.unroll(n, ins)):
                set_out(v, i)
        elif kind == "prim::RaiseException":
            self.fail("a raise that cannot be ruled out at conversion time", n)
        elif kind in ("prim::dtype", "prim::device", "prim::layout"):
            attr = kind.split("::")[1]
            set_out(("node", self.emit(n, Operation("function", "builtins.getattr"), [ins[0], _Const(attr)]), 0))
        elif kind == "prim::NumToTensor":
            set_out(("node", self.emit(n, Operation("function", "torch.scalar_tensor"), ins), 0))
        elif kind.startswith("aten::") or kind in ("prim::min", "prim::max"):
            self.aten(n, kind.split("::")[1], ins, outs, set_out)
        else:
            self.fail(f"the construct {kind}", n)

    def aten(self, n: Any, name: str, ins: list, outs: list, set_out: Any) -> None:
        if name in ("__is__", "__isnot__") and len(ins) == 2 and any(
                isinstance(v, _Const) and v.value is None for v in ins) and any(
                isinstance(v, tuple) and v[:2] == ("node", self.graph.input_node) for v in ins):
            # a forward argument left in the graph is never None: call sites passing None made it a constant
            # (the converter rejects calls that disagree); fx's proxies answer the same
            set_out(_Const(name == "__isnot__"))
            return
        if name == "len" and isinstance(ins[0], list):  # a list whose items are known separately
            set_out(_Const(len(ins[0])))
            return
        if all(isinstance(v, _Const) for v in ins) and (name in _FOLD or name in ("min", "max")):
            fn = _FOLD.get(name) or {"min": min, "max": max}[name]
            set_out(_Const(fn(*(v.value for v in ins))))
            return
        scalar = all(o.type().kind() in _SCALAR_KINDS for o in outs) and all(
            v.type().kind() in _SCALAR_KINDS for v in n.inputs())
        if name == "__getitem__":
            set_out(("node", self.emit(n, Operation("getitem"), ins), 0))
            return
        if name == "slice" and n.inputsAt(0).type().kind() == "ListType" and all(
                isinstance(v, _Const) for v in ins[1:]):  # x.shape[2:]: a slice of a list, not of a tensor
            start, end, step = (v.value for v in ins[1:4])
            bounds = slice(start, end, None if step == 1 else step)
            if isinstance(ins[0], _Const):
                set_out(_Const(ins[0].value[bounds]))
            elif isinstance(ins[0], list):
                set_out(ins[0][bounds])
            else:
                set_out(("node", self.emit(n, Operation("getitem"), [ins[0], _Const(bounds)]), 0))
            return
        if scalar and name in _MATH:  # math.sqrt(x.size(-1)): a number, not a tensor
            set_out(("node", self.emit(n, Operation("function", f"math.{_MATH[name]}"), ins), 0))
            return
        if scalar and name in ("min", "max"):  # max(x.size(1) // 2, 1): Python's, not torch.max
            set_out(("node", self.emit(n, Operation("function", f"builtins.{name}"), ins), 0))
            return
        if scalar and name in _FOLD:
            fn = _FOLD[name]
            prefix = "builtins" if fn in (len, int, float, bool) else "operator"
            set_out(("node", self.emit(n, Operation("function", f"{prefix}.{fn.__name__}"), ins), 0))
            return
        schema = torch._C.parse_schema(n.schema()) if n.schema() != "(no schema)" else None
        args, kwargs = list(ins), {}
        if schema is not None:
            args, kwargs = [], {}
            for arg, v in zip(schema.arguments, ins):
                v = _enum_value(arg.name, v)
                if arg.kwarg_only:
                    # left at None or at the schema default: leave it out, as the user most likely did
                    if not (isinstance(v, _Const) and (v.value is None or _is_default(arg, v.value))):
                        kwargs[arg.name] = v
                else:
                    args.append(v)
            positional = [a for a in schema.arguments if not a.kwarg_only]
            # trailing arguments left at None or at their default: the Python API often takes them as
            # keywords only (torch.add(x, y, 1) is a deprecated overload), so leave them out
            while args and isinstance(args[-1], _Const) and (
                    args[-1].value is None or _is_default(positional[len(args) - 1], args[-1].value)):
                args.pop()
        if name in ("size", "dim", "numel", "contiguous", "view", "reshape", "flatten", "permute",
                    "transpose", "expand", "chunk", "split", "unsqueeze", "squeeze", "type_as", "to", "float"):
            op = Operation("method", name)
        elif hasattr(torch, name):
            op = Operation("function", f"torch.{name}")
        elif hasattr(torch.nn.functional, name):
            op = Operation("function", f"torch.nn.functional.{name}")
        else:
            op = Operation("function", f"torch.ops.aten.{name}")
        node = self.emit(n, op, args, kwargs)
        if name == "chunk" and len(args) > 1 and isinstance(args[1], _Const) and isinstance(args[1].value, int):
            # x.chunk(n) gives n parts or fewer (a short dimension). TorchScript's list would fold len() to n
            # and unroll loops n times, so generated code unpacks exactly n names: another count raises there
            parts = self.graph.add_node(f"{node.name}_parts", Operation(
                "unpack", args=(Slot(0),), attrs={"n": args[1].value, "checked": True}))
            self.graph.add_edge(node, 0, parts, 0)
            set_out([("node", parts, i) for i in range(args[1].value)])
            return
        if len(outs) == 1:
            set_out(("node", node, 0))
            return
        unpack = self.graph.add_node(f"{node.name}_out", Operation("unpack", args=(Slot(0),), attrs={"n": len(outs)}))
        self.graph.add_edge(node, 0, unpack, 0)
        for i in range(len(outs)):
            set_out(("node", unpack, i), i)
