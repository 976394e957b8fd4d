"""nascore.trace: recipes attached to objects and their JSON references."""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

import nascore
from nascore.evaluator.data import digits_dataset
from nascore.mutable import Categorical, MutableList
from nascore.trace import (NotSerializableError, Traced, from_json_reference, get_trace, is_traced, trace,
                           to_json_reference)

USER_MODULE = '''
import torch
from torch.utils.data import Dataset
import nascore

class Squares(Dataset):
    def __init__(self, n, scale=1.0):
        self.n, self.scale = n, scale
    def __len__(self):
        return self.n
    def __getitem__(self, i):
        return torch.tensor([float(i)]), torch.tensor([float(i * i) * self.scale])

@nascore.trace
class DecoratedSquares(Squares):
    pass

class Slotted:
    __slots__ = ("value", "__weakref__")
    def __init__(self, value):
        self.value = value

def count(n):
    return n * 2
'''


@pytest.fixture()
def user_module(importable_module):
    """A user's own importable module (written to disk, on sys.path), as a trial process would import it."""
    return importable_module(USER_MODULE)


def roundtrip(value):
    return from_json_reference(json.loads(json.dumps(to_json_reference(value))))


def test_traced_dataloader_round_trips_through_json():
    loader = nascore.trace(DataLoader)(nascore.trace(digits_dataset)("val"), batch_size=32)
    assert type(loader) is DataLoader and isinstance(loader.dataset, TensorDataset)
    data = to_json_reference(loader)
    assert data == {"__trace__": "torch.utils.data.dataloader:DataLoader",
                    "args": [{"__trace__": "nascore.evaluator.data:digits_dataset", "args": ["val"], "kwargs": {}}],
                    "kwargs": {"batch_size": 32}}
    again = from_json_reference(json.loads(json.dumps(data)))
    assert type(again) is DataLoader and again is not loader
    assert to_json_reference(again) == data  # the rebuilt loader is traced too
    first, first_again = next(iter(loader)), next(iter(again))
    assert first[0].shape == (32, 1, 8, 8)
    assert torch.equal(first[0], first_again[0]) and torch.equal(first[1], first_again[1])
    assert len(again) == len(loader)


def test_trace_keeps_types_and_isinstance(user_module):
    traced_cls = nascore.trace(user_module.Squares)
    data = traced_cls(5, scale=2.0)
    assert type(data) is user_module.Squares
    assert isinstance(data, traced_cls) and isinstance(data, Dataset)
    assert issubclass(user_module.Squares, traced_cls)
    assert get_trace(data).args == (5,) and get_trace(data).kwargs == {"scale": 2.0}
    assert trace(traced_cls) is traced_cls  # tracing twice is harmless

    # a decorated class stays usable as a class: isinstance, subclassing, class attributes
    decorated = user_module.DecoratedSquares(3)
    assert isinstance(decorated, user_module.DecoratedSquares) and is_traced(decorated)

    class Sub(user_module.DecoratedSquares):
        pass
    assert issubclass(Sub, user_module.Squares) and len(Sub(4)) == 4

    again = roundtrip(decorated)
    assert isinstance(again, user_module.Squares) and again[2][1].item() == 4.0
    assert to_json_reference(again) == to_json_reference(decorated)


def test_trace_objects_without_attribute_slots(user_module):
    slotted = nascore.trace(user_module.Slotted)(7)
    assert is_traced(slotted) and roundtrip(slotted).value == 7
    # results that cannot carry a recipe (ints) come back unchanged; they are plain JSON anyway
    assert nascore.trace(user_module.count)(4) == 8


def test_plain_values_tuples_and_special_dicts_round_trip():
    value = {"a": [1, 2.5, None, True, "x"], "t": (1, (2, 3)), "keys": {1: "one", (2, 3): "pair"},
             "marker": {"__trace__": "not a reference"}}
    data = to_json_reference(value)
    assert data["a"] == [1, 2.5, None, True, "x"]  # plain JSON stays as it is
    assert roundtrip(value) == value
    assert isinstance(roundtrip(value)["t"][1], tuple)


def test_importable_classes_and_functions_are_symbols():
    data = to_json_reference({"opt": torch.optim.Adam, "act": torch.nn.functional.relu, "loss": torch.nn.MSELoss})
    assert data["opt"] == {"__symbol__": "torch.optim.adam:Adam"}
    back = from_json_reference(data)
    assert back["opt"] is torch.optim.Adam and back["act"] is torch.nn.functional.relu
    assert back["loss"] is torch.nn.MSELoss


def test_mutables_round_trip():
    choice = Categorical([16, 32], label="width")
    back = roundtrip({"w": choice, "ws": MutableList([choice, 3])})
    assert back["w"].equals(choice) and back["w"].freeze({"width": 32}) == 32
    assert back["ws"].freeze({"width": 16}) == [16, 3]


def test_untraced_dataloader_error_names_the_argument():
    loader = DataLoader(digits_dataset("val"), batch_size=8)
    with pytest.raises(NotSerializableError) as info:
        to_json_reference(loader, "evaluator argument train_dataloaders")
    assert isinstance(info.value, TypeError)
    assert str(info.value) == (
        "evaluator argument train_dataloaders: a DataLoader built without nascore.trace cannot be sent to a "
        "trial process; build it as nascore.trace(torch.utils.data.DataLoader)(...) from importable functions, "
        "or use the sequential engine")


def test_untraced_argument_of_traced_object_is_named():
    loader = nascore.trace(DataLoader)(digits_dataset("val"), batch_size=8)
    with pytest.raises(TypeError, match=r"^loaders\[0\]\.args\[0\]: a TensorDataset built without nascore.trace"):
        to_json_reference([loader], "loaders")


def test_lambda_local_and_main_objects_are_refused():
    with pytest.raises(TypeError, match=r"^value\.collate_fn: a lambda cannot be sent"):
        to_json_reference(nascore.trace(DataLoader)(nascore.trace(digits_dataset)("val"),
                                                   collate_fn=lambda batch: batch))

    def local_collate(batch):
        return batch
    with pytest.raises(TypeError, match=r"'test_lambda_local_and_main_objects_are_refused.<locals>.local_collate' is "
                                        r"defined inside a function"):
        to_json_reference({"f": local_collate})

    main_class = type("Script", (), {"__module__": "__main__"})
    with pytest.raises(TypeError, match=r"^value: 'Script' is defined in __main__"):
        to_json_reference(nascore.trace(main_class)())

    with pytest.raises(TypeError, match=r"^value\['x'\]: object object <object object at .*> is not JSON"):
        to_json_reference({"x": object()})


def test_trace_rejects_non_callables_and_module_is_callable():
    with pytest.raises(TypeError, match="takes a class or a function"):
        trace(3)
    import nascore.trace as trace_module
    assert isinstance(trace_module(len), Traced)  # `nascore.trace(...)` works whichever way it is reached
    assert isinstance(nascore.trace(len), Traced)
