"""nascore-simplified: the ``simplified`` model format (a model is its class path, init arguments and sample)."""
from __future__ import annotations

__all__ = ["SimplifiedFormatConfig", "SimplifiedModelSpace"]


def __getattr__(name: str):
    # Lazy: importing the package for its hooks must not import torch.
    if name == "SimplifiedFormatConfig":
        from nascore_simplified.config import SimplifiedFormatConfig
        return SimplifiedFormatConfig
    if name == "SimplifiedModelSpace":
        from nascore_simplified.space import SimplifiedModelSpace
        return SimplifiedModelSpace
    raise AttributeError(f"module 'nascore_simplified' has no attribute {name!r}")
