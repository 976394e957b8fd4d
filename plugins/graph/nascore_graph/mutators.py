"""Mutators: edit a copy of the IR for one sample, with the same sample keys/values as every format.

Built-in ones are found in the converted tree: ``LayerChoiceMutator`` (value: candidate index or key),
``InputChoiceMutator`` (int, or sorted list of indices), ``RepeatMutator`` (depth int, 0 allowed when the
space allows it), ``CellMutator`` (``cell_mutator.py``: rebuilds a Cell for the sample).
:func:`freeze_values` then evaluates value choices left in basic-unit arguments. A user writes a
:class:`Mutator` subclass (declaring its mutables, which join ``simplify()``) and attaches it with
:func:`attach_mutator`; ``MutationAnchor(label)`` nodes are convenient targets (:meth:`Mutator.anchors`).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from nascore.mutable import LabeledMutable, Sample
from nascore.mutable.expression import evaluate

from .ir import Graph, GraphModel, Node, Operation, Slot

__all__ = ["Mutator", "LayerChoiceMutator", "InputChoiceMutator", "RepeatMutator", "attach_mutator",
           "find_mutators", "mutator_for", "resolve_nested", "freeze_values", "prune", "set_args", "lookup_entry",
           "replace_entry"]


class Mutator:
    """Edits a :class:`GraphModel` for a sample. ``mutables`` are the labelled choices it reads."""

    def __init__(self, mutables: Sequence[LabeledMutable] = ()) -> None:
        self.mutables: List[LabeledMutable] = list(mutables)

    def mutate(self, model: GraphModel, sample: Sample) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement mutate(model, sample)")

    @staticmethod
    def anchors(model: GraphModel, label: str) -> Iterator[Tuple[Graph, Node]]:
        """``(graph, node)`` for every call of a ``MutationAnchor`` whose label is ``label``."""
        for graph in model.graphs.values():
            for node in list(graph.nodes.values()):
                if node.operation.type != "module":
                    continue
                entry = lookup_entry(graph, node.operation.target)
                if entry and entry.get("cls") in ("nascore.nn.MutationAnchor", "nascore.nn.anchor.MutationAnchor") and \
                        (list(entry["args"]) + list(entry["kwargs"].values()))[:1] == [label]:
                    yield graph, node


def attach_mutator(model_space: Any, mutator: Mutator) -> Any:
    """Attach ``mutator`` to a model space; the graph format applies it on every freeze."""
    if not isinstance(mutator, Mutator):
        raise TypeError(f"attach_mutator expects a nascore_graph.Mutator, got {type(mutator).__name__}")
    mutators = model_space.__dict__.setdefault("_nascore_graph_mutators", [])
    mutators.append(mutator)
    return model_space


# ---- tree and argument helpers --------------------------------------------------------------------------
def lookup_entry(graph: Graph, path: str) -> Optional[Dict[str, Any]]:
    """The module-tree entry at dotted ``path`` of ``graph``, or None."""
    children: Optional[Dict[str, Any]] = graph.modules
    entry = None
    for part in path.split("."):
        if children is None or part not in children:
            return None
        entry = children[part]
        children = entry.get("children")
    return entry


def replace_entry(graph: Graph, path: str, new: Optional[Dict[str, Any]]) -> None:
    """Put ``new`` at ``path`` in the module tree (``None`` removes the attribute)."""
    parent, _, name = path.rpartition(".")
    children = graph.modules if not parent else lookup_entry(graph, parent)["children"]
    if new is None:
        children.pop(name, None)
    else:
        children[name] = new


def _slots(value: Any, out: set) -> set:
    if isinstance(value, Slot):
        out.add(value.index)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _slots(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _slots(v, out)
    elif isinstance(value, slice):
        _slots((value.start, value.stop, value.step), out)
    return out


def set_args(graph: Graph, node: Node, args: tuple, kwargs: Optional[dict] = None) -> None:
    """Give ``node`` a new argument template and drop edges into slots it no longer reads."""
    graph.update_operation(node, args=tuple(args), kwargs=dict(kwargs or {}))
    used = _slots((args, kwargs or {}), set())
    for slot, edge in list(node.in_edges.items()):
        if slot not in used:
            graph.remove_edge(edge)


def _source(graph: Graph, node: Node, slot: int) -> Tuple[Node, int]:
    edge = node.in_edges[slot]
    return graph.nodes[edge.head], edge.head_slot


CHOICE_KINDS = ("layerchoice", "inputchoice", "repeat", "cell")


def _call_op(entry: Dict[str, Any], target: str, args: tuple, kwargs: dict) -> Operation:
    if entry["kind"] == "graph":
        return Operation("subgraph", target, tuple(entry.get("call_args", args)), {})
    if entry["kind"] in CHOICE_KINDS:  # a nested choice: a call of that kind, resolved next (resolve_nested)
        return Operation(entry["kind"], target, tuple(args), dict(kwargs))
    return Operation("module", target, tuple(args), dict(kwargs))


#: choice kind -> ``factory(graph name, path, entry)`` building its mutator. This module registers its own
#: kinds below; :mod:`nascore_graph.cell_mutator` registers "cell" (imported by the graph space).
MUTATOR_KINDS: Dict[str, Callable[[str, str, Dict[str, Any]], "Mutator"]] = {}


def mutator_for(graph: str, path: str, entry: Dict[str, Any]) -> Optional["Mutator"]:
    """The built-in mutator for the choice entry at ``path`` of graph ``graph`` (None: not a choice)."""
    kind = entry["kind"]
    factory = MUTATOR_KINDS.get(kind)
    if factory is None and kind in CHOICE_KINDS:  # never skip a choice silently: the model would be wrong
        hint = "; import nascore_graph.cell_mutator" if kind == "cell" else ""
        raise RuntimeError(f"no mutator is registered for {kind!r} choices (at {path!r}){hint}")
    return None if factory is None else factory(graph, path, entry)


def resolve_nested(model: GraphModel, graph: Graph, path: str, sample: Sample) -> None:
    """Mutate what a mutator just put at ``path``: a choice nested directly in the chosen candidate or block
    (any depth: each mutator resolves what it places), or choices in a container that is never called."""
    entry = lookup_entry(graph, path)
    if entry is None:
        return
    mutator = mutator_for(graph.name, path, entry)
    if mutator is not None:
        mutator.mutate(model, sample)
    elif entry["kind"] == "container":
        for name in list(entry["children"]):
            resolve_nested(model, graph, f"{path}.{name}", sample)


def _strip(entry: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "call_args"}


# ---- built-in mutators ----------------------------------------------------------------------------------
class _Located(Mutator):
    """A built-in mutator for the choice at ``path`` of graph ``graph``; ``label`` names its sample key."""

    def __init__(self, graph: str, path: str, label: Optional[str]) -> None:
        super().__init__([])  # the choice's mutable is already in the space's simplify()
        self.graph, self.path, self.label = graph, path, label

    def _located(self, model: GraphModel) -> Tuple[Graph, Dict[str, Any]]:
        """The graph holding the choice and the choice's entry in its module tree."""
        graph = model.graphs[self.graph]
        return graph, lookup_entry(graph, self.path)

    def _nodes(self, graph: Graph, kind: str) -> List[Node]:
        return [n for n in graph.nodes.values() if n.operation.type == kind and n.operation.target == self.path]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.graph!r}, {self.path!r})"


class LayerChoiceMutator(_Located):
    def mutate(self, model: GraphModel, sample: Sample) -> None:
        graph, entry = self._located(model)
        chosen = entry["candidates"][str(sample[self.label])]
        replace_entry(graph, self.path, _strip(chosen))
        for node in self._nodes(graph, "layerchoice"):
            op = node.operation
            graph.replace_node(node, _call_op(chosen, self.path, op.args, op.kwargs))
        resolve_nested(model, graph, self.path, sample)


class InputChoiceMutator(_Located):
    def __init__(self, graph: str, path: str, label: str, reduction: str) -> None:
        super().__init__(graph, path, label)
        self.reduction = reduction

    def mutate(self, model: GraphModel, sample: Sample) -> None:
        graph = model.graphs[self.graph]
        value = sample[self.label]
        chosen = [value] if isinstance(value, int) else list(value)
        replace_entry(graph, self.path, None)  # ChosenInputs has no state: nothing to keep
        for node in self._nodes(graph, "inputchoice"):
            self._rewrite(graph, node, chosen)

    def _rewrite(self, graph: Graph, node: Node, chosen: List[int]) -> None:
        inputs = node.operation.args[0]
        if isinstance(inputs, (list, tuple)):
            picked = [inputs[i] for i in chosen]
        else:  # the list arrived as one value: index into it
            src, src_slot = _source(graph, node, inputs.index)
            picked = []
            for i in chosen:
                item = graph.add_node(f"{node.name}_in{i}", Operation("getitem", args=(Slot(0), i)))
                graph.add_edge(src, src_slot, item, 0)
                k = max(node.in_edges, default=-1) + 1
                graph.add_edge(item, 0, node, k)
                picked.append(Slot(k))
        if self.reduction == "none":
            graph.replace_node(node, Operation("list"))
            set_args(graph, node, tuple(picked))
        elif len(picked) == 1 and isinstance(picked[0], Slot) and self.reduction in ("sum", "mean"):
            src, src_slot = _source(graph, node, picked[0].index)
            graph.reroute(node, src, src_slot)
            graph.remove_node(node)
        elif self.reduction == "sum":
            graph.replace_node(node, Operation("function", "builtins.sum"))
            set_args(graph, node, (list(picked),))
        elif self.reduction == "concat":
            graph.replace_node(node, Operation("function", "torch.cat"))
            set_args(graph, node, (list(picked),), {"dim": 1})
        else:  # mean: torch.stack(chosen).mean(0), as InputChoice computes it
            stack = graph.add_node(f"{node.name}_stack", Operation("function", "torch.stack"))
            for i, p in enumerate(picked):
                src, src_slot = _source(graph, node, p.index)
                graph.add_edge(src, src_slot, stack, i)
            graph.update_operation(stack, args=([Slot(i) for i in range(len(picked))],))
            for edge in list(node.in_edges.values()):
                graph.remove_edge(edge)
            graph.add_edge(stack, 0, node, 0)
            graph.replace_node(node, Operation("method", "mean", (Slot(0), 0)))


class RepeatMutator(_Located):
    def __init__(self, graph: str, path: str, label: Optional[str], depth: Optional[int]) -> None:
        super().__init__(graph, path, label)
        self.depth = depth

    def mutate(self, model: GraphModel, sample: Sample) -> None:
        graph, entry = self._located(model)
        depth = self.depth if self.depth is not None else sample[self.label]
        blocks = entry["blocks"][:depth]
        # the frozen form of a Repeat is nn.Sequential(first `depth` blocks): keys `path.0...`
        replace_entry(graph, self.path, {"kind": "container", "cls": "Sequential", "params": {}, "buffers": {},
                                         "children": {str(i): _strip(b) for i, b in enumerate(blocks)}})
        for node in self._nodes(graph, "repeat"):
            src, src_slot = _source(graph, node, 0)
            if not blocks:
                graph.reroute(node, src, src_slot)
                graph.remove_node(node)
                continue
            prev = node
            graph.replace_node(node, _call_op(blocks[0], f"{self.path}.0", (Slot(0),), {}))
            for i, block in enumerate(blocks[1:], start=1):
                nxt = graph.add_node(f"{node.name}_{i}", _call_op(block, f"{self.path}.{i}", (Slot(0),), {}))
                for edge in list(prev.out_edges):
                    graph.remove_edge(edge)
                    graph.add_edge(nxt, 0, graph.nodes[edge.tail], edge.tail_slot)
                graph.add_edge(prev, 0, nxt, 0)
                prev = nxt
        for i in range(len(blocks)):
            resolve_nested(model, graph, f"{self.path}.{i}", sample)


MUTATOR_KINDS.update(
    layerchoice=lambda graph, path, entry: LayerChoiceMutator(graph, path, entry["label"]),
    inputchoice=lambda graph, path, entry: InputChoiceMutator(graph, path, entry["label"], entry["reduction"]),
    repeat=lambda graph, path, entry: RepeatMutator(graph, path, entry["label"], entry["depth"]),
)


def find_mutators(model: GraphModel) -> List[Mutator]:
    """The built-in mutators for every choice in the converted tree."""
    found: List[Mutator] = []

    def walk(graph: Graph, children: Dict[str, Any], prefix: str) -> None:
        for name, entry in children.items():
            path = prefix + name
            mutator = mutator_for(graph.name, path, entry)
            if mutator is not None:
                found.append(mutator)
            elif entry["kind"] == "container":
                walk(graph, entry["children"], path + ".")

    for graph in model.graphs.values():
        walk(graph, graph.modules, "")
    return found


def _evaluate_all(value: Any, sample: Sample) -> Any:
    from nascore.mutable import Mutable
    if isinstance(value, Mutable):
        return evaluate(value, sample)
    if isinstance(value, list):
        return [_evaluate_all(v, sample) for v in value]
    if isinstance(value, tuple):
        return tuple(_evaluate_all(v, sample) for v in value)
    if isinstance(value, dict):
        return {k: _evaluate_all(v, sample) for k, v in value.items()}
    return value


def freeze_values(model: GraphModel, sample: Sample) -> None:
    """Replace value choices in basic-unit arguments by their values (the value-choice mutator)."""
    def walk(children: Dict[str, Any]) -> None:
        for entry in children.values():
            if entry["kind"] == "unit":
                entry["args"] = _evaluate_all(entry["args"], sample)
                entry["kwargs"] = _evaluate_all(entry["kwargs"], sample)
            elif entry["kind"] == "container":
                walk(entry["children"])
    for graph in model.graphs.values():
        walk(graph.modules)


def prune(model: GraphModel) -> None:
    """Drop graphs no longer reachable from the top one (unchosen candidates, cut-off blocks)."""
    reachable, todo = set(), [model.top]
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        stack = list(model.graphs[name].modules.values())
        while stack:
            entry = stack.pop()
            if entry["kind"] == "graph":
                todo.append(entry["graph"])
            stack.extend(entry.get("children", {}).values())
            stack.extend(entry.get("candidates", {}).values())
            stack.extend(entry.get("blocks", []))
            stack.extend(op for row in entry.get("ops", []) for op in row)  # an unmutated cell's choices
    for name in [n for n in model.graphs if n not in reachable]:
        del model.graphs[name]
