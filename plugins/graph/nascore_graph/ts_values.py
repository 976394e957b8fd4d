"""Values the TorchScript frontend tracks while translating: constants known at conversion time, objects of
TorchScript classes, uninitialised branch values, and the tables for folding and naming aten operations."""
from __future__ import annotations

import operator
from typing import Any, List, Optional

import torch

__all__ = ["Const", "Object", "Uninitialized", "FOLD", "MATH", "SCALAR_KINDS", "MAX_UNROLL", "OBJECT_KINDS",
           "enum_value", "is_default", "same", "items"]

FOLD = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
        "floordiv": operator.floordiv, "remainder": operator.mod, "eq": operator.eq, "ne": operator.ne,
        "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge, "__is__": operator.is_,
        "__isnot__": operator.is_not, "__not__": operator.not_, "__and__": operator.and_, "__or__": operator.or_,
        "neg": operator.neg, "pow": operator.pow, "len": len, "Int": int, "Float": float, "Bool": bool, "__getitem__": operator.getitem}
MATH = {"sqrt": "sqrt", "log": "log", "exp": "exp", "floor": "floor", "ceil": "ceil", "sin": "sin", "cos": "cos",
        "tanh": "tanh", "log2": "log2", "log10": "log10", "fabs": "fabs"}
SCALAR_KINDS = {"IntType", "FloatType", "BoolType", "NoneType", "StringType", "ListType", "TupleType"}


_DTYPES = {0: torch.uint8, 1: torch.int8, 2: torch.int16, 3: torch.int32, 4: torch.int64, 5: torch.float16,
           6: torch.float32, 7: torch.float64, 9: torch.complex64, 10: torch.complex128, 11: torch.bool,
           15: torch.bfloat16}
_FORMATS = {0: torch.contiguous_format, 1: torch.preserve_format, 2: torch.channels_last, 3: torch.channels_last_3d}


def enum_value(arg_name: str, value: Any) -> Any:
    """A dtype/memory format/layout argument as the torch object."""
    # TorchScript stores dtypes and memory formats as ints; generated code needs the torch objects
    if isinstance(value, Const) and isinstance(value.value, int) and not isinstance(value.value, bool):
        if arg_name == "dtype":
            return Const(_DTYPES[value.value])
        if arg_name == "memory_format":
            return Const(_FORMATS[value.value])
        if arg_name == "layout":
            return Const(torch.strided)
    return value


def is_default(arg: Any, value: Any) -> bool:
    """Whether ``value`` is the schema argument's default."""
    default = getattr(arg, "default_value", None)
    return default is not None and type(default) is type(value) and default == value


def same(a: Any, b: Any) -> bool:
    """Equal and of the same type."""
    return type(a) is type(b) and a == b


def items(value: Any) -> Optional[List[Any]]:
    """The items of a list known at conversion time (a constant or one built from known values)."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, Const) and isinstance(value.value, list):
        return [Const(v) for v in value.value]
    return None


class Uninitialized:
    """The value of a branch not taken (TorchScript's prim::Uninitialized); never rendered."""

    def __repr__(self) -> str:
        return "<uninitialized TorchScript value>"


class Object:
    """An instance of a TorchScript class created in forward."""

    __slots__ = ("qualname", "attrs")

    def __init__(self, qualname: str) -> None:
        self.qualname, self.attrs = qualname, {}


MAX_UNROLL = 10_000
OBJECT_KINDS = ("prim::CreateObject", "prim::SetAttr", "prim::GetAttr", "prim::CallMethod")


class Const:
    """A value known at conversion time."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value
