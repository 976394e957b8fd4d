"""What a trial's page shows about the model itself: module tree, parameter count, graph IR, generated code.

A stored experiment is data: the viewer never imports the user's code to rebuild a model. So the module tree
and parameter count come from the live model object while the experiment runs in this process; the graph
format's IR is JSON in the stored payload and is drawn (and turned into code) without the user's modules.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

__all__ = ["module_tree", "graph_of", "code_of", "describe_model"]

_logger = logging.getLogger(__name__)
_MAX_NODES = 400  # a tree this big is already unreadable; the page says how many were left out


def module_tree(module: Any) -> Dict[str, Any]:
    """``{"name", "type", "params", "children": [...]}`` of an ``nn.Module`` (the first 400 modules)."""
    budget = [_MAX_NODES]

    def walk(name: str, mod: Any) -> Dict[str, Any]:
        budget[0] -= 1
        children = []
        for child_name, child in mod.named_children():
            if budget[0] <= 0:
                children.append({"name": "…", "type": "more modules not shown", "params": None, "children": []})
                break
            children.append(walk(child_name, child))
        return {"name": name, "type": type(mod).__name__,
                "params": sum(p.numel() for p in mod.parameters()), "children": children}
    return walk("model", module)


def graph_of(payload: Any) -> Optional[Dict[str, Any]]:
    """The graph format's IR in a drawable form: each graph's nodes and edges (data only, from the payload)."""
    ir = payload.get("ir") if isinstance(payload, dict) else None
    if not isinstance(ir, dict) or not isinstance(ir.get("graphs"), list):
        return None
    graphs = []
    for graph in ir["graphs"]:
        modules = graph.get("modules") if isinstance(graph.get("modules"), dict) else {}
        nodes = [{"id": n.get("id"), "name": n.get("name"), "type": n.get("type"),
                  "op": _op_label(n, modules)} for n in graph.get("nodes", [])]
        edges = [[e[0], e[2]] for e in graph.get("edges", []) if isinstance(e, list) and len(e) >= 3]
        graphs.append({"name": graph.get("name"), "class_name": graph.get("class_name"), "nodes": nodes,
                       "edges": edges})
    return {"top": ir.get("top"), "graphs": graphs}


def _op_label(node: Dict[str, Any], modules: Dict[str, Any]) -> str:
    """What a node computes, briefly: ``Linear(4, 8)`` (its keyword values), a function, input/output."""
    target = node.get("target") if isinstance(node.get("target"), str) else ""
    module = modules.get(target) if node.get("type") == "module" else None
    if isinstance(module, dict):
        cls = str(module.get("cls") or module.get("graph") or target).rpartition(".")[2]
        kwargs = module.get("kwargs") if isinstance(module.get("kwargs"), dict) else {}
        args = ", ".join(str(v) for v in kwargs.values() if isinstance(v, (int, float, str, bool)))
        return f"{cls}({args})" if args else cls
    return target.rpartition(".")[2] or str(node.get("type") or "")


def code_of(payload: Any, format_name: Optional[str]) -> Optional[str]:
    """Generated PyTorch source for formats that generate code, from the payload without its evaluator (so no
    user module is imported)."""
    if not isinstance(payload, dict) or not format_name:
        return None
    from nascore.plugins import UnknownComponentError, get_plugin_manager
    try:
        cls = get_plugin_manager().get_model_format(format_name).load()
    except UnknownComponentError:
        return None
    if not callable(getattr(cls, "to_code", None)):
        return None
    try:
        return cls.from_payload(dict(payload, evaluator=None)).to_code()
    except Exception as exc:  # noqa: BLE001 - a page shows why instead of failing
        _logger.debug("no code for payload", exc_info=True)
        return f"# the code could not be generated: {type(exc).__name__}: {exc}"


def describe_model(model: Any) -> Dict[str, Any]:
    """Module tree and parameter count of a live model object (built on demand; errors are reported)."""
    try:
        module = model.executable_model()
        tree = module_tree(module)
        return {"tree": tree, "params": tree["params"]}
    except Exception as exc:  # noqa: BLE001
        return {"tree": None, "params": None, "error": f"{type(exc).__name__}: {exc}"}


def merged_models(detail: Dict[str, Any], engine: Optional[str]) -> List[int]:
    """Models trained in the same merged trial (CGO); empty for other engines."""
    return list(detail.get("merged_with") or []) if engine == "cgo" else []
