"""Shared modules and tied weights: one object under several attribute paths stays one object.

The converter marks entries whose module (``"tie"``) or parameter (``"param_ties"``, or ``"tie"`` on a
parameter spec) is reachable by more than one path with a group number; after freezing, the generated root
class re-points every later occurrence of a group at its first one (``self.head.weight = self.embed.weight``),
so training the generated model trains one weight, as in the original.
"""
from __future__ import annotations

import keyword
from typing import Any, Dict, List, Tuple

import torch.nn as nn

from .ir import Graph, GraphModel

__all__ = ["shared_objects", "tie_lines"]


def shared_objects(root: nn.Module) -> Dict[int, int]:
    """``{id(object): group}`` for modules and parameters reachable by more than one attribute path
    (parameters of a shared module are left to the module's own tie)."""
    paths: Dict[int, set] = {}
    for name, module in root.named_modules(remove_duplicate=False):
        paths.setdefault(id(module), set()).add(name)
    shared_modules = {i for i, p in paths.items() if len(p) > 1}
    for name, module in root.named_modules():
        if id(module) in shared_modules:
            continue
        for pname, param in module.named_parameters(recurse=False, remove_duplicate=False):
            paths.setdefault(id(param), set()).add(f"{name}.{pname}")
    return {i: n for n, i in enumerate(i for i, p in paths.items() if len(p) > 1)}


def _walk(model: GraphModel, graph: Graph, prefix: str, groups: Dict[int, List[str]]) -> None:
    for name, spec in graph.params.items():
        if "tie" in spec:
            groups.setdefault(spec["tie"], []).append(prefix + name)
    _walk_children(model, graph.modules, prefix, groups)


def _walk_children(model: GraphModel, children: Dict[str, Any], prefix: str, groups: Dict[int, List[str]]) -> None:
    for name, entry in children.items():
        path = prefix + name
        if "tie" in entry:
            groups.setdefault(entry["tie"], []).append(path)
        for pname, group in entry.get("param_ties", {}).items():
            groups.setdefault(group, []).append(f"{path}.{pname}")
        if entry["kind"] == "graph":
            _walk(model, model.graphs[entry["graph"]], path + ".", groups)
        elif entry["kind"] == "container":
            for pname, spec in entry["params"].items():
                if "tie" in spec:
                    groups.setdefault(spec["tie"], []).append(f"{path}.{pname}")
            _walk_children(model, entry["children"], path + ".", groups)


def _expr(path: str) -> Tuple[str, str]:
    """``(parent expression, last name)`` of a dotted path below ``self``."""
    expr = "self"
    parts = path.split(".")
    for part in parts[:-1]:
        expr = f"{expr}.{part}" if part.isidentifier() and not keyword.iskeyword(part) else f"getattr({expr}, {part!r})"
    return expr, parts[-1]


def _read(path: str) -> str:
    parent, last = _expr(path)
    return f"{parent}.{last}" if last.isidentifier() and not keyword.iskeyword(last) else f"getattr({parent}, {last!r})"


def tie_lines(model: GraphModel) -> List[str]:
    """Statements for the root class's ``__init__`` that make shared objects shared again."""
    groups: Dict[int, List[str]] = {}
    _walk(model, model.root, "", groups)
    lines: List[str] = []
    for paths in groups.values():
        for alias in paths[1:]:
            parent, last = _expr(alias)
            if last.isidentifier() and not keyword.iskeyword(last):
                lines.append(f"        {parent}.{last} = {_read(paths[0])}")
            else:
                lines.append(f"        setattr({parent}, {last!r}, {_read(paths[0])})")
    if lines:
        lines.insert(0, "        # shared in the original model: one object here too (tied weights)")
    return lines
