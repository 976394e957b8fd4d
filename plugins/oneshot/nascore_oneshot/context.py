"""SupernetContext: the state every supernet module reads at forward time (mode, sample, arch weights)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import torch
import torch.nn.functional as F

__all__ = ["SupernetContext", "UnsupportedSpaceError", "MIXED", "SAMPLE"]

MIXED = "mixed"    # DARTS: every choice is a softmax-weighted mixture of its candidates
SAMPLE = "sample"  # single path: every choice takes the value in ``context.sample``


class UnsupportedSpaceError(ValueError):
    """A construct of the model space that a one-shot strategy cannot turn into a supernet module."""


class SupernetContext:
    """Shared by all supernet modules of one space (kept out of the module tree on purpose, so the space's
    ``state_dict`` keeps its original keys and the architecture weights are not trained as model weights).

    ``values[label]`` lists the candidate values of each searchable label; ``alphas[label]`` is its
    architecture weight vector (DARTS only); ``sample`` is the path taken in ``SAMPLE`` mode.
    """

    def __init__(self, mode: str = SAMPLE) -> None:
        self.mode = mode
        self.values: Dict[str, List[Any]] = {}
        self.alphas: Dict[str, torch.nn.Parameter] = {}
        self.sample: Dict[str, Any] = {}

    def register(self, label: str, values: List[Any]) -> None:
        seen = self.values.get(label)
        if seen is not None and list(seen) != list(values):
            raise UnsupportedSpaceError(f"label {label!r} is used with two different value lists {seen} and {values}")
        self.values[label] = list(values)

    def make_alphas(self, device: Optional[torch.device] = None) -> None:
        """One zero-initialised (uniform) weight vector per label; existing ones are kept."""
        for label, values in self.values.items():
            if label not in self.alphas:
                self.alphas[label] = torch.nn.Parameter(torch.zeros(len(values), device=device))

    def probs(self, label: str) -> torch.Tensor:
        return F.softmax(self.alphas[label], dim=-1)

    def value(self, label: str) -> Any:
        try:
            return self.sample[label]
        except KeyError:
            raise KeyError(f"the supernet is in single-path mode but the sample has no value for {label!r}") from None

    def argmax_sample(self) -> Dict[str, Any]:
        """The architecture DARTS exports: the value with the largest weight for every label."""
        return {label: self.values[label][int(torch.argmax(alpha).item())] for label, alpha in self.alphas.items()}

    def arch_parameters(self) -> List[torch.nn.Parameter]:
        return list(self.alphas.values())

    def alpha_state(self) -> Dict[str, List[float]]:
        return {k: v.detach().cpu().tolist() for k, v in self.alphas.items()}

    def load_alpha_state(self, state: Dict[str, List[float]]) -> None:
        for label, values in state.items():
            if label in self.alphas:
                with torch.no_grad():
                    self.alphas[label].copy_(torch.tensor(values))
