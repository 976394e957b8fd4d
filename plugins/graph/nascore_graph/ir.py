"""The graph IR: a model is a set of graphs (one per module instance); a graph holds nodes joined by edges.

* A :class:`Node` carries an :class:`Operation`. Its arguments are a template (``args``/``kwargs``) in which
  :class:`Slot` ``i`` stands for the value arriving through input slot ``i``; the edge into that slot says
  where the value comes from. Every graph has a hidden input node (one output slot per forward argument)
  and a hidden output node (its template is the returned structure).
* Edges are indexed both ways (``node -> {slot: edge}`` and ``node -> {(tail, slot): edge}``), so neighbour
  and edge look-ups are dictionary reads, never list scans.
* ``Graph.modules`` describes the module tree the generated class owns (basic units with their init
  arguments, calls into other graphs, containers, aliases); ``params``/``buffers`` the tensors it owns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .serialize import decode_value, encode_value
from .slot import Slot

__all__ = ["Slot", "Operation", "Node", "Edge", "Graph", "GraphModel", "OP_TYPES", "INPUT", "OUTPUT"]

INPUT, OUTPUT = "_inputs", "_outputs"
#: operation types; ``target`` means: module/subgraph/choice → attribute path, function → dotted name,
#: method → method name, getattr → attribute path of a parameter/buffer/constant.
OP_TYPES = ("input", "output", "module", "subgraph", "function", "method", "getattr", "getitem",
            "constant", "tuple", "list", "dict", "unpack", "layerchoice", "inputchoice", "repeat", "cell")


@dataclass
class Operation:
    type: str
    target: str = ""
    args: tuple = ()
    kwargs: Dict[str, Any] = field(default_factory=dict)
    #: operation-specific settings (e.g. the label and reduction of an input choice, unpack arity)
    attrs: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in OP_TYPES:
            raise ValueError(f"unknown operation type {self.type!r}; expected one of {OP_TYPES}")

    def copy(self) -> "Operation":
        return Operation(self.type, self.target, self.args, dict(self.kwargs), dict(self.attrs))


class Node:
    """One operation of a graph; its edges live in the graph's index (``in_edges``/``out_edges`` are views)."""
    __slots__ = ("graph", "id", "name", "operation")

    def __init__(self, graph: "Graph", node_id: int, name: str, operation: Operation) -> None:
        self.graph, self.id, self.name, self.operation = graph, node_id, name, operation

    # ---- O(1) neighbourhood (dictionary views of the graph's edge index) ----
    @property
    def in_edges(self) -> Dict[int, "Edge"]:
        """``{input slot: edge}``."""
        return self.graph._in[self.id]

    @property
    def out_edges(self) -> List["Edge"]:
        return list(self.graph._out[self.id].values())

    @property
    def predecessors(self) -> List["Node"]:
        nodes = self.graph.nodes
        return [nodes[e.head] for e in self.graph._in[self.id].values()]

    @property
    def successors(self) -> List["Node"]:
        nodes = self.graph.nodes
        return [nodes[e.tail] for e in self.graph._out[self.id].values()]

    def __repr__(self) -> str:
        op = self.operation
        return f"Node({self.name!r}, {op.type}:{op.target})"


@dataclass(frozen=True)
class Edge:
    """Data flows from ``head``'s output slot ``head_slot`` into ``tail``'s input slot ``tail_slot``."""

    head: int
    head_slot: int
    tail: int
    tail_slot: int


class Graph:
    """One module instance's forward. ``inputs`` are the forward's argument names."""

    def __init__(self, name: str, inputs: List[str], class_name: str = "Module") -> None:
        self.name = name
        self.class_name = class_name
        self.nodes: Dict[int, Node] = {}
        self.by_name: Dict[str, Node] = {}
        self._in: Dict[int, Dict[int, Edge]] = {}
        self._out: Dict[int, Dict[Tuple[int, int], Edge]] = {}
        self._next_id = 0
        #: attribute name → entry (see module docstring); nested containers hold ``children``
        self.modules: Dict[str, Dict[str, Any]] = {}
        self.params: Dict[str, Dict[str, Any]] = {}
        self.buffers: Dict[str, Dict[str, Any]] = {}
        self.input_node = self.add_node(INPUT, Operation("input", attrs={"names": list(inputs)}))
        self.output_node = self.add_node(OUTPUT, Operation("output", args=(None,)))

    @property
    def inputs(self) -> List[str]:
        return self.input_node.operation.attrs["names"]

    # ---- mutation primitives ------------------------------------------------------------------
    def add_node(self, name: str, operation: Operation, node_id: Optional[int] = None) -> Node:
        if name in self.by_name:
            name = self.fresh_name(name)
        node_id = self._next_id if node_id is None else node_id
        self._next_id = max(self._next_id, node_id + 1)
        node = Node(self, node_id, name, operation)
        self.nodes[node_id] = node
        self.by_name[name] = node
        self._in[node_id] = {}
        self._out[node_id] = {}
        return node

    def fresh_name(self, base: str) -> str:
        i = 1
        while f"{base}_{i}" in self.by_name:
            i += 1
        return f"{base}_{i}"

    def remove_node(self, node: Node) -> None:
        """Remove ``node`` and every edge touching it."""
        if node.id in (self.input_node.id, self.output_node.id):
            raise ValueError(f"graph {self.name!r}: the hidden input/output nodes cannot be removed")
        for edge in list(self._in[node.id].values()) + list(self._out[node.id].values()):
            self.remove_edge(edge)
        del self.nodes[node.id], self.by_name[node.name], self._in[node.id], self._out[node.id]

    def add_edge(self, head: Node, head_slot: int, tail: Node, tail_slot: int) -> Edge:
        if tail_slot in self._in[tail.id]:
            raise ValueError(f"graph {self.name!r}: input slot {tail_slot} of {tail.name!r} is already connected")
        edge = Edge(head.id, head_slot, tail.id, tail_slot)
        self._in[tail.id][tail_slot] = edge
        self._out[head.id][(tail.id, tail_slot)] = edge
        return edge

    def remove_edge(self, edge: Edge) -> None:
        del self._in[edge.tail][edge.tail_slot]
        del self._out[edge.head][(edge.tail, edge.tail_slot)]

    def replace_node(self, node: Node, operation: Operation) -> Node:
        """Give ``node`` a new operation, keeping its edges."""
        node.operation = operation
        return node

    def update_operation(self, node: Node, **changes: Any) -> Node:
        """Change fields of ``node``'s operation (``target``, ``args``, ``kwargs``, ``attrs``)."""
        op = node.operation.copy()
        for key, value in changes.items():
            if not hasattr(op, key):
                raise AttributeError(f"an Operation has no field {key!r}")
            setattr(op, key, value)
        node.operation = op
        return node

    def insert_on_edge(self, edge: Edge, name: str, operation: Operation) -> Node:
        """Put a new one-input node on ``edge`` (its template should read ``Slot(0)``)."""
        self.remove_edge(edge)
        node = self.add_node(name, operation)
        self.add_edge(self.nodes[edge.head], edge.head_slot, node, 0)
        self.add_edge(node, 0, self.nodes[edge.tail], edge.tail_slot)
        return node

    def reroute(self, node: Node, source: Node, source_slot: int = 0) -> None:
        """Make every consumer of ``node``'s output 0 read ``source``'s ``source_slot`` instead."""
        for edge in list(self._out[node.id].values()):
            self.remove_edge(edge)
            self.add_edge(source, source_slot, self.nodes[edge.tail], edge.tail_slot)

    # ---- queries ------------------------------------------------------------------------------
    def topo_order(self) -> List[Node]:
        """Nodes in dependency order (insertion order where free)."""
        indeg = {nid: len(ins) for nid, ins in self._in.items()}
        ready = [nid for nid in self.nodes if indeg[nid] == 0]
        order: List[Node] = []
        import heapq
        heapq.heapify(ready)
        while ready:
            nid = heapq.heappop(ready)
            order.append(self.nodes[nid])
            for edge in self._out[nid].values():
                indeg[edge.tail] -= 1
                if indeg[edge.tail] == 0:
                    heapq.heappush(ready, edge.tail)
        if len(order) != len(self.nodes):
            raise ValueError(f"graph {self.name!r} has a cycle")
        return order

    def __iter__(self) -> Iterator[Node]:
        return iter(list(self.nodes.values()))

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self.nodes)} nodes)"


class GraphModel:
    """All graphs of one converted model; ``top`` names the root graph."""

    def __init__(self, top: str = "_model") -> None:
        self.graphs: Dict[str, Graph] = {}
        self.top = top

    def add_graph(self, graph: Graph) -> Graph:
        if graph.name in self.graphs:
            raise ValueError(f"graph {graph.name!r} already exists")
        self.graphs[graph.name] = graph
        return graph

    @property
    def root(self) -> Graph:
        return self.graphs[self.top]

    def copy(self) -> "GraphModel":
        """A structural copy: graphs, nodes and edges are new; leaf values (mutables included) are shared."""
        return copy_model(self)

    def to_json(self) -> Dict[str, Any]:
        """Exact JSON of the model (tuples, slices, dtypes... are tagged; see :mod:`nascore_graph.serialize`)."""
        return model_to_json(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "GraphModel":
        return model_from_json(data)


# ---- JSON round trip and structural copy ------------------------------------------------------------
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
