"""Exact JSON round trip of the IR, and a fast structural copy.

Plain JSON cannot tell a tuple from a list, or hold slices, dtypes, ``...`` or slots; such values are
written as one-key tagged objects (``{"$tuple": [...]}``), so ``from_json(to_json(m))`` rebuilds the
same Python values. No pickle anywhere.
"""
from __future__ import annotations

import math
from typing import Any, Dict

from .ir import Edge, Graph, GraphModel, Node, Operation, Slot

__all__ = ["encode_value", "decode_value", "model_to_json", "model_from_json", "copy_model", "Ref"]


class Ref:
    """A reference to an importable object (a function or class passed as an argument)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Ref) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Ref({self.path!r})"


def encode_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode_value(v) for k, v in value.items()}
        return {"$dict": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, Slot):
        return {"$slot": value.index}
    if isinstance(value, slice):
        return {"$slice": [encode_value(value.start), encode_value(value.stop), encode_value(value.step)]}
    if value is Ellipsis:
        return {"$ellipsis": 0}
    if isinstance(value, Ref):
        return {"$ref": value.path}
    return _encode_special(value)


def _encode_special(value: Any) -> Any:
    import torch
    from nascore.mutable import Categorical, CategoricalMultiple
    if isinstance(value, torch.dtype):
        return {"$dtype": str(value).replace("torch.", "")}
    if isinstance(value, torch.device):
        return {"$device": str(value)}
    if isinstance(value, torch.Size):
        return {"$size": list(value)}
    if isinstance(value, (torch.memory_format, torch.layout)):
        return {"$torch": str(value).replace("torch.", "")}
    if isinstance(value, torch.Tensor):
        return {"$tensor": {"data": value.detach().cpu().tolist(), "dtype": str(value.dtype).replace("torch.", ""),
                            "shape": list(value.shape)}}
    if isinstance(value, Categorical):
        return {"$categorical": {"label": value.label, "values": encode_value(value.values),
                                 "default": encode_value(value.default_value())}}
    if isinstance(value, CategoricalMultiple):
        return {"$categorical_multiple": {"label": value.label, "values": encode_value(value.values),
                                          "n_chosen": value.n_chosen}}
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to the graph IR's JSON; freeze the "
                    "model first or pass plain values (numbers, strings, tuples, lists, dicts, dtypes)")


def decode_value(data: Any) -> Any:
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        (key, inner), = data.items()
        if key.startswith("$"):
            return _decode_tagged(key, inner)
    return {k: decode_value(v) for k, v in data.items()}


def _decode_tagged(key: str, inner: Any) -> Any:
    if key == "$tuple":
        return tuple(decode_value(v) for v in inner)
    if key == "$dict":
        return {decode_value(k): decode_value(v) for k, v in inner}
    if key == "$slot":
        return Slot(inner)
    if key == "$slice":
        return slice(*(decode_value(v) for v in inner))
    if key == "$ellipsis":
        return Ellipsis
    if key == "$ref":
        return Ref(inner)
    if key == "$float":
        return float(inner)
    import torch
    if key == "$dtype":
        return getattr(torch, inner)
    if key == "$device":
        return torch.device(inner)
    if key == "$size":
        return torch.Size(inner)
    if key == "$torch":
        return getattr(torch, inner)
    if key == "$tensor":
        return torch.tensor(inner["data"], dtype=getattr(torch, inner["dtype"])).reshape(inner["shape"])
    from nascore.mutable import Categorical, CategoricalMultiple
    if key == "$categorical":
        return Categorical(decode_value(inner["values"]), default=decode_value(inner["default"]),
                           label=inner["label"])
    if key == "$categorical_multiple":
        return CategoricalMultiple(decode_value(inner["values"]), n_chosen=inner["n_chosen"], label=inner["label"])
    raise ValueError(f"unknown tag {key!r} in graph IR JSON")


def _graph_to_json(graph: Graph) -> Dict[str, Any]:
    nodes = [{"id": n.id, "name": n.name, "type": n.operation.type, "target": n.operation.target,
              "args": encode_value(n.operation.args), "kwargs": encode_value(n.operation.kwargs),
              "attrs": encode_value(n.operation.attrs)} for n in graph.nodes.values()]
    edges = [[e.head, e.head_slot, e.tail, e.tail_slot] for ins in graph._in.values() for e in ins.values()]
    return {"name": graph.name, "class_name": graph.class_name, "nodes": nodes, "edges": edges,
            "modules": encode_value(graph.modules), "params": encode_value(graph.params),
            "buffers": encode_value(graph.buffers)}


def model_to_json(model: GraphModel) -> Dict[str, Any]:
    return {"version": 1, "top": model.top, "graphs": [_graph_to_json(g) for g in model.graphs.values()]}


def model_from_json(data: Dict[str, Any]) -> GraphModel:
    if data.get("version") != 1:
        raise ValueError(f"unsupported graph IR version {data.get('version')!r} (this plugin reads version 1)")
    model = GraphModel(data["top"])
    for g in data["graphs"]:
        graph = Graph.__new__(Graph)
        _init_empty(graph, g["name"], g["class_name"])
        for n in g["nodes"]:
            op = Operation(n["type"], n["target"], decode_value(n["args"]), decode_value(n["kwargs"]),
                           decode_value(n["attrs"]))
            node = graph.add_node(n["name"], op, node_id=n["id"])
            if op.type == "input":
                graph.input_node = node
            elif op.type == "output":
                graph.output_node = node
        for head, head_slot, tail, tail_slot in g["edges"]:
            graph.add_edge(graph.nodes[head], head_slot, graph.nodes[tail], tail_slot)
        graph.modules = decode_value(g["modules"])
        graph.params = decode_value(g["params"])
        graph.buffers = decode_value(g["buffers"])
        model.add_graph(graph)
    return model


def _init_empty(graph: Graph, name: str, class_name: str) -> None:
    graph.name, graph.class_name = name, class_name
    graph.nodes, graph.by_name, graph._in, graph._out = {}, {}, {}, {}
    graph._next_id = 0
    graph.modules, graph.params, graph.buffers = {}, {}, {}


def _copy_tree(value: Any) -> Any:
    # dicts/lists are copied so a mutation of the copy never leaks; leaves (mutables included) are shared
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def copy_model(model: GraphModel) -> GraphModel:
    new = GraphModel(model.top)
    for graph in model.graphs.values():
        g = Graph.__new__(Graph)
        _init_empty(g, graph.name, graph.class_name)
        for nid, node in graph.nodes.items():
            n = Node(g, nid, node.name, node.operation.copy())
            g.nodes[nid] = n
            g.by_name[node.name] = n
        g._in = {nid: dict(ins) for nid, ins in graph._in.items()}
        g._out = {nid: dict(outs) for nid, outs in graph._out.items()}
        g._next_id = graph._next_id
        g.input_node, g.output_node = g.nodes[graph.input_node.id], g.nodes[graph.output_node.id]
        g.modules = _copy_tree(graph.modules)
        g.params, g.buffers = _copy_tree(graph.params), _copy_tree(graph.buffers)
        new.graphs[g.name] = g
    return new


def edge_key(edge: Edge) -> tuple:
    return (edge.head, edge.head_slot, edge.tail, edge.tail_slot)
