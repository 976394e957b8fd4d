"""Entry point of nascore-raw. Light on purpose: the format module (torch) is imported only when used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import ModelFormatSpec
from nascore_raw.config import RawFormatConfig


@hookimpl
def nascore_model_formats() -> List[ModelFormatSpec]:
    return [ModelFormatSpec(
        name="raw",
        factory="nascore_raw.space:RawModelSpace",
        config_model=RawFormatConfig,
        serializable=False,
        description="keeps the model space object and its weights; models live in this process only",
    )]
