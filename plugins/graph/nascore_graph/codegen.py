"""Frozen GraphModel → readable PyTorch source: one class per graph, original attribute names kept.

The file imports only torch (plus the user's own basic-unit classes, by their import path) and ends with
``build()``, which returns the model. ``exec_model`` runs the source and builds the module.
"""
from __future__ import annotations

import keyword
import math
from typing import Any, Dict, List, Optional, Tuple

import torch

from .errors import GraphConversionError
from .ir import Graph, GraphModel, Node, Slot
from .serialize import Ref

__all__ = ["generate_code", "exec_model"]

_BINARY = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//", "mod": "%", "pow": "**",
           "matmul": "@", "and_": "&", "or_": "|", "xor": "^", "lshift": "<<", "rshift": ">>", "eq": "==",
           "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_UNARY = {"neg": "-", "pos": "+", "invert": "~", "not_": "not "}
_RESERVED = {"self", "torch", "nn", "F", "operator", "math", "build", "super", "getattr", "slice", "float", "int"}
_PREFIXES = (("torch.nn.functional.", "F."), ("torch.nn.", "nn."), ("torch.", "torch."), ("builtins.", ""))


class _Imports:
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


def _render(value: Any, env: Dict[int, str], imports: _Imports) -> str:
    r = lambda v: _render(v, env, imports)  # noqa: E731
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


def _index(value: Any, env: Dict[int, str], imports: _Imports) -> str:
    """Subscript text: ``1:3`` for slices, ``a, ...`` for tuples."""
    def one(v: Any) -> str:
        if isinstance(v, slice):
            parts = ["" if p is None else _render(p, env, imports) for p in (v.start, v.stop, v.step)]
            return f"{parts[0]}:{parts[1]}" + (f":{parts[2]}" if parts[2] else "")
        return _render(v, env, imports)
    if isinstance(value, tuple) and value:
        return ", ".join(one(v) for v in value) + ("," if len(value) == 1 else "")
    return one(value)


def _attr(base: str, name: str, cls: Optional[str]) -> str:
    if cls in ("ModuleList", "Sequential") and name.isdigit():
        return f"{base}[{name}]"
    if cls == "ModuleDict":
        return f"{base}[{name!r}]"
    if name.isidentifier() and not keyword.iskeyword(name):
        return f"{base}.{name}"
    return f"getattr({base}, {name!r})"


def _path_expr(graph: Graph, target: str) -> str:
    expr, cls, children = "self", None, graph.modules
    for part in target.split("."):
        expr = _attr(expr, part, cls)
        entry = children.get(part) if children is not None else None
        if entry is not None and entry.get("kind") == "container":
            cls, children = entry["cls"], entry["children"]
        else:
            cls, children = None, None
    return expr


def _var(name: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name) or name in _RESERVED:
        name = "v_" + "".join(c if c.isalnum() else "_" for c in name)
    return name


def _call(fn: str, args: tuple, kwargs: dict, env: Dict[int, str], imports: _Imports) -> str:
    parts = [_render(a, env, imports) for a in args] + [f"{k}={_render(v, env, imports)}" for k, v in kwargs.items()]
    return f"{fn}({', '.join(parts)})"


def _expression(graph: Graph, node: Node, env: Dict[int, str], imports: _Imports) -> str:
    op = node.operation
    if op.type in ("module", "subgraph"):
        return _call(_path_expr(graph, op.target), op.args, op.kwargs, env, imports)
    if op.type == "getattr":
        return _path_expr(graph, op.target)
    if op.type == "method":
        obj = _render(op.args[0], env, imports)
        return _call(f"{obj}.{op.target}", op.args[1:], op.kwargs, env, imports)
    if op.type == "getitem":
        return f"{_render(op.args[0], env, imports)}[{_index(op.args[1], env, imports)}]"
    if op.type == "function":
        short = op.target[len("operator."):] if op.target.startswith("operator.") else None
        if short in _BINARY and len(op.args) == 2 and not op.kwargs:
            a, b = (_render(x, env, imports) for x in op.args)
            return f"{a} {_BINARY[short]} {b}"
        if short in _UNARY and len(op.args) == 1 and not op.kwargs:
            return f"{_UNARY[short]}{_render(op.args[0], env, imports)}"
        return _call(imports.name(op.target), op.args, op.kwargs, env, imports)
    if op.type == "constant":
        return _render(op.args[0], env, imports)
    if op.type == "tuple":
        return _render(tuple(op.args), env, imports)
    if op.type == "list":
        return _render(list(op.args), env, imports)
    if op.type == "dict":
        return _render(op.kwargs, env, imports)
    raise GraphConversionError(f"node {node.name!r} ({op.type} {op.target!r}) is not frozen", path=op.target,
                               fix="freeze the model space with a sample before generating code")


def _value_name(node: Node, slot: int, graph: Graph) -> str:
    if node is graph.input_node:
        return _var(graph.inputs[slot])
    if node.operation.type == "unpack":
        return _var(f"{node.name}_{slot}")
    return _var(node.name)


def _in_place(node: Node, model: GraphModel, seen: Dict[str, bool]) -> bool:
    """Whether ``node`` may change its inputs in place (then it runs even when its result is unused)."""
    op = node.operation
    if op.type in ("function", "method"):
        name = op.target.rsplit(".", 1)[-1]
        return (name.endswith("_") and not name.endswith("__")) or op.kwargs.get("inplace") is True \
            or "inplace" in name or any(a is True for a in op.args[2:])  # F.relu(x, True)-style flags
    if op.type not in ("module", "subgraph"):
        return False
    entry = _lookup_entry(node.graph, op.target)
    if entry is None:
        return True
    if entry["kind"] == "unit":
        return entry["kwargs"].get("inplace") is True or any(a is True for a in entry["args"])
    if entry["kind"] == "graph":
        name = entry["graph"]
        if name not in seen:
            seen[name] = True  # assume the worst while recursing
            seen[name] = any(_in_place(n, model, seen) for n in model.graphs[name].nodes.values())
        return seen[name]
    return True


def _lookup_entry(graph: Graph, target: str) -> Optional[Dict[str, Any]]:
    children, entry = graph.modules, None
    for part in target.split("."):
        if children is None or part not in children:
            return None
        entry = children[part]
        children = entry.get("children")
    return entry


def _live(graph: Graph, model: GraphModel) -> set:
    """Nodes whose value reaches the output, plus calls that may act in place; the rest is dead code
    (e.g. the branch an input choice dropped) and is not emitted."""
    live, seen = {graph.output_node.id, graph.input_node.id}, {}
    for node in reversed(graph.topo_order()):
        if node.id in live or any(e.tail in live for e in node.out_edges) or _in_place(node, model, seen):
            live.add(node.id)
    return live


def _forward(graph: Graph, imports: _Imports, model: GraphModel) -> List[str]:
    lines = [f"    def forward(self{''.join(', ' + _var(n) for n in graph.inputs)}):"]
    live, ret = _live(graph, model), ""
    for node in graph.topo_order():
        env = {slot: _value_name(graph.nodes[e.head], e.head_slot, graph) for slot, e in node.in_edges.items()}
        if node is graph.input_node or node.id not in live:
            continue
        if node is graph.output_node:  # returned last: in-place calls on its inputs may come after it in order
            ret = f"        return {_render(node.operation.args[0], env, imports)}"
            continue
        if node.operation.type == "unpack":
            n = node.operation.attrs["n"]
            targets = ", ".join(_var(f"{node.name}_{i}") for i in range(n)) + ("," if n == 1 else "")
            lines.append(f"        {targets} = {_render(node.operation.args[0], env, imports)}")
            continue
        lines.append(f"        {_var(node.name)} = {_expression(graph, node, env, imports)}")
    return lines + [ret]


def _tensor_init(spec: Dict[str, Any], imports: _Imports, param: bool) -> str:
    if "data" in spec:
        return _render(spec["data"], {}, imports)
    shape, dtype = tuple(spec["shape"]), spec["dtype"]
    dt = "" if dtype == torch.float32 else f", dtype={dtype}"
    if param and dtype.is_floating_point:
        return f"torch.randn({shape!r}{dt}) * 0.02"  # replaced when a state_dict is loaded
    return f"torch.zeros({shape!r}{dt})"


def _module_expr(entry: Dict[str, Any], model: GraphModel, imports: _Imports, classes: Dict[str, str]) -> str:
    kind = entry["kind"]
    if kind == "unit":
        return _call(imports.name(entry["cls"]), tuple(entry["args"]), entry["kwargs"], {}, imports)
    if kind == "graph":
        return f"{classes[entry['graph']]}()"
    if kind == "container":
        return f"nn.{entry['cls']}()"
    raise GraphConversionError(f"a {kind} entry is not frozen", fix="freeze the model space with a sample first")


def _plain(base: str, name: str) -> bool:
    return base == "self" and name.isidentifier() and not keyword.iskeyword(name) and name != "training"


def _init_tree(graph: Graph, base: str, cls: Optional[str], modules: Dict[str, Any], params: Dict, buffers: Dict,
               model: GraphModel, imports: _Imports, classes: Dict[str, str], lines: List[str]) -> None:
    for name, spec in params.items():
        grad = "" if spec.get("requires_grad", True) else ", requires_grad=False"
        value = f"nn.Parameter({_tensor_init(spec, imports, True)}{grad})"
        lines.append(f"        {base}.{name} = {value}" if _plain(base, name) else
                     f"        {base}.register_parameter({name!r}, {value})")
    for name, spec in buffers.items():
        persistent = "" if spec.get("persistent", True) else ", persistent=False"
        lines.append(f"        {base}.register_buffer({name!r}, {_tensor_init(spec, imports, False)}{persistent})")
    for name, entry in modules.items():
        kind = entry["kind"]
        if kind == "none":
            lines.append(f"        {base}.register_module({name!r}, None)")
        elif kind == "alias":
            lines.append(f"        {base}.add_module({name!r}, {_path_expr(graph, entry['path'])})")
        else:
            value = _module_expr(entry, model, imports, classes)
            lines.append(f"        {base}.{name} = {value}" if _plain(base, name) else
                         f"        {base}.add_module({name!r}, {value})")
            if kind == "container":
                _init_tree(graph, _attr(base, name, cls), entry["cls"], entry["children"], entry["params"],
                           entry["buffers"], model, imports, classes, lines)


def _class(graph: Graph, model: GraphModel, imports: _Imports, classes: Dict[str, str]) -> List[str]:
    lines = [f"class {classes[graph.name]}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    body: List[str] = []
    _init_tree(graph, "self", None, graph.modules, graph.params, graph.buffers, model, imports, classes, body)
    lines += body
    lines.append("")
    lines += _forward(graph, imports, model)
    return lines


def generate_code(model: GraphModel) -> Tuple[str, Dict[str, Any]]:
    """``(source, objects)``: the module source, and objects it needs that cannot be imported by name."""
    classes: Dict[str, str] = {}
    used = set(_RESERVED)
    for name, graph in model.graphs.items():
        cname = _var(graph.class_name)
        while cname in used:
            cname += "_"
        used.add(cname)
        classes[name] = cname
    imports = _Imports(used)
    blocks: List[List[str]] = []
    for name in [n for n in model.graphs if n != model.top] + [model.top]:
        blocks.append(_class(model.graphs[name], model, imports, classes))
    top = classes[model.top]
    out = ["# Generated by nascore-graph. Loads the state_dict of the model it was generated from."]
    out += imports.header() + ["", ""]
    for block in blocks:
        out += block + ["", ""]
    out += [f"def build() -> nn.Module:", f"    return {top}()", "", "",
            "if __name__ == '__main__':", "    print(build())", ""]
    return "\n".join(out), imports.local_objects


def exec_model(source: str, objects: Optional[Dict[str, Any]] = None, filename: str = "<nascore-graph>") -> Any:
    namespace: Dict[str, Any] = {"__name__": "nascore_graph_generated"}
    namespace.update(objects or {})
    exec(compile(source, filename, "exec"), namespace)
    return namespace["build"]()
