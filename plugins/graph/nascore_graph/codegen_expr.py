"""Python source for the pieces of a generated module: values, attribute paths, names and node expressions.

``Imports`` hands out the local name of every dotted path the source refers to and writes the import lines.
"""
from __future__ import annotations

import keyword
import math
from typing import Any, Dict, List, Optional

import torch

from .errors import GraphConversionError
from .ir import Graph, Node, Slot
from .serialize import Ref

__all__ = ["Code", "Imports", "RESERVED", "render_value", "render_index", "attr_expr", "path_expr", "var_name", "call_expr",
           "node_expression", "value_name"]

_BINARY = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
           "matmul": "@", "and_": "&", "or_": "|", "xor": "^", "lshift": "<<", "rshift": ">>", "eq": "==",
           "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_UNARY = {"neg": "-", "pos": "+", "invert": "~", "not_": "not "}
RESERVED = {"self", "torch", "nn", "F", "operator", "math", "build", "super", "getattr", "slice", "float", "int"}
_PREFIXES = (("torch.nn.functional.", "F."), ("torch.nn.", "nn."), ("torch.", "torch."), ("builtins.", ""))


class Imports:
    """Local names for the dotted paths a generated file uses; ``header()`` is its import block."""

    def __init__(self, taken: set) -> None:
        self.lines: Dict[str, str] = {}  # dotted path → local name
        self.taken = set(taken)
        self.local_objects: Dict[str, Any] = {}
        self.modules = {"torch"}

    def name(self, path: str) -> str:
        for prefix, short in _PREFIXES:
            if path.startswith(prefix) and "." not in path[len(prefix):]:
                return short + path[len(prefix):]
        if path.startswith("torch."):
            return path
        if path.startswith(("operator.", "math.")) and path.count(".") == 1:
            self.modules.add(path.split(".")[0])
            return path
        if path in self.lines:
            return self.lines[path]
        module, attrs = _split_import(path)
        if len(attrs) > 1:  # an attribute of an imported object (MyFunction.apply): import the object
            return f"{self.name(module + '.' + attrs[0])}.{'.'.join(attrs[1:])}"
        base = path.rsplit(".", 1)[-1]
        local = base
        i = 1
        while local in self.taken:
            local, i = f"{base}_{i}", i + 1
        self.taken.add(local)
        self.lines[path] = local
        if "<locals>" in path:
            from .units import resolve_name
            self.local_objects[local] = resolve_name(path)
        return local

    def header(self) -> List[str]:
        out = [f"import {m}" for m in sorted(self.modules - {"torch"})]
        out += ["import torch", "import torch.nn as nn", "import torch.nn.functional as F"]
        for path, local in sorted(self.lines.items()):
            module, _, attr = path.rpartition(".")
            if "<locals>" in path:
                out.append(f"# {local}: {path} (defined in a function; provided when executed in-process)")
            else:
                out.append(f"from {module} import {attr}" + (f" as {local}" if local != attr else ""))
        return out


def _split_import(path: str) -> tuple:
    """``(module, [attributes])``: the longest importable module prefix of a dotted path."""
    import importlib
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:i])
        if module in _MODULES or _importable(importlib, module):
            _MODULES.add(module)
            return module, parts[i:]
    return ".".join(parts[:-1]), parts[-1:]


_MODULES: set = set()


def _importable(importlib: Any, module: str) -> bool:
    try:
        importlib.import_module(module)
        return True
    except ImportError:
        return False


class Code(str):
    """Source text written as it is (a nested constructor call)."""


def render_value(value: Any, env: Dict[int, str], imports: Imports) -> str:
    """Python source of an argument value (slots become variable names, imports are recorded)."""
    r = lambda v: render_value(v, env, imports)  # noqa: E731
    if isinstance(value, Code):
        return str(value)
    if isinstance(value, Slot):
        return env[value.index]
    if value is None or isinstance(value, (bool, int, str)):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else f"float({str(value)!r})"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(r, value)) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(map(r, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{r(k)}: {r(v)}" for k, v in value.items()) + "}"
    if isinstance(value, slice):
        return f"slice({r(value.start)}, {r(value.stop)}, {r(value.step)})"
    if value is Ellipsis:
        return "..."
    if isinstance(value, Ref):
        return imports.name(value.path)
    if isinstance(value, torch.Size):
        return f"torch.Size({list(value)!r})"
    if isinstance(value, (torch.dtype, torch.memory_format, torch.layout)):
        return str(value)
    if isinstance(value, torch.device):
        return f"torch.device({str(value)!r})"
    if isinstance(value, torch.Tensor):
        return f"torch.tensor({value.tolist()!r}, dtype={value.dtype})"
    raise GraphConversionError(f"cannot write {value!r} ({type(value).__name__}) as code",
                               fix="freeze the model space first (mutables have no source form)")


def render_index(value: Any, env: Dict[int, str], imports: Imports) -> str:
    """Subscript text: ``1:3`` for slices, ``a, ...`` for tuples."""
    def one(v: Any) -> str:
        if isinstance(v, slice):
            parts = ["" if p is None else render_value(p, env, imports) for p in (v.start, v.stop, v.step)]
            return f"{parts[0]}:{parts[1]}" + (f":{parts[2]}" if parts[2] else "")
        return render_value(v, env, imports)
    if isinstance(value, tuple) and value:
        return ", ".join(one(v) for v in value) + ("," if len(value) == 1 else "")
    return one(value)


def attr_expr(base: str, name: str, cls: Optional[str]) -> str:
    """Source reaching child ``name`` of ``base`` (index for lists, key for dicts, attribute otherwise)."""
    if cls in ("ModuleList", "Sequential") and name.isdigit():
        return f"{base}[{name}]"
    if cls == "ModuleDict":
        return f"{base}[{name!r}]"
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"{base}.{name}"
    return f"getattr({base}, {name!r})"


def path_expr(graph: Graph, target: str) -> str:
    """Source reaching the submodule or tensor at dotted ``target`` from ``self``."""
    expr, cls, children = "self", None, graph.modules
    for part in target.split("."):
        expr = attr_expr(expr, part, cls)
        entry = children.get(part) if children is not None else None
        if entry is not None and entry.get("kind") == "container":
            cls, children = entry["cls"], entry["children"]
        else:
            cls, children = None, None
    return expr


def var_name(name: str) -> str:
    """``name`` made a safe Python variable name."""
    if not name.isidentifier() or keyword.iskeyword(name) or name in RESERVED:
        name = "v_" + "".join(c if c.isalnum() else "_" for c in name)
    return name


def call_expr(fn: str, args: tuple, kwargs: dict, env: Dict[int, str], imports: Imports) -> str:
    """Source of the call ``fn(*args, **kwargs)`` with rendered arguments."""
    parts = [render_value(a, env, imports) for a in args] + [f"{k}={render_value(v, env, imports)}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(parts)})"


def node_expression(graph: Graph, node: Node, env: Dict[int, str], imports: Imports) -> str:
    """Source of the expression computing ``node``."""
    op = node.operation
    if op.type in ("module", "subgraph"):
        return call_expr(path_expr(graph, op.target), op.args, op.kwargs, env, imports)
    if op.type == "getattr":
        return path_expr(graph, op.target)
    if op.type == "method":
        obj = render_value(op.args[0], env, imports)
        return call_expr(f"{obj}.{op.target}", op.args[1:], op.kwargs, env, imports)
    if op.type == "getitem":
        return f"{render_value(op.args[0], env, imports)}[{render_index(op.args[1], env, imports)}]"
    if op.type == "function":
        short = op.target[len("operator."):] if op.target.startswith("operator.") else None
        if short in _BINARY and len(op.args) == 2 and not op.kwargs:
            a, b = (render_value(x, env, imports) for x in op.args)
            return f"{a} {_BINARY[short]} {b}"
        if short in _UNARY and len(op.args) == 1 and not op.kwargs:
            return f"{_UNARY[short]}{render_value(op.args[0], env, imports)}"
        return call_expr(imports.name(op.target), op.args, op.kwargs, env, imports)
    if op.type == "constant":
        return render_value(op.args[0], env, imports)
    if op.type == "tuple":
        return render_value(tuple(op.args), env, imports)
    if op.type == "list":
        return render_value(list(op.args), env, imports)
    if op.type == "dict":
        return render_value(op.kwargs, env, imports)
    raise GraphConversionError(f"node {node.name!r} ({op.type} {op.target!r}) is not frozen", path=op.target,
                               fix="freeze the model space with a sample before generating code")


def value_name(node: Node, slot: int, graph: Graph) -> str:
    """The variable holding output ``slot`` of ``node``."""
    if node is graph.input_node:
        return var_name(graph.inputs[slot])
    if node.operation.type == "unpack":
        return var_name(f"{node.name}_{slot}")
    return var_name(node.name)
