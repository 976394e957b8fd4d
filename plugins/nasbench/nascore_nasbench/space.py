"""The NAS-Bench-Graph architecture space written with nascore mutables.

Four computing nodes; node ``i`` applies operation ``op{i}`` to the output of node ``link{i}`` (0 is the
graph's input; node 0 always reads the input, so there is no ``link0``); nodes nobody reads are summed into
the output. Labels and their order follow NNI's benchmark space (``op0, link1, op1, ...``). An architecture of
only ``skip`` operations is not in the tables, so a constraint rules it out and no strategy wastes a trial on
it. Isomorphic samples name the same table entry (the benchmark's key merges them); ``canonical_sample`` maps
each sample to its class's representative, so dedup in every strategy sees one sample per network.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

from nascore.mutable import Categorical, ExpressionConstraint, MutableExpression, current_frozen_sample, \
    ensure_frozen
from nascore.nn import ModelSpace

from .table import NUM_NODES, OPS, sample_architecture

__all__ = ["NasBenchGraphSpace"]


def _any_not_skip(*ops: Any) -> bool:
    return any(op != "skip" for op in ops)


class NasBenchGraphSpace(ModelSpace):
    """The benchmark's space; ``ops`` defaults to the nine operations of every data set but proteins
    (``table.PROTEINS_OPS`` for proteins). A frozen model holds ``links`` and ``ops``; it is looked up, not run:
    evaluate it with :class:`nascore_nasbench.NasBenchGraphEvaluator`."""

    def __init__(self, ops: Sequence[str] = OPS) -> None:
        super().__init__()
        ops = list(ops)
        if not ops or len(set(ops)) != len(ops):
            raise ValueError(f"ops must be distinct operation names, got {ops}")
        self.links: List[int] = [0]
        self.ops: List[str] = []
        op_choices = []
        for i in range(NUM_NODES):
            if i:
                self.links.append(ensure_frozen(Categorical(list(range(i + 1)), label=f"link{i}")))
            choice = Categorical(ops, label=f"op{i}")
            op_choices.append(choice)
            self.ops.append(ensure_frozen(choice))
        if "skip" in ops and current_frozen_sample() is None:
            self.add_mutable(ExpressionConstraint(MutableExpression(_any_not_skip, op_choices, name="any_not_skip"),
                                                  label="not_all_skip"))

    def canonical_sample(self, sample: Dict[str, Any]) -> Dict[str, Any]:
        """The benchmark's representative of ``sample``'s isomorphism class (the table merges isomorphic
        architectures), so strategies never spend a trial on a network already evaluated under other labels."""
        from nas_bench_graph.architecture import Arch  # the benchmark's own canonical form

        links, ops = sample_architecture(sample)
        if all(op == "skip" for op in ops):
            return dict(sample)
        arch = Arch(links, ops).regularize()
        arch.move_skip_op()
        arch.equalpart_sort()
        canonical = dict(sample)
        canonical.update({f"op{i}": op for i, op in enumerate(arch.ops)})
        canonical.update({f"link{i}": arch.link[i] for i in range(1, NUM_NODES)})
        return canonical

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError("a NAS-Bench-Graph model is looked up in the benchmark's table, not run; evaluate "
                                  "it with nascore_nasbench.NasBenchGraphEvaluator")

    def extra_repr(self) -> str:
        return f"links={self.links}, ops={self.ops}"
