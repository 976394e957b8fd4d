"""Entry point of nascore-simplified. Light on purpose: the format module (torch) is imported only when used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import ModelFormatSpec
from nascore_simplified.config import SimplifiedFormatConfig


@hookimpl
def nascore_model_formats() -> List[ModelFormatSpec]:
    return [ModelFormatSpec(
        name="simplified",
        factory="nascore_simplified.space:SimplifiedModelSpace",
        config_model=SimplifiedFormatConfig,
        serializable=True,
        description="a model is its class import path, init arguments and sample; rebuilt in the trial",
    )]
