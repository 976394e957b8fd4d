"""PyTorch DSL for model spaces: ModelSpace, ParameterizedModule, LayerChoice, InputChoice, Repeat, Cell."""

from .anchor import MutationAnchor
from .base import MutableModule, freeze_module_tree
from .cell import Cell
from .choice import ChosenInputs, InputChoice, LayerChoice
from .layers import (AvgPool2d, BatchNorm1d, BatchNorm2d, Conv1d, Conv2d, Conv3d, ConvTranspose2d,
                     Dropout, Embedding, LayerNorm, Linear, MaxPool2d, MultiheadAttention)
from .parameterized import ParameterizedModule
from .repeat import Repeat
from .space import LabelState, ModelSpace, build_frozen

__all__ = [
    "freeze_module_tree", "build_frozen", "LabelState",
    "MutableModule", "ModelSpace", "ParameterizedModule", "LayerChoice", "InputChoice", "ChosenInputs",
    "Repeat", "Cell", "MutationAnchor",
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "Dropout", "Embedding", "MultiheadAttention", "AvgPool2d", "MaxPool2d",
]
