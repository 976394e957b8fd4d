"""``CellMutator``: turns a ``nascore.nn.Cell`` node into the graph of the cell frozen for a sample.

A Cell's output depends on the sample beyond its op and input choices (``merge_op="loose_end"`` concatenates
the nodes no other node reads), so it is kept as one ``cell`` node until a sample is known and then rebuilt
as its own graph, mirroring ``Cell.forward``: node ``i`` sums ``ops[i][j](states[input_i_j])`` and the output
concatenates the kept nodes on dim 1. The chosen candidates sit at ``ops.i.j`` as in the simplified format,
so the state_dict keys match; the inputs' ``ChosenInputs`` hold no state and become plain wiring.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from nascore.mutable import Sample

from .ir import Graph, GraphModel, Node, Operation, Slot
from .mutators import MUTATOR_KINDS, _Located, _call_op, _strip, replace_entry, resolve_nested

__all__ = ["CellMutator"]


def _container(children: Dict[str, Any]) -> Dict[str, Any]:
    return {"kind": "container", "cls": "ModuleList", "params": {}, "buffers": {}, "children": children}


class CellMutator(_Located):
    def mutate(self, model: GraphModel, sample: Sample) -> None:
        graph, entry = self._located(model)
        name = entry["graph"]
        if name in model.graphs:
            raise ValueError(f"cell {self.path!r}: a graph named {name!r} exists already")
        cell = model.add_graph(self._build(entry, name, sample))
        replace_entry(graph, self.path, {"kind": "graph", "graph": name})
        for node in self._nodes(graph, "cell"):
            graph.replace_node(node, Operation("subgraph", self.path, self._states(graph, node, entry), {}))
        for i, node_ops in enumerate(entry["ops"]):  # a chosen op that is itself a choice
            for j in range(len(node_ops)):
                resolve_nested(model, cell, f"ops.{i}.{j}", sample)

    @staticmethod
    def _build(entry: Dict[str, Any], name: str, sample: Sample) -> Graph:
        n_pred = entry["num_predecessors"]
        cell = Graph(name, [f"s{i}" for i in range(n_pred)], "Cell")
        states: List[Tuple[Node, int]] = [(cell.input_node, i) for i in range(n_pred)]
        used, rows = set(), {}
        for i, node_ops in enumerate(entry["ops"]):
            row, total = {}, None
            for j, op in enumerate(node_ops):
                chosen = op["candidates"][str(sample[op["label"]])]
                k = sample[entry["inputs"][i][j]]
                used.add(k)
                row[str(j)] = _strip(chosen)
                call = cell.add_node(f"op_{i}_{j}", _call_op(chosen, f"ops.{i}.{j}", (Slot(0),), {}))
                cell.add_edge(*states[k], call, 0)
                if total is not None:  # summed left to right, as Cell.forward does
                    add = cell.add_node(f"node_{i}", Operation("function", "operator.add", (Slot(0), Slot(1))))
                    cell.add_edge(total, 0, add, 0)
                    cell.add_edge(call, 0, add, 1)
                    call = add
                total = call
            rows[str(i)] = _container(row)
            states.append((total, 0))
        keep = [k for k in range(n_pred, len(states)) if entry["merge_op"] == "all" or k not in used]
        cat = cell.add_node("out", Operation("function", "torch.cat", ([Slot(t) for t in range(len(keep))],),
                                             {"dim": 1}))
        for t, k in enumerate(keep):
            cell.add_edge(*states[k], cat, t)
        cell.output_node.operation.args = (Slot(0),)
        cell.add_edge(cat, 0, cell.output_node, 0)
        cell.modules = {"ops": _container(rows)}
        return cell

    @staticmethod
    def _states(graph: Graph, node: Node, entry: Dict[str, Any]) -> tuple:
        """The call's arguments as one value per predecessor (``cell(a, b)`` or ``cell([a, b])``)."""
        args = node.operation.args
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            return tuple(args[0])
        n_pred = entry["num_predecessors"]
        if len(args) == 1 and n_pred > 1:  # one list-valued input: index into it
            edge = node.in_edges[args[0].index]
            graph.remove_edge(edge)
            out = []
            for i in range(n_pred):
                item = graph.add_node(f"{node.name}_s{i}", Operation("getitem", args=(Slot(0), i)))
                graph.add_edge(graph.nodes[edge.head], edge.head_slot, item, 0)
                graph.add_edge(item, 0, node, i)
                out.append(Slot(i))
            return tuple(out)
        if len(args) != n_pred:
            raise ValueError(f"cell {node.operation.target!r} is called with {len(args)} inputs; it takes {n_pred}")
        return tuple(args)


MUTATOR_KINDS["cell"] = lambda graph, path, entry: CellMutator(graph, path, entry["label"])
