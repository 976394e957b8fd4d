"""nascore-raw: the ``raw`` model format (keeps the model space object, in this process only)."""
from __future__ import annotations

__all__ = ["RawFormatConfig", "RawModelSpace"]


def __getattr__(name: str):
    # Lazy: importing the package for its hooks must not import torch.
    if name == "RawFormatConfig":
        from nascore_raw.config import RawFormatConfig
        return RawFormatConfig
    if name == "RawModelSpace":
        from nascore_raw.space import RawModelSpace
        return RawModelSpace
    raise AttributeError(f"module 'nascore_raw' has no attribute {name!r}")
