"""Cell: a DARTS-style cell of nodes, each summing ops applied to chosen earlier states."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn

from nascore.mutable import auto_label
from nascore.mutable.labels import _exact_scope

from .base import MutableModule
from .choice import ChosenInputs, InputChoice, LayerChoice

__all__ = ["Cell"]

OpFactory = Union[nn.Module, Callable[..., nn.Module]]
MERGE_OPS = ("all", "loose_end")


def _make_op(op: OpFactory, node: int, index: int) -> nn.Module:
    if isinstance(op, nn.Module):
        import copy
        return copy.deepcopy(op)
    n_params = len(inspect.signature(op).parameters)
    # input_index is always None: one op is shared by every input candidate, which keeps the
    # structural freeze and the re-instantiated model identical for a sample
    return op(node, index, None) if n_params >= 3 else op(node, index)


class Cell(MutableModule):
    """``num_nodes`` nodes; node i has ``num_ops_per_node`` (InputChoice over the
    ``num_predecessors + i`` earlier states, LayerChoice of ops) pairs and outputs their sum.

    ``op_candidates``: list or dict of modules (deep-copied) or factories
    ``f(node_index, op_index, input_index)`` (``input_index`` is always None, see ``_make_op``).
    Output: concat on dim 1 of all nodes (``merge_op="all"``) or of nodes no other node reads
    (``"loose_end"``). Labels: ``{cell}/op_{i}_{j}`` and ``{cell}/input_{i}_{j}``.
    """

    def __init__(self, op_candidates: Union[Sequence[OpFactory], Mapping[str, OpFactory]],
                 num_nodes: int, num_ops_per_node: int = 1, num_predecessors: int = 1,
                 merge_op: str = "all", *, label: Optional[str] = None) -> None:
        super().__init__()
        if merge_op not in MERGE_OPS:
            raise ValueError(f"merge_op must be one of {MERGE_OPS}")
        self.label = auto_label(label)
        self.num_nodes, self.num_ops_per_node = num_nodes, num_ops_per_node
        self.num_predecessors, self.merge_op = num_predecessors, merge_op
        self.ops = nn.ModuleList()
        self.inputs = nn.ModuleList()
        with _exact_scope(self.label):
            for i in range(num_nodes):
                node_ops, node_inputs = nn.ModuleList(), nn.ModuleList()
                for j in range(num_ops_per_node):
                    node_inputs.append(InputChoice(num_predecessors + i, 1, label=f"input_{i}_{j}"))
                    if isinstance(op_candidates, Mapping):
                        cands: Any = {k: _make_op(f, i, j) for k, f in op_candidates.items()}
                    else:
                        cands = [_make_op(f, i, j) for f in op_candidates]
                    node_ops.append(LayerChoice(cands, label=f"op_{i}_{j}"))
                self.ops.append(node_ops)
                self.inputs.append(node_inputs)

    def _used_states(self) -> set[int]:
        used: set[int] = set()
        for node_inputs in self.inputs:
            for inp in node_inputs:
                if isinstance(inp, (InputChoice, ChosenInputs)):
                    used.update(inp.chosen)
        return used

    def forward(self, *predecessors: Any) -> torch.Tensor:
        if len(predecessors) == 1 and isinstance(predecessors[0], (list, tuple)):
            predecessors = tuple(predecessors[0])
        if len(predecessors) != self.num_predecessors:
            raise ValueError(f"Cell expects {self.num_predecessors} inputs, got {len(predecessors)}")
        states = list(predecessors)
        for node_ops, node_inputs in zip(self.ops, self.inputs):
            out = None
            for op, inp in zip(node_ops, node_inputs):
                y = op(inp(states))
                out = y if out is None else out + y
            states.append(out)
        nodes = range(self.num_predecessors, len(states))
        if self.merge_op == "loose_end":
            used = self._used_states()
            nodes = [k for k in nodes if k not in used]
        return torch.cat([states[k] for k in nodes], dim=1)

    def extra_repr(self) -> str:
        return f"label={self.label!r}, num_nodes={self.num_nodes}, merge_op={self.merge_op!r}"
