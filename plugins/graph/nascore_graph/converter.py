"""Module → GraphModel: one graph per called module instance, basic units as single nodes.

The frontend (fx or torchscript) translates one module's forward; this module walks the module tree,
describes every child in ``graph.modules`` (so the generated class owns the same attributes and the same
``state_dict`` keys), converts called children to their own graphs, and specialises arguments every call
site passes as the same constant (``block(x, None)``) so children trace without value-dependent branches.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch.nn as nn

from .call_sites import (CallSites, bind_examples, concrete_arguments, none_at_some_sites, rebind, root_arguments,
                         root_params, simple)
from .errors import GraphConversionError, ScriptRefused
from .fx_fallback import capture_with_fx, var_keyword
from .ir import Graph, GraphModel, Operation, Slot
from .ties import shared_objects
from .units import is_basic_unit, unit_entry

__all__ = ["convert_to_ir", "FRONTENDS"]

FRONTENDS = ("fx", "torchscript")


def convert_to_ir(module: nn.Module, frontend: str = "fx", example_inputs: Optional[tuple] = None) -> GraphModel:
    """The graph IR of ``module``. ``example_inputs`` (positional arguments of one call) say which root
    arguments are left out, and let the fx frontend resolve shapes used in loops and branches."""
    if frontend not in FRONTENDS:
        raise ValueError(f"unknown frontend {frontend!r}; choose one of {FRONTENDS}")
    if is_basic_unit(module):
        raise GraphConversionError(f"the model itself ({type(module).__name__}) is a basic unit", path="",
                                   fix="convert a module that contains it")
    fixed, optional = root_arguments(module, example_inputs)
    # fx runs them next to tracing; the torchscript frontend only uses them for a module it captures with fx
    examples = None if example_inputs is None else bind_examples(module, example_inputs, {})
    nones = [p.name for p in root_params(module) if p.name in optional and p.default is None]
    warned: set = set()  # modules the torchscript frontend captured with fx: one warning each per conversion
    call = None if example_inputs is None else (module, tuple(example_inputs))
    if nones and _Converter(frontend, warned, call).branches_on_none(module, nones):
        fixed.update({n: None for n in nones})
    # a default kept as an argument may be used as a constant (range(n), if flag): specialise such ones,
    # flags and counts first, then every default
    rest = {p.name: p.default for p in root_params(module) if p.name in optional and p.name not in fixed}
    counts = {k: v for k, v in rest.items() if not isinstance(v, float)}
    attempts = [fixed] + ([{**fixed, **counts}] if counts and len(counts) < len(rest) else []) + (
        [{**fixed, **rest}] if rest else [])
    for i, attempt in enumerate(attempts):
        try:
            return _Converter(frontend, warned, call).run(module, attempt, examples)
        except GraphConversionError:
            if i == len(attempts) - 1:
                raise
    raise AssertionError("unreachable")


class _Converter:
    def __init__(self, frontend: str, warned: Optional[set] = None, call: Optional[tuple] = None) -> None:
        self.frontend = frontend
        self._call = call  # (root module, example inputs): run to find a captured child's example arguments
        self.model = GraphModel()
        self._classes: Dict[str, int] = {}
        self._scripted: Any = None  # the torchscript frontend's cache of compiled modules
        self._examples: Dict[str, Dict[str, Any]] = {}  # module path -> example arguments (fx)
        self._shared: Dict[int, int] = {}  # id of a module/parameter reachable by several paths -> tie group
        self._warned = set() if warned is None else warned  # ids of modules captured with fx (warned once)

    def run(self, module: nn.Module, fixed: Dict[str, Any], examples: Optional[Dict[str, Any]]) -> GraphModel:
        self._shared = shared_objects(module)
        if examples is not None:
            self._examples[""] = examples
        self.model.top = self.convert(module, "", fixed)
        _forward_signature(self.model.root, module, fixed)
        return self.model

    def branches_on_none(self, module: nn.Module, names: List[str]) -> bool:
        """Whether the root's forward does something else when ``names`` are None (``if y is not None``)
        than when they are given; if so they are fixed to None rather than kept as arguments."""
        try:
            given = self._trace(module, "", "_model", {})[0]
        except GraphConversionError:
            return True
        return _op_signature(given) != _op_signature(self._trace(module, "", "_model", dict.fromkeys(names))[0])

    def _trace(self, module: nn.Module, path: str, name: str, concrete: Dict[str, Any]):
        if self.frontend == "fx":
            from .frontend_fx import trace_graph
            return trace_graph(module, path, name, concrete, self._examples.get(path))
        from .frontend_ts import Scripted, trace_graph
        if self._scripted is None:
            self._scripted = Scripted()
        try:
            return trace_graph(module, path, name, concrete, self._scripted)
        except ScriptRefused as refused:
            return capture_with_fx(module, path, name, concrete, refused, self._examples, self._call, self._warned)

    def _class_name(self, module: nn.Module) -> str:
        base = type(module).__name__
        n = self._classes.get(base, 0)
        self._classes[base] = n + 1
        return base if n == 0 else f"{base}_{n}"

    def convert(self, module: nn.Module, path: str, concrete: Dict[str, Any]) -> str:
        from nascore.nn import ChosenInputs
        name = path or "_model"
        if isinstance(module, ChosenInputs):  # written by hand: TorchScript cannot compile its reduction
            graph, constants, call_examples = chosen_inputs_graph(module, name), {}, {}
        else:
            graph, constants, call_examples = self._trace(module, path, name, concrete)
        for target, (args, kwargs) in call_examples.items():
            bound = bind_examples(_submodule(module, target), args, kwargs)
            if bound is not None:
                self._examples[_join(path, target)] = bound
        graph.class_name = self._class_name(module)
        if path:
            _forward_signature(graph, module, None)
        _canonical_targets(module, graph, path)
        self.model.add_graph(graph)
        calls: Dict[str, CallSites] = {}
        for node in graph.nodes.values():
            if node.operation.type in ("subgraph", "layerchoice", "repeat"):
                calls.setdefault(node.operation.target, []).append((node.operation.args, node.operation.kwargs))
        graph.modules = self._describe_children(module, path, "", calls, {})
        graph.params, graph.buffers = self._tensors(module)
        for cname, tensor in constants.items():
            graph.buffers[cname] = {"shape": list(tensor.shape), "dtype": tensor.dtype, "persistent": False,
                                    "data": tensor.detach().clone()}
        for node in graph.nodes.values():  # pass only what the child's forward still takes
            if node.operation.type == "subgraph":
                entry = self._lookup(graph.modules, node.operation.target)
                child = _submodule(module, node.operation.target)
                node.operation.args = rebind(child, self.model.graphs[entry["graph"]],
                                             node.operation.args, node.operation.kwargs)
                node.operation.kwargs = {}
        return name

    def _describe_children(self, module: nn.Module, path: str, rel_prefix: str, calls: Dict[str, CallSites],
                           seen: Dict[int, str]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for name, child in module._modules.items():
            rel = rel_prefix + name
            if child is None:
                out[name] = {"kind": "none"}
                continue
            if id(child) in seen:
                out[name] = {"kind": "alias", "path": seen[id(child)]}
                continue
            seen[id(child)] = rel
            out[name] = self._describe(child, _join(path, rel), rel, calls, seen)
        return out

    def _describe(self, child: nn.Module, abs_path: str, rel: str, calls: Dict[str, CallSites],
                  seen: Dict[int, str]) -> Dict[str, Any]:
        sites = calls.get(rel, [])
        choice = self._choice_entry(child, abs_path, sites)
        if choice is not None:
            return choice
        if is_basic_unit(child):
            return self._tied(unit_entry(child, abs_path), child)
        if sites and type(child).forward is not nn.Module.forward:  # a ModuleList/ModuleDict is never called
            return self._graph_entry(child, abs_path, sites)
        owner = abs_path[: len(abs_path) - len(rel)].rstrip(".")  # the path of the graph this tree belongs to
        entry = {"kind": "container", "cls": _container_cls(child),
                 "children": self._describe_children(child, owner, rel + ".", calls, seen)}
        entry["params"], entry["buffers"] = self._tensors(child)
        return self._tied(entry, child)

    def _choice_entry(self, child: nn.Module, abs_path: str, sites: CallSites) -> Optional[Dict[str, Any]]:
        """The entry of a choice construct (None for anything else). Candidates and blocks are described
        with the construct's own call sites, so a choice nested directly in another one (a LayerChoice
        candidate, a Repeat block) becomes a nested entry that the mutators resolve in turn."""
        from nascore.nn import Cell, InputChoice, LayerChoice, Repeat
        if isinstance(child, Cell):
            return self._cell_entry(child, abs_path)
        if isinstance(child, LayerChoice):
            cands = {str(n): self._describe_called(child[n], f"{abs_path}.{n}", sites) for n in child.names}
            return {"kind": "layerchoice", "label": child.label, "names": list(child.names), "candidates": cands}
        if isinstance(child, InputChoice):
            return {"kind": "inputchoice", "label": child.label, "n_candidates": child.n_candidates,
                    "n_chosen": child.n_chosen, "reduction": child.reduction}
        if isinstance(child, Repeat):
            fixed = child.depth_choice if isinstance(child.depth_choice, int) else None
            blocks = [self._describe_called(b, f"{abs_path}.blocks.{i}", [((Slot(0),), {})] if sites else [])
                      for i, b in enumerate(child.blocks)]
            return {"kind": "repeat", "label": child.label, "depth": fixed, "blocks": blocks}
        return None

    def _cell_entry(self, cell: nn.Module, abs_path: str) -> Dict[str, Any]:
        """A Cell stays one node until a sample is known (loose ends depend on it); its op candidates are
        described like LayerChoice candidates, each called with one state."""
        one = [((Slot(0),), {})]
        ops = [[{"label": choice.label, "candidates": {
            str(n): self._describe_called(choice[n], f"{abs_path}.ops.{i}.{j}.{n}", one) for n in choice.names}}
            for j, choice in enumerate(node_ops)] for i, node_ops in enumerate(cell.ops)]
        inputs = [[choice.label for choice in node_inputs] for node_inputs in cell.inputs]
        return {"kind": "cell", "label": cell.label, "graph": abs_path, "num_predecessors": cell.num_predecessors,
                "merge_op": cell.merge_op, "ops": ops, "inputs": inputs}

    def _describe_called(self, module: nn.Module, abs_path: str, sites: CallSites) -> Dict[str, Any]:
        """A module called with the call sites of its owner (LayerChoice candidate, Repeat block)."""
        choice = self._choice_entry(module, abs_path, sites)
        if choice is not None:
            return choice
        if is_basic_unit(module):
            return self._tied(unit_entry(module, abs_path), module)
        if not sites:
            entry = {"kind": "container", "cls": _container_cls(module),
                     "children": self._describe_children(module, abs_path, "", {}, {})}
            entry["params"], entry["buffers"] = self._tensors(module)
            return self._tied(entry, module)
        return self._graph_entry(module, abs_path, sites)

    def _graph_entry(self, module: nn.Module, abs_path: str, sites: CallSites) -> Dict[str, Any]:
        concrete = concrete_arguments(module, sites)
        star = var_keyword(module)
        if star and abs_path not in self._examples and all(not kwargs for _, kwargs in sites):
            self._examples[abs_path] = {f"**{star}": {}}  # `fn(x, **kwargs)` called without keywords (fx)
        name = self.convert(module, abs_path, concrete)
        mixed = none_at_some_sites(module, sites)
        if mixed:
            self._check_none_independent(module, abs_path, concrete, mixed, self.model.graphs[name])
        entry: Dict[str, Any] = {"kind": "graph", "graph": name}
        args, kwargs = sites[0]
        entry["call_args"] = rebind(module, self.model.graphs[name], args, kwargs)
        return self._tied(entry, module)

    def _tied(self, entry: Dict[str, Any], module: nn.Module) -> Dict[str, Any]:
        """Mark an entry whose module (or one of its own parameters) is shared with another place, so the
        generated model shares it too (one object, one weight in training)."""
        if id(module) in self._shared:
            entry["tie"] = self._shared[id(module)]
        if entry["kind"] == "unit":
            ties = {n: self._shared[id(p)] for n, p in module.named_parameters(recurse=False)
                    if id(p) in self._shared}
            if ties:
                entry["param_ties"] = ties
        return entry

    def _tensors(self, module: nn.Module) -> tuple:
        params, buffers = _tensors(module)
        for n, p in module._parameters.items():
            if p is not None and id(p) in self._shared:
                params[n]["tie"] = self._shared[id(p)]
        return params, buffers

    def _lookup(self, modules: Dict[str, Any], target: str) -> Dict[str, Any]:
        """The entry for attribute path ``target`` in a graph's module tree, also under a called child
        (``block.lin`` called directly while ``block`` is called too)."""
        entry: Dict[str, Any] = {"children": modules}
        for part in target.split("."):
            if entry.get("kind") == "graph":
                entry = {"children": self.model.graphs[entry["graph"]].modules}
            entry = entry["children"][part]
        return entry


    def _check_none_independent(self, module: nn.Module, path: str, concrete: Dict[str, Any], mixed: List[str],
                                graph: Graph) -> None:
        """One graph serves every call of a module instance: an argument some calls pass as None and others
        as a value must not change what the forward does (``if shift is not None: ...``). Convert it again
        with the argument None and compare the operations."""
        alt = self._trace(module, path, f"{path}#none", {**concrete, **{m: None for m in mixed}})[0]
        if _op_signature(alt) != _op_signature(graph):
            raise GraphConversionError(
                f"{type(module).__name__}.forward depends on whether {', '.join(map(repr, mixed))} is None, and "
                "its call sites pass None at one call and a value at another; one module instance gets one "
                "graph", path=path, construct="call-site dependent argument",
                fix="pass the same kind of value at every call (e.g. a zero tensor), use one module instance "
                    "per kind of call, or make the module a basic unit (nascore_graph.basic_unit)")


def _op_signature(graph: Graph) -> List[tuple]:
    return sorted((n.operation.type, n.operation.target) for n in graph.nodes.values())


def chosen_inputs_graph(module: nn.Module, name: str) -> Graph:
    """The graph of a ``ChosenInputs`` (a frozen InputChoice), as fx traces it: pick, then reduce."""
    graph = Graph(name, ["inputs"], type(module).__name__)
    picked = []
    for i in module.chosen:
        item = graph.add_node("getitem", Operation("getitem", args=(Slot(0), i)))
        graph.add_edge(graph.input_node, 0, item, 0)
        picked.append(item)

    def call(node_name: str, op: Operation, sources: List[Any]) -> Any:
        node = graph.add_node(node_name, op)
        for slot, src in enumerate(sources):
            graph.add_edge(src, 0, node, slot)
        return node

    slots = [Slot(i) for i in range(len(picked))]
    if module.reduction == "sum":
        out = picked[0]
        for item in picked[1:]:
            out = call("add", Operation("function", "operator.add", (Slot(0), Slot(1))), [out, item])
    elif module.reduction == "mean":
        stack = call("stack", Operation("function", "torch.stack", (slots,)), picked)
        out = call("mean", Operation("method", "mean", (Slot(0), 0)), [stack])
    elif module.reduction == "concat":
        out = call("cat", Operation("function", "torch.cat", (slots,), {"dim": 1}), picked)
    else:
        out = call("chosen", Operation("list", args=tuple(slots)), picked)
    graph.output_node.operation.args = (Slot(0),)
    graph.add_edge(out, 0, graph.output_node, 0)
    return graph


_CALLS = ("module", "subgraph", "layerchoice", "inputchoice", "repeat", "cell")


def _canonical_targets(module: nn.Module, graph: Graph, path: str) -> None:
    """Name every called submodule by its first attribute path, as torch.fx does (TorchScript names the
    attribute the forward read, e.g. an alias ``self.b = self.a``); the module tree holds aliases as links.
    A path under another called child (``a.inner`` when ``a`` is called too) belongs to that child's graph,
    so the first path outside every called child is used (``self.b = self.a.inner`` is called as ``b``)."""
    paths: Dict[int, List[str]] = {}
    for name, sub in module.named_modules(remove_duplicate=False):
        paths.setdefault(id(sub), []).append(name)
    nodes = [n for n in graph.nodes.values() if n.operation.type in _CALLS and n.operation.target]
    called = {n.operation.target for n in nodes}

    def outside_called(path: str) -> bool:
        parts = path.split(".")
        return not any(".".join(parts[:i]) in called for i in range(1, len(parts)))

    for node in nodes:
        target = node.operation.target
        try:
            names = paths.get(id(_submodule(module, target)), [target])
        except KeyError:
            continue
        # a child called directly and also inside its called parent keeps its path under the parent: the
        # generated code calls the parent's attribute (self.block.lin), one module called twice
        canonical = next((p for p in names if outside_called(p)), target)
        if canonical != target:
            graph.update_operation(node, target=canonical)


def _container_cls(module: nn.Module) -> str:
    for cls in (nn.Sequential, nn.ModuleList, nn.ModuleDict):
        if type(module) is cls:
            return cls.__name__
    return "Module"


def _tensors(module: nn.Module) -> tuple:
    params = {n: {"shape": list(p.shape), "dtype": p.dtype, "requires_grad": p.requires_grad}
              for n, p in module._parameters.items() if p is not None}
    buffers = {}
    for n, b in module._buffers.items():
        if b is None:
            continue
        persistent = n not in module._non_persistent_buffers_set
        buffers[n] = {"shape": list(b.shape), "dtype": b.dtype, "persistent": persistent}
        if not persistent:  # not in the state_dict, so the IR carries its value
            buffers[n]["data"] = b.detach().clone()
    return params, buffers


def _join(path: str, rel: str) -> str:
    return f"{path}.{rel}" if path else rel


def _submodule(module: nn.Module, target: str) -> nn.Module:
    for part in target.split("."):
        module = module._modules[part]
    return module


def _forward_signature(graph: Graph, module: nn.Module, fixed: Optional[Dict[str, Any]]) -> None:
    """Record what the generated ``forward`` signature needs beyond plain names: ``*args``/``**kwargs``, and
    for the root (``fixed`` given) its defaults, keyword-only markers and arguments fixed at conversion."""
    import inspect
    params, root = [], fixed is not None
    for p in inspect.signature(module.forward).parameters.values():
        if p.name not in graph.inputs and not (root and p.name in fixed):
            continue
        item: Dict[str, Any] = {"name": p.name, "kw": root and p.kind is p.KEYWORD_ONLY}
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            item["star"] = "*" if p.kind is p.VAR_POSITIONAL else "**"
        elif root and p.name in fixed:
            item["fixed"] = fixed[p.name]
        elif root and p.default is not p.empty and simple(p.default):
            item["default"] = p.default
        params.append(item)
    if any(len(p) > 2 or p["kw"] for p in params):
        graph.input_node.operation.attrs["params"] = params
