"""Common torch layers wrapped as ParameterizedModule, e.g. ``Conv2d(3, Categorical([16, 32]), 3)``."""

import torch.nn as nn

from .parameterized import ParameterizedModule

_w = ParameterizedModule.wrap

Conv1d = _w(nn.Conv1d, module=__name__)
Conv2d = _w(nn.Conv2d, module=__name__)
Conv3d = _w(nn.Conv3d, module=__name__)
ConvTranspose2d = _w(nn.ConvTranspose2d, module=__name__)
Linear = _w(nn.Linear, module=__name__)
BatchNorm1d = _w(nn.BatchNorm1d, module=__name__)
BatchNorm2d = _w(nn.BatchNorm2d, module=__name__)
LayerNorm = _w(nn.LayerNorm, module=__name__)
Dropout = _w(nn.Dropout, module=__name__)
Embedding = _w(nn.Embedding, module=__name__)
MultiheadAttention = _w(nn.MultiheadAttention, module=__name__)
AvgPool2d = _w(nn.AvgPool2d, module=__name__)
MaxPool2d = _w(nn.MaxPool2d, module=__name__)

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "Linear", "BatchNorm1d", "BatchNorm2d",
           "LayerNorm", "Dropout", "Embedding", "MultiheadAttention", "AvgPool2d", "MaxPool2d"]
