"""TorchScript frontend: statements that act rather than compute, which a graph of values would drop.

* ``assert cond, msg`` (and ``torch._assert``, ``if cond: raise ...``) on a value not known when converting
  (``assert C == self.dim`` with ``C`` from ``x.shape``): a ``torch._assert`` node, kept in generated code,
  then the branch that does not raise;
* ``with torch.no_grad():``: the grad mode saved, switched off and restored around the block, as calls;
* lists changed in place (``s = list(x.shape); s[-1] //= 2``, ``outs.insert(0, y)``): tracked item by item
  when their items are known separately, a ``list``/``operator.setitem`` node on a list that is a graph
  value, and an error for anything else, never a change silently lost.
"""
from __future__ import annotations

from typing import Any, Callable

from .ir import Operation
from .ts_values import Const, items

__all__ = ["raising_branch", "list_op", "LIST_OPS", "grad_context"]

LIST_OPS = ("aten::list", "aten::_set_item", "aten::insert", "aten::pop", "aten::clear", "aten::remove",
            "aten::reverse", "aten::sort", "aten::append", "aten::extend")


def _raises(block: Any) -> bool:
    return any(node.kind() == "prim::RaiseException" for node in block.nodes())


def raising_branch(tr: Any, n: Any, cond: Any, set_out: Callable[..., None]) -> bool:
    """``prim::If`` on a value not known here where one branch only raises: emit ``torch._assert`` for the
    other branch's condition and translate that branch. False when the If is not of that shape."""
    blocks = list(n.blocks())
    raising = [i for i, b in enumerate(blocks) if _raises(b)]
    if len(raising) != 1:
        return False
    raise_node = next(node for node in blocks[raising[0]].nodes() if node.kind() == "prim::RaiseException")
    message = tr.env.get(raise_node.inputsAt(0).unique()) if raise_node.inputsSize() else None
    text = message.value if isinstance(message, Const) and isinstance(message.value, str) else "assertion failed"
    text = text.split(": ", 1)[1] if text.startswith(("AssertionError: ", "Exception: ")) else text
    if raising[0] == 0:  # `if cond: raise`: the condition must be false
        cond = ("node", tr.emit(n, Operation("function", "operator.not_"), [cond]), 0)
    tr.emit(n, Operation("function", "torch._assert"), [cond, Const(text)])
    keep = blocks[1 - raising[0]]
    for i, v in enumerate(tr.block(keep.nodes(), list(keep.outputs()))):
        set_out(v, i)
    return True


def list_op(tr: Any, n: Any, kind: str, ins: list, set_out: Callable[..., None]) -> bool:
    """Handle a list (or dict) operation; True when done, False to leave it to the caller (a dict known item
    by item, an append to a list whose items are known), and an error for an in-place change that cannot be
    followed."""
    name = kind.split("::")[1]
    known = items(ins[0])
    if name == "list":
        if known is not None:
            set_out(known)
        else:
            set_out(("node", tr.emit(n, Operation("function", "builtins.list"), ins), 0))
        return True
    if name in ("append", "extend") or (name == "_set_item" and isinstance(ins[0], tuple) and ins[0][0] == "dict"):
        return False
    if name == "_set_item" and known is not None and isinstance(ins[1], Const):
        known[ins[1].value] = ins[2]
        tr.env[n.inputsAt(0).unique()] = known  # every later read of the list sees the change
        set_out(known)
        return True
    if name == "insert" and known is not None and isinstance(ins[1], Const):
        known.insert(ins[1].value, ins[2])
        tr.env[n.inputsAt(0).unique()] = known
        return True
    if name == "_set_item" and isinstance(ins[0], tuple) and ins[0][0] == "node":
        # s[i] = v on a list or dict computed at run time (list(x.shape)): an assignment in generated code
        tr.emit(n, Operation("function", "operator.setitem"), ins)
        set_out(ins[0])
        return True
    tr.fail(f"an in-place operation ({name}) on a list or dict not known when converting", n)
    return True


def grad_context(tr: Any, n: Any, kind: str, ins: list, set_out: Callable[..., None]) -> None:
    """``prim::Enter``/``prim::Exit`` of ``torch.no_grad()``: generated code turns gradients off for the block
    (what it computes is the same either way, but training would otherwise reach what the original kept out
    of autograd). Any other context manager is an error."""
    ctx = ins[0]
    if not getattr(ctx, "qualname", "").endswith("grad_mode.no_grad"):
        tr.fail("a with-statement other than torch.no_grad()", n)
    if kind == "prim::Enter":
        ctx.attrs["_prev"] = ("node", tr.emit(n, Operation("function", "torch.is_grad_enabled"), []), 0)
        tr.emit(n, Operation("function", "torch.set_grad_enabled"), [Const(False)])
    else:
        tr.emit(n, Operation("function", "torch.set_grad_enabled"), [ctx.attrs.pop("_prev")])
    set_out(Const(None))
