"""Frozen GraphModel → readable PyTorch source: one class per graph, original attribute names kept.

The file imports only torch (plus the user's own basic-unit classes, by their import path) and ends with
``build()``, which returns the model. ``exec_model`` runs the source and builds the module.
"""
from __future__ import annotations

import keyword
from typing import Any, Dict, List, Optional, Tuple

import torch

from .codegen_expr import (RESERVED, Code, Imports, attr_expr, call_expr, node_expression, path_expr, render_index,
                           render_value, value_name, var_name)
from .errors import GraphConversionError
from .ir import Graph, GraphModel, Node
from .mutators import lookup_entry
from .ties import tie_lines
from .units import is_unit_value

__all__ = ["generate_code", "exec_model"]


def _in_place(node: Node, model: GraphModel, seen: Dict[str, bool]) -> bool:
    """Whether ``node`` may change its inputs in place (then it runs even when its result is unused)."""
    op = node.operation
    if op.type == "unpack" and op.attrs.get("checked"):  # unpacking checks a count other nodes rely on
        return True
    if op.type in ("function", "method"):
        if op.target in ("operator.setitem", "torch._assert", "torch.set_grad_enabled"):  # never dead code
            return True
        name = op.target.rsplit(".", 1)[-1]
        return (name.endswith("_") and not name.endswith("__")) or op.kwargs.get("inplace") is True \
            or "inplace" in name or any(a is True for a in op.args[2:])  # F.relu(x, True)-style flags
    if op.type not in ("module", "subgraph"):
        return False
    entry = lookup_entry(node.graph, op.target)
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


def _live(graph: Graph, model: GraphModel) -> set:
    """Nodes whose value reaches the output, plus calls that may act in place; the rest is dead code
    (e.g. the branch an input choice dropped) and is not emitted."""
    live, seen = {graph.output_node.id, graph.input_node.id}, {}
    for node in reversed(graph.topo_order()):
        if node.id in live or any(e.tail in live for e in node.out_edges) or _in_place(node, model, seen):
            live.add(node.id)
    return live


def _signature(graph: Graph, imports: Imports) -> List[str]:
    """``def forward(...)``: the root keeps its defaults; an argument fixed at conversion keeps its value as
    the default and is checked, so another value is an error rather than a silently different model."""
    params = graph.input_node.operation.attrs.get("params")
    if params is None:
        return [f"    def forward(self{''.join(', ' + var_name(n) for n in graph.inputs)}):"]
    parts, guards, star = ["self"], [], False
    for p in params:
        name = var_name(p["name"])
        if "star" in p:
            parts.append(p["star"] + name)
            star = star or p["star"] == "*"
            continue
        if p["kw"] and not star:
            parts.append("*")
            star = True
        if "fixed" in p:
            value = render_value(p["fixed"], {}, imports)
            parts.append(f"{name}={value}")
            test = "is not" if p["fixed"] is None or isinstance(p["fixed"], bool) else "!="
            guards += [f"        if {name} {test} {value}:",
                       f"            raise ValueError('this model was generated for {name}={value}; convert the "
                       f"original with example_inputs that pass the {name} you need')"]
        elif "default" in p:
            parts.append(f"{name}={render_value(p['default'], {}, imports)}")
        else:
            parts.append(name)
    return [f"    def forward({', '.join(parts)}):"] + guards


def _forward(graph: Graph, imports: Imports, model: GraphModel) -> List[str]:
    lines = _signature(graph, imports)
    live, ret = _live(graph, model), ""
    for node in graph.topo_order():
        env = {slot: value_name(graph.nodes[e.head], e.head_slot, graph) for slot, e in node.in_edges.items()}
        if node is graph.input_node or node.id not in live:
            continue
        if node is graph.output_node:  # returned last: in-place calls on its inputs may come after it in order
            ret = f"        return {render_value(node.operation.args[0], env, imports)}"
            continue
        if node.operation.type == "unpack":
            n = node.operation.attrs["n"]
            targets = ", ".join(var_name(f"{node.name}_{i}") for i in range(n)) + ("," if n == 1 else "")
            lines.append(f"        {targets} = {render_value(node.operation.args[0], env, imports)}")
            continue
        if node.operation.target == "operator.setitem" and node.operation.type == "function":
            obj, index, value = node.operation.args
            lines.append(f"        {render_value(obj, env, imports)}[{render_index(index, env, imports)}] = "
                         f"{render_value(value, env, imports)}")
            continue
        lines.append(f"        {var_name(node.name)} = {node_expression(graph, node, env, imports)}")
    return lines + [ret]


def _tensor_init(spec: Dict[str, Any], imports: Imports, param: bool) -> str:
    if "data" in spec:
        return render_value(spec["data"], {}, imports)
    shape, dtype = tuple(spec["shape"]), spec["dtype"]
    dt = "" if dtype == torch.float32 else f", dtype={dtype}"
    if param and dtype.is_floating_point:
        return f"torch.randn({shape!r}{dt}) * 0.02"  # replaced when a state_dict is loaded
    return f"torch.zeros({shape!r}{dt})"


def _module_expr(entry: Dict[str, Any], model: GraphModel, imports: Imports, classes: Dict[str, str]) -> str:
    kind = entry["kind"]
    if kind == "unit":
        nested = lambda v: Code(_module_expr(v, model, imports, classes)) if is_unit_value(v) else v  # noqa: E731
        return call_expr(imports.name(entry["cls"]), tuple(map(nested, entry["args"])),
                         {k: nested(v) for k, v in entry["kwargs"].items()}, {}, imports)
    if kind == "graph":
        return f"{classes[entry['graph']]}()"
    if kind == "container":
        return f"nn.{entry['cls']}()"
    raise GraphConversionError(f"a {kind} entry is not frozen", fix="freeze the model space with a sample first")


def _plain(base: str, name: str) -> bool:
    return base == "self" and name.isidentifier() and not keyword.iskeyword(name) and name != "training"


def _init_tree(graph: Graph, base: str, cls: Optional[str], modules: Dict[str, Any], params: Dict, buffers: Dict,
               model: GraphModel, imports: Imports, classes: Dict[str, str], lines: List[str]) -> None:
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
            lines.append(f"        {base}.add_module({name!r}, {path_expr(graph, entry['path'])})")
        else:
            value = _module_expr(entry, model, imports, classes)
            lines.append(f"        {base}.{name} = {value}" if _plain(base, name) else
                         f"        {base}.add_module({name!r}, {value})")
            if kind == "container":
                _init_tree(graph, attr_expr(base, name, cls), entry["cls"], entry["children"], entry["params"],
                           entry["buffers"], model, imports, classes, lines)


def _class(graph: Graph, model: GraphModel, imports: Imports, classes: Dict[str, str]) -> List[str]:
    lines = [f"class {classes[graph.name]}(nn.Module):", "    def __init__(self):", "        super().__init__()"]
    body: List[str] = []
    _init_tree(graph, "self", None, graph.modules, graph.params, graph.buffers, model, imports, classes, body)
    lines += body
    if graph.name == model.top:
        lines += tie_lines(model)
    lines.append("")
    lines += _forward(graph, imports, model)
    return lines


def generate_code(model: GraphModel) -> Tuple[str, Dict[str, Any]]:
    """``(source, objects)``: the module source, and objects it needs that cannot be imported by name."""
    classes: Dict[str, str] = {}
    used = set(RESERVED)
    for name, graph in model.graphs.items():
        cname = var_name(graph.class_name)
        while cname in used:
            cname += "_"
        used.add(cname)
        classes[name] = cname
    imports = Imports(used)
    blocks: List[List[str]] = []
    for name in [n for n in model.graphs if n != model.top] + [model.top]:
        blocks.append(_class(model.graphs[name], model, imports, classes))
    top = classes[model.top]
    out = ["# Generated by nascore-graph. Loads the state_dict of the model it was generated from."]
    out += imports.header() + ["", ""]
    for block in blocks:
        out += block + ["", ""]
    out += ["def build() -> nn.Module:", f"    return {top}()", "", "",
            "if __name__ == '__main__':", "    print(build())", ""]
    return "\n".join(out), imports.local_objects


def exec_model(source: str, objects: Optional[Dict[str, Any]] = None, filename: str = "<nascore-graph>") -> Any:
    """Execute generated ``source`` (with ``objects`` in its namespace) and return what its ``build()`` makes."""
    namespace: Dict[str, Any] = {"__name__": "nascore_graph_generated"}
    namespace.update(objects or {})
    exec(compile(source, filename, "exec"), namespace)
    return namespace["build"]()
