"""The parameter count of every model, recorded with its profile so ``nascore view`` and the store show it.

The model is built a second time on PyTorch's ``meta`` device — shapes only, no memory for weights, no
arithmetic — from a shallow copy of the frozen model, so the model the trial trains stays unbuilt here.
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Optional

__all__ = ["parameter_count"]

_logger = logging.getLogger(__name__)


def parameter_count(model: Any) -> Optional[float]:
    """Elements of every parameter of ``model``'s module (shared tensors once); None when it cannot be built on
    the meta device (e.g. its constructor computes with tensor values)."""
    try:
        import torch

        from nascore.profilers.builtin import count_parameters
        twin = copy.copy(model)
        twin.__dict__ = {k: (None if k in ("_model", "_module") else v) for k, v in model.__dict__.items()}
        with torch.device("meta"):
            module = twin.executable_model()
        return count_parameters(module, None)["params"]
    except Exception:  # noqa: BLE001 - a size is a convenience; the trial decides whether the model works
        _logger.debug("could not count the parameters of %r", model, exc_info=True)
        return None
