"""LayerChoice and InputChoice, plus ChosenInputs (the frozen form of an InputChoice)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn

from nascore.mutable import Categorical, CategoricalMultiple, Sample, current_frozen_sample

from .base import MutableModule, freeze_module_tree

__all__ = ["LayerChoice", "InputChoice", "ChosenInputs"]

Candidates = Union[Sequence[nn.Module], Mapping[str, nn.Module]]
REDUCTIONS = ("sum", "mean", "concat", "none")


def _candidate_names(candidates: Candidates) -> list[Any]:
    if isinstance(candidates, Mapping):
        names = list(candidates.keys())
        if not all(isinstance(k, str) for k in names):
            raise TypeError("LayerChoice dict keys must be strings")
        return names
    return list(range(len(candidates)))


class LayerChoice(MutableModule):
    """Choose one of ``candidates``; the sample value is the index (list) or key (dict).

    Dry-run forward runs the default candidate. Under a frozen context, constructing a
    LayerChoice returns the chosen candidate itself.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        sample = current_frozen_sample()
        if sample is not None and (args or "candidates" in kwargs):
            candidates = args[0] if args else kwargs["candidates"]
            # create the choice exactly as __init__ would, so the label counter advances identically
            choice = Categorical(_candidate_names(candidates), label=kwargs.get("label"))
            return candidates[choice.freeze(sample)]
        return super().__new__(cls)

    def __init__(self, candidates: Candidates, *, label: Optional[str] = None) -> None:
        super().__init__()
        names = _candidate_names(candidates)
        if not names:
            raise ValueError("LayerChoice needs at least one candidate")
        self.choice = self.add_mutable(Categorical(names, label=label))
        self.names = names
        for name in names:
            module = candidates[name]
            if not isinstance(module, nn.Module):
                raise TypeError(f"candidate {name!r} is not an nn.Module: {module!r}")
            self.add_module(str(name), module)

    @property
    def label(self) -> str:
        return self.choice.label

    @property
    def candidates(self) -> list[nn.Module]:
        return [self._modules[str(n)] for n in self.names]

    def __getitem__(self, key: Union[int, str]) -> nn.Module:
        return self._modules[str(key)]

    def __len__(self) -> int:
        return len(self.names)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self[self.choice.default()](*args, **kwargs)

    def _freeze_self(self, sample: Sample) -> nn.Module:
        return freeze_module_tree(self[self.choice.freeze(sample)], sample)

    def extra_repr(self) -> str:
        return f"label={self.label!r}"


def reduce_tensors(tensors: list[torch.Tensor], reduction: str) -> Any:
    if reduction == "none":
        return list(tensors)
    if not tensors:
        raise ValueError(f"reduction {reduction!r} needs at least one input")
    if reduction == "sum":
        out = tensors[0]
        for t in tensors[1:]:
            out = out + t
        return out
    if reduction == "mean":
        return torch.stack(list(tensors)).mean(0)
    return torch.cat(list(tensors), dim=1)


class ChosenInputs(nn.Module):
    """Fixed selection ``chosen`` (indices) of the inputs, reduced with ``reduction``."""

    def __init__(self, chosen: Union[int, Sequence[int]], reduction: str = "sum") -> None:
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.chosen = [chosen] if isinstance(chosen, int) else list(chosen)
        self.reduction = reduction

    def forward(self, inputs: list[torch.Tensor]) -> Any:
        return reduce_tensors([inputs[i] for i in self.chosen], self.reduction)

    def extra_repr(self) -> str:
        return f"chosen={self.chosen}, reduction={self.reduction!r}"


def _make_input_choice(n_candidates: int, n_chosen: Optional[int], label: Optional[str]) -> Any:
    if n_chosen == 1:
        return Categorical(list(range(n_candidates)), label=label)
    return CategoricalMultiple(list(range(n_candidates)), n_chosen=n_chosen, label=label)


class InputChoice(MutableModule):
    """Choose ``n_chosen`` of ``n_candidates`` inputs and reduce them (sum|mean|concat|none).

    Sample value: an int when ``n_chosen == 1``, else a sorted list of ints (``n_chosen=None``:
    any subset). ``reduction="none"`` returns the list of chosen tensors.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        sample = current_frozen_sample()
        if sample is not None and (args or "n_candidates" in kwargs):
            n, n_chosen, reduction, label = cls._parse(*args, **kwargs)
            choice = _make_input_choice(n, n_chosen, label)
            return ChosenInputs(choice.freeze(sample), reduction)
        return super().__new__(cls)

    @staticmethod
    def _parse(n_candidates: int, n_chosen: Optional[int] = 1, reduction: str = "sum", *,
               label: Optional[str] = None) -> tuple:
        if reduction not in REDUCTIONS:
            raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
        if n_candidates < 1:
            raise ValueError("InputChoice needs at least one candidate")
        return n_candidates, n_chosen, reduction, label

    def __init__(self, n_candidates: int, n_chosen: Optional[int] = 1, reduction: str = "sum", *,
                 label: Optional[str] = None) -> None:
        super().__init__()
        self.n_candidates, self.n_chosen, self.reduction, _ = self._parse(
            n_candidates, n_chosen, reduction, label=label)
        self.choice = self.add_mutable(_make_input_choice(n_candidates, n_chosen, label))

    @property
    def label(self) -> str:
        return self.choice.label

    @property
    def chosen(self) -> list[int]:
        """Indices used by the dry-run forward (the default)."""
        value = self.choice.default()
        return [value] if isinstance(value, int) else list(value)

    def forward(self, inputs: list[torch.Tensor]) -> Any:
        return reduce_tensors([inputs[i] for i in self.chosen], self.reduction)

    def _freeze_self(self, sample: Sample) -> nn.Module:
        return ChosenInputs(self.choice.freeze(sample), self.reduction)

    def extra_repr(self) -> str:
        return f"n_candidates={self.n_candidates}, n_chosen={self.n_chosen}, reduction={self.reduction!r}, label={self.label!r}"
