"""``dedup_input``: models trained on the same data read and preprocess each batch once."""
from __future__ import annotations

from typing import Dict

from .plan import LogicalPlan

__all__ = ["DedupInputOptimizer"]


class DedupInputOptimizer:
    """Merges input pipelines whose ``data_key`` is equal (same dataloaders/datamodule by value)."""

    def convert(self, plan: LogicalPlan) -> None:
        first: Dict[str, int] = {}
        index = 0
        while index < len(plan.inputs):
            key = plan.inputs[index].data_key
            if key in first:
                plan.merge_inputs(first[key], index)  # removes `index`; the next pipeline moves into it
                continue
            first[key] = index
            index += 1
