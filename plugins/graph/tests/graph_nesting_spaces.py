"""Model spaces with choices nested in choices, and other shapes users write (read by test_graph_nesting.py).

Every space maps a (3, 4) tensor to tensors, so one harness compares the graph format with the simplified one.
"""
from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn as nn

import nascore.nn as nnn
from nascore.mutable import Categorical


# ---- choices nested directly in choices ---------------------------------------------------------------------
class RepeatOfChoice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.body = nnn.Repeat(lambda i: nnn.LayerChoice([nn.Identity(), nn.Tanh()], label=f"a{i}"), (0, 2), label="d")

    def forward(self, x):
        return self.body(x)


class ChoiceOfRepeat(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([nnn.Repeat(nn.Linear(4, 4), (1, 2), label="d"), nn.Linear(4, 4)], label="c")

    def forward(self, x):
        return self.c(x)


class NestedChoice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([nnn.LayerChoice([nn.Tanh(), nn.ReLU()], label="inner"), nn.Linear(4, 4)],
                                 label="outer")

    def forward(self, x):
        return self.c(x)


class RepeatOfRepeat(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        # a module block is deep-copied per repetition: every copy shares the inner label
        self.a = nnn.Repeat(nnn.Repeat(nn.Linear(4, 4), (1, 2), label="inner"), (1, 2), label="outer")
        self.b = nnn.Repeat(lambda i: nnn.Repeat(lambda j: nn.Linear(4, 4), (0, 2), label=f"b{i}"), (1, 3),
                            label="bd")

    def forward(self, x):
        return self.b(self.a(x))


class ChoiceOfSequentialWithChoice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        inner = nnn.LayerChoice([nn.ReLU(), nn.Linear(4, 4)], label="act")
        self.c = nnn.LayerChoice([nn.Sequential(nn.Linear(4, 4), inner), nn.Identity()], label="c")

    def forward(self, x):
        return self.c(x)


class DictNested(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        inner = nnn.LayerChoice({"tanh": nn.Tanh(), "lin": nn.Linear(4, 4)}, label="inner")
        self.c = nnn.LayerChoice({"nested": inner, "id": nn.Identity(), "lin": nn.Linear(4, 4, bias=False)},
                                 label="outer")

    def forward(self, x):
        return self.c(x)


class RepeatListOfChoices(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        blocks = [nnn.LayerChoice([nn.Linear(4, 4), nn.Tanh()], label=f"l{i}") for i in range(3)]
        self.body = nnn.Repeat(blocks, (1, 3), label="d")

    def forward(self, x):
        return self.body(x)


class ValueChoiceInNested(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        w = Categorical([3, 6], label="w")
        inner = nnn.LayerChoice([nn.Sequential(nnn.Linear(4, w), nn.ReLU(), nnn.Linear(w, 4)), nn.Tanh(),
                                 nn.Sequential(nnn.Linear(4, w * 2), nnn.Linear(w * 2, 4))], label="inner")
        self.c = nnn.LayerChoice([inner, nn.Identity()], label="outer")

    def forward(self, x):
        return self.c(x)


class TripleNesting(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        rep = nnn.Repeat(lambda i: nnn.LayerChoice([nn.Linear(4, 4), nnn.LayerChoice([nn.Tanh(), nn.ReLU()],
                                                                                   label=f"act{i}")],
                                                   label=f"op{i}"), (1, 2), label="d")
        self.c = nnn.LayerChoice([rep, nn.Identity()], label="c")

    def forward(self, x):
        return self.c(x)


class ChoiceOfInputChoice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)
        self.pick = nnn.LayerChoice([nnn.InputChoice(2, 1, label="one"),
                                     nnn.InputChoice(2, 2, reduction="mean", label="two")], label="pick")

    def forward(self, x):
        return self.pick([self.a(x), self.b(x)])


class RepeatOfCell(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        cell = nnn.Cell([nn.Identity(), nn.Tanh(), nn.Linear(4, 4)], num_nodes=1, num_ops_per_node=2, label="cell")
        self.body = nnn.Repeat(cell, (1, 2), label="d")

    def forward(self, x):
        return self.body(x)


class ChoiceOfCell(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        cell = nnn.Cell([nn.Identity(), nn.Linear(4, 4)], num_nodes=2, merge_op="all", label="cell")
        self.c = nnn.LayerChoice([cell, nn.Linear(4, 8)], label="c")

    def forward(self, x):
        return self.c(x)


class RepeatOfBlocks(nnn.ModelSpace):
    class Block(nn.Module):
        def __init__(self, i):
            super().__init__()
            self.op = nnn.LayerChoice({"lin": nn.Linear(4, 4), "act": nn.ReLU()}, label=f"op{i}")
            self.inp = nnn.InputChoice(2, 1, label=f"in{i}")

        def forward(self, x):
            return self.inp([self.op(x), x])

    def __init__(self):
        super().__init__()
        self.body = nnn.Repeat(RepeatOfBlocks.Block, (1, 3), label="d")

    def forward(self, x):
        return self.body(x)


class CellOfNested(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        # an op factory returning a choice: labels live in the cell's scope ("cell/act_0_1")
        ops = [nn.Identity(), lambda node, op: nnn.LayerChoice([nn.Tanh(), nn.ReLU()], label=f"act_{node}_{op}")]
        self.cell = nnn.Cell(ops, num_nodes=2, num_ops_per_node=2, num_predecessors=1, merge_op="loose_end",
                             label="cell")

    def forward(self, x):
        return self.cell(x)


class CellOfSequentialChoice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        ops = [nn.Identity(), lambda node, op: nn.Sequential(
            nnn.LayerChoice([nn.Tanh(), nn.Linear(4, 4)], label=f"seq_{node}_{op}"), nn.ReLU())]
        self.cell = nnn.Cell(ops, num_nodes=2, label="cell")

    def forward(self, x):
        return self.cell(x)


class UnusedChoices(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 4)
        # never called in forward: frozen all the same (its weights are in the state_dict)
        self.spare = nnn.LayerChoice([nn.Linear(4, 2), nnn.Repeat(nn.Linear(4, 4), (1, 2), label="spare_d")],
                                     label="spare")
        self.bag = nn.ModuleList([nnn.LayerChoice([nn.Linear(4, 3), nn.Linear(4, 5)], label="bag")])

    def forward(self, x):
        return self.used(x)


# ---- other shapes a user writes -------------------------------------------------------------------------
class Inner(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([nn.Linear(4, 4), nn.Tanh()], label="inner_c")

    def forward(self, x):
        return self.c(x) + x


class SpaceInSpace(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.inner = Inner()
        self.d = nnn.Repeat(lambda i: Inner(), (1, 2), label="d")  # the same labels in every copy

    def forward(self, x):
        return self.d(self.inner(x))


class SharedCandidate(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.c = nnn.LayerChoice([self.lin, nn.Tanh()], label="c")  # a candidate that is also used directly

    def forward(self, x):
        return self.c(self.lin(x))


class ChoiceCalledTwice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([nn.Linear(4, 4), nn.Sigmoid()], label="c")
        self.alias = self.c  # the same choice under a second name

    def forward(self, x):
        return self.alias(self.c(x)) * 2


class ChoicesInContainers(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nnn.LayerChoice([nn.Linear(4, 4), nn.ReLU()], label=f"m{i}") for i in range(2)])
        self.heads = nn.ModuleDict({"p": nnn.LayerChoice([nn.Linear(4, 4), nn.Tanh()], label="p"),
                                    "q": nn.Linear(4, 4)})

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        out = x
        for head in self.heads.values():
            out = out + head(x)
        return out


class WithHelper(nn.Module):
    def __init__(self):
        super().__init__()
        self.op = nnn.LayerChoice([nn.Linear(4, 4), nn.ReLU()], label="sub_op")

    def twice(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(self.op(x))


class HelperMethod(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([nn.Linear(4, 4), nn.Tanh()], label="c")
        self.d = nnn.Repeat(nn.Linear(4, 4), (1, 2), label="d")
        self.sub = WithHelper()  # only its helper method is called

    def _block(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(x) + x

    def forward(self, x):
        return self.sub.twice(self.d(self._block(x)))


class Scaled(nn.Module):
    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor, scale: float = 1.0, shift: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.inner(x) * scale
        if shift is not None:
            y = y + shift
        return y


class KwargsCalls(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([Scaled(nn.Linear(4, 4)), Scaled(nn.Tanh())], label="c")
        self.s = Scaled(nnn.LayerChoice([nn.ReLU(), nn.Linear(4, 4)], label="inner"))

    def forward(self, x):
        y = self.c(x, scale=0.5, shift=x)
        return self.s(y, shift=x), self.s(x=y, scale=2.0, shift=-x)


class TupleCandidates(nnn.ModelSpace):
    class Split(nn.Module):
        def __init__(self, lin: bool):
            super().__init__()
            self.f = nn.Linear(4, 4) if lin else nn.Identity()

        def forward(self, x: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor]":
            y = self.f(x)
            return y, -y

    def __init__(self):
        super().__init__()
        # only nested choices: their candidates tell the tuple return type
        self.c = nnn.LayerChoice([nnn.LayerChoice([TupleCandidates.Split(False), TupleCandidates.Split(True)],
                                                  label="inner"),
                                  nnn.LayerChoice([TupleCandidates.Split(True)], label="single")], label="c")

    def forward(self, x):
        a, b = self.c(x)
        return a * b


class ListInput(nnn.ModelSpace):
    class Sum(nn.Module):
        def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
            return xs[0] + xs[1]

    def __init__(self):
        super().__init__()
        self.m = nnn.LayerChoice([ListInput.Sum(), nnn.InputChoice(2, 1, label="pick")], label="merge")

    def forward(self, x):
        return self.m([x, torch.tanh(x)])


NESTED = [RepeatOfChoice, ChoiceOfRepeat, NestedChoice, RepeatOfRepeat, ChoiceOfSequentialWithChoice, DictNested,
          RepeatListOfChoices, ValueChoiceInNested, TripleNesting, ChoiceOfInputChoice, RepeatOfCell, ChoiceOfCell,
          RepeatOfBlocks, CellOfNested, CellOfSequentialChoice, UnusedChoices]
OTHER = [SpaceInSpace, SharedCandidate, ChoiceCalledTwice, ChoicesInContainers, HelperMethod, KwargsCalls,
         TupleCandidates, ListInput]
SPACES = NESTED + OTHER


# ---- more shapes (appended to SPACES below) -----------------------------------------------------------------
class SpaceAsCandidate(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.c = nnn.LayerChoice([Inner(), nn.Linear(4, 4)], label="c")

    def forward(self, x):
        return self.c(x)


class RepeatOfSequentialChoice(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        # deep-copied block: one decision ("act") for every repetition
        block = nn.Sequential(nnn.LayerChoice([nn.ReLU(), nn.Linear(4, 4)], label="act"), nn.Linear(4, 4))
        self.body = nn.Sequential(nnn.Repeat(block, (1, 3), label="d"), nn.Tanh())

    def forward(self, x):
        return self.body(x)


class SharedLabels(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        depth = Categorical([1, 2], label="depth")
        self.a = nnn.Repeat(lambda i: nn.Linear(4, 4), depth)
        self.b = nnn.Repeat(lambda i: nnn.LayerChoice([nn.Tanh(), nn.Linear(4, 4)], label="op"), depth)
        self.c = nnn.LayerChoice([nn.Tanh(), nn.Linear(4, 4)], label="op")  # the same decision as b's blocks

    def forward(self, x):
        return self.c(self.b(self.a(x)))


class ComprehensionOverChoices(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        self.ops = nn.ModuleList([nnn.LayerChoice([nn.Linear(4, 4), nn.Sigmoid()], label=f"p{i}") for i in range(3)])
        self.merge = nnn.InputChoice(3, 2, reduction="concat", label="merge")

    def forward(self, x):
        outs = [op(x) for op in self.ops]
        return self.merge(outs)


class TwoInputCandidates(nnn.ModelSpace):
    class Mix(nn.Module):
        def __init__(self, lin: bool):
            super().__init__()
            self.f = nn.Linear(4, 4) if lin else nn.Identity()

        def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return self.f(a) - b

    def __init__(self):
        super().__init__()
        Mix = TwoInputCandidates.Mix
        self.c = nnn.LayerChoice([nnn.LayerChoice([Mix(True), Mix(False)], label="inner"), Mix(True)], label="c")

    def forward(self, x):
        return self.c(x, x * 2) + self.c(b=x, a=x)


class SharedAcrossChoices(nnn.ModelSpace):
    def __init__(self):
        super().__init__()
        shared = nn.Linear(4, 4)  # one module object, a candidate of two choices
        self.a = nnn.LayerChoice([shared, nn.Tanh()], label="a")
        self.b = nnn.LayerChoice([shared, nn.ReLU()], label="b")

    def forward(self, x):
        return self.b(self.a(x))


MORE = [SharedAcrossChoices, SpaceAsCandidate, RepeatOfSequentialChoice, SharedLabels, ComprehensionOverChoices,
        TwoInputCandidates]
SPACES += MORE
OTHER += MORE
