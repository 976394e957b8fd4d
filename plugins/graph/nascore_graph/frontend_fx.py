"""torch.fx frontend: trace one module instance (its children stay calls) and translate it to a Graph."""
from __future__ import annotations

import inspect
import operator
from typing import Any, Dict, Optional

import torch.fx as fx
import torch.nn as nn

from .errors import GraphConversionError
from .fx_tracer import Tracer
from .ir import Graph, Node, Operation, Slot
from .units import qualified_name

__all__ = ["trace_graph"]

_DROP = object()


def trace_graph(module: nn.Module, path: str, name: str, concrete: Dict[str, Any],
                examples: Optional[Dict[str, Any]] = None) -> tuple:
    """``(graph, constants, call_examples)``: ``graph`` holds the forward of ``module``; children are call
    nodes whose ``target`` is their attribute path; ``constants`` are tensor constants to store as buffers.
    ``examples`` (argument name → value) are run next to tracing; ``call_examples`` then holds the
    arguments each called child got (``{target: (args, kwargs)}``)."""
    tracer = Tracer(None if examples is None else {**examples, **concrete})
    try:
        with tracer.patched(module):
            fx_graph = tracer.trace(module, concrete_args=dict(concrete) or None)
    except Exception as exc:
        raise GraphConversionError(
            f"torch.fx cannot trace {type(module).__name__}.forward", path=path,
            construct=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            fix="mark the module a basic unit (nascore_graph.basic_unit or make it a ParameterizedModule), "
                "pass example_inputs to convert when shapes drive a loop or a branch, "
                "or use frontend='torchscript'") from exc
    for n in list(fx_graph.nodes):  # `self.training` is read ahead; drop it when the forward never used it
        if n.op == "get_attr" and n.target == "training" and not n.users:
            fx_graph.erase_node(n)
    params = [p for p in inspect.signature(module.forward).parameters.values()]
    return _translate(fx_graph, module, name, params, concrete), tracer.constants, tracer.call_examples


def _translate(fx_graph: fx.Graph, module: nn.Module, name: str, params: list, concrete: Dict[str, Any]) -> Graph:
    placeholders = [n for n in fx_graph.nodes if n.op == "placeholder"]
    dynamic = [(n, p) for n, p in zip(placeholders, params) if p.name not in concrete]
    graph = Graph(name, [p.name for _, p in dynamic], type(module).__name__)
    ir_of: Dict[fx.Node, Any] = {}
    for slot, (n, _) in enumerate(dynamic):
        ir_of[n] = (graph.input_node, slot)
    for n in placeholders:
        ir_of.setdefault(n, _DROP)
    modules = dict(module.named_modules(remove_duplicate=False))
    for n in fx_graph.nodes:
        if n.op == "placeholder":
            continue
        if n.op == "output":
            graph.output_node.operation.args = (_template(n.args[0], graph, graph.output_node, ir_of, [0]),)
            continue
        if any(ir_of.get(d) is _DROP for d in n.all_input_nodes):
            ir_of[n] = _DROP  # only the specialisation asserts fx adds for concrete arguments read them
            continue
        op = _operation(n, modules)
        node = graph.add_node(n.name, op)
        counter = [0]
        op.args = _template(tuple(n.args), graph, node, ir_of, counter)
        op.kwargs = _template(dict(n.kwargs), graph, node, ir_of, counter)
        ir_of[n] = (node, 0)
    return graph


def _template(value: Any, graph: Graph, node: Node, ir_of: Dict, counter: list) -> Any:
    if isinstance(value, fx.Node):
        source = ir_of[value]
        slot = counter[0]
        counter[0] += 1
        graph.add_edge(source[0], source[1], node, slot)
        return Slot(slot)
    if isinstance(value, tuple):
        return tuple(_template(v, graph, node, ir_of, counter) for v in value)
    if isinstance(value, list):
        return [_template(v, graph, node, ir_of, counter) for v in value]
    if isinstance(value, dict):
        return {k: _template(v, graph, node, ir_of, counter) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(*(_template(v, graph, node, ir_of, counter) for v in (value.start, value.stop, value.step)))
    return value


def _operation(n: fx.Node, modules: Dict[str, nn.Module]) -> Operation:
    if n.op == "get_attr":
        return Operation("getattr", n.target)
    if n.op == "call_method":
        return Operation("method", n.target)
    if n.op == "call_module":
        from .units import call_kind
        return Operation(call_kind(modules[n.target]), n.target)
    if n.target is operator.getitem:
        return Operation("getitem")
    return Operation("function", qualified_name(n.target))
