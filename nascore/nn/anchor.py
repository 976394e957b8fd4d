"""MutationAnchor: an identity placeholder that user-written graph mutators can target."""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from nascore.mutable import auto_label

__all__ = ["MutationAnchor"]


class MutationAnchor(nn.Module):
    """Identity module with a (scoped) label; one node in the graph format."""

    is_basic_unit = True

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = auto_label(label)

    def forward(self, x: Any) -> Any:
        return x

    def extra_repr(self) -> str:
        return f"label={self.label!r}"
