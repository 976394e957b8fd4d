"""Exact JSON round trip of the values held in the IR (the IR itself is written by :mod:`nascore_graph.ir`).

Plain JSON cannot tell a tuple from a list, or hold slices, dtypes, ``...`` or slots; such values are
written as one-key tagged objects (``{"$tuple": [...]}``), so ``from_json(to_json(m))`` rebuilds the
same Python values. No pickle anywhere.
"""
from __future__ import annotations

import math
from typing import Any, Dict

from .slot import Slot

__all__ = ["encode_value", "decode_value", "Ref"]


class Ref:
    """A reference to an importable object (a function or class passed as an argument)."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Ref) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Ref({self.path!r})"


def encode_value(value: Any) -> Any:
    """``value`` as JSON data; tuples, slices, dtypes, slots, references... become one-key tagged objects."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode_value(v) for v in value]}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode_value(v) for k, v in value.items()}
        return {"$dict": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, Slot):
        return {"$slot": value.index}
    if isinstance(value, slice):
        return {"$slice": [encode_value(value.start), encode_value(value.stop), encode_value(value.step)]}
    if value is Ellipsis:
        return {"$ellipsis": 0}
    if isinstance(value, Ref):
        return {"$ref": value.path}
    return _encode_special(value)


def _encode_special(value: Any) -> Any:
    import torch
    from nascore.mutable import Categorical, CategoricalMultiple
    if isinstance(value, torch.dtype):
        return {"$dtype": str(value).replace("torch.", "")}
    if isinstance(value, torch.device):
        return {"$device": str(value)}
    if isinstance(value, torch.Size):
        return {"$size": list(value)}
    if isinstance(value, (torch.memory_format, torch.layout)):
        return {"$torch": str(value).replace("torch.", "")}
    if isinstance(value, torch.Tensor):
        return {"$tensor": {"data": value.detach().cpu().tolist(), "dtype": str(value.dtype).replace("torch.", ""),
                            "shape": list(value.shape)}}
    if isinstance(value, Categorical):
        return {"$categorical": {"label": value.label, "values": encode_value(value.values),
                                 "default": encode_value(value.default_value())}}
    if isinstance(value, CategoricalMultiple):
        return {"$categorical_multiple": {"label": value.label, "values": encode_value(value.values),
                                          "n_chosen": value.n_chosen}}
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) to the graph IR's JSON; freeze the "
                    "model first or pass plain values (numbers, strings, tuples, lists, dicts, dtypes)")


def decode_value(data: Any) -> Any:
    """The Python value :func:`encode_value` wrote."""
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        (key, inner), = data.items()
        if key.startswith("$"):
            return _decode_tagged(key, inner)
    return {k: decode_value(v) for k, v in data.items()}


def _decode_tagged(key: str, inner: Any) -> Any:
    if key == "$tuple":
        return tuple(decode_value(v) for v in inner)
    if key == "$dict":
        return {decode_value(k): decode_value(v) for k, v in inner}
    if key == "$slot":
        return Slot(inner)
    if key == "$slice":
        return slice(*(decode_value(v) for v in inner))
    if key == "$ellipsis":
        return Ellipsis
    if key == "$ref":
        return Ref(inner)
    if key == "$float":
        return float(inner)
    import torch
    if key == "$dtype":
        return getattr(torch, inner)
    if key == "$device":
        return torch.device(inner)
    if key == "$size":
        return torch.Size(inner)
    if key == "$torch":
        return getattr(torch, inner)
    if key == "$tensor":
        return torch.tensor(inner["data"], dtype=getattr(torch, inner["dtype"])).reshape(inner["shape"])
    from nascore.mutable import Categorical, CategoricalMultiple
    if key == "$categorical":
        return Categorical(decode_value(inner["values"]), default=decode_value(inner["default"]),
                           label=inner["label"])
    if key == "$categorical_multiple":
        return CategoricalMultiple(decode_value(inner["values"]), n_chosen=inner["n_chosen"], label=inner["label"])
    raise ValueError(f"unknown tag {key!r} in graph IR JSON")
