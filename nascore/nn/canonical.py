"""Canonical samples: one sample per architecture.

A sample holds a value for every label, also for choices the model it builds does not use: the ops of
``Repeat`` blocks beyond the sampled depth, what is inside the candidates of a ``LayerChoice`` that were not
chosen. Two samples that differ only there build the same network. :func:`canonical_sample` fixes each such
*dormant* choice to its default value, so equal architectures get equal samples (and dedup sees them).
"""
from __future__ import annotations

from typing import Dict, Set

import torch.nn as nn

from nascore.mutable import LabeledMutable, Mutable, MutableSymbol, Sample

from .base import MutableModule
from .choice import LayerChoice
from .repeat import Repeat

__all__ = ["canonical_sample", "dormant_labels"]


def canonical_sample(space: nn.Module, sample: Sample) -> Sample:
    """``sample`` with every choice that cannot change the model built from ``space`` set to its default
    value (a new dict; ``sample`` is unchanged). A label also used where it matters (or anywhere outside the
    module tree, such as the evaluator) keeps its value."""
    dormant = dormant_labels(space, sample)
    if not dormant:
        return dict(sample)
    return {label: (dormant[label].default_value() if label in dormant else value) for label, value in sample.items()}


def dormant_labels(space: nn.Module, sample: Sample) -> Dict[str, MutableSymbol]:
    """The leaves of ``space`` that ``sample`` makes unused: found only inside blocks a ``Repeat`` drops or
    candidates a ``LayerChoice`` does not choose."""
    active: Set[str] = set()
    unused: Dict[str, MutableSymbol] = {}
    _walk(space, sample, True, active, unused)
    return {label: leaf for label, leaf in unused.items() if label not in active}


def _leaves(mutable: Mutable) -> Dict[str, LabeledMutable]:
    return mutable.simplify()


def _value(mutable: Mutable, sample: Sample):  # None when the sample cannot say (then nothing is dropped)
    try:
        return mutable.freeze(sample)
    except (ValueError, KeyError):
        return None


def _walk(module: nn.Module, sample: Sample, used: bool, active: Set[str], unused: Dict[str, MutableSymbol]) -> None:
    if isinstance(module, MutableModule):
        for mutable in module.mutables:
            for label, leaf in _leaves(mutable).items():
                if used:
                    active.add(label)
                elif isinstance(leaf, MutableSymbol):
                    unused.setdefault(label, leaf)
    if isinstance(module, LayerChoice):
        chosen = _value(module.choice, sample) if used else None
        for name in module.names:
            _walk(module[name], sample, used and (chosen is None or name == chosen), active, unused)
        return
    if isinstance(module, Repeat):
        depth = module.depth_choice
        depth = _value(depth, sample) if isinstance(depth, Mutable) and used else depth
        for i, block in enumerate(module.blocks):
            _walk(block, sample, used and (not isinstance(depth, int) or i < depth), active, unused)
        return
    for child in module.children():
        _walk(child, sample, used, active, unused)
