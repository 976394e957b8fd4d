"""``convert``: any ``nn.Module`` → a graph model space (``.to_code()``, ``.executable_model()``)."""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["convert"]


def convert(module: Any, frontend: str = "fx", example_inputs: Optional[tuple] = None) -> Any:
    """Convert ``module`` with ``frontend`` (``"fx"`` or ``"torchscript"``).

    With ``example_inputs`` the generated model is checked right away: it must give the same outputs as
    ``module`` on them (an AssertionError names the first mismatch).
    """
    from .space import GraphModelSpace
    space = GraphModelSpace.from_model(module, config=frontend)
    if example_inputs is not None and not space.simplify():
        _check(module, space.executable_model(), tuple(example_inputs))
    return space


def _check(original: Any, generated: Any, inputs: tuple) -> None:
    import torch
    from torch.utils._pytree import tree_flatten
    with torch.no_grad():
        expected, _ = tree_flatten(original(*inputs))
        got, _ = tree_flatten(generated(*inputs))
    if len(expected) != len(got):
        raise AssertionError(f"generated model returns {len(got)} values, the original {len(expected)}")
    for i, (a, b) in enumerate(zip(expected, got)):
        if isinstance(a, torch.Tensor) and not torch.allclose(a, b, atol=1e-5, rtol=1e-5):
            raise AssertionError(f"output {i} of the generated model differs from the original")
