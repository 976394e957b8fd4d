"""``convert``: any ``nn.Module`` → a graph model space (``.to_code()``, ``.executable_model()``)."""
from __future__ import annotations

from typing import Any, Optional

__all__ = ["convert"]


def convert(module: Any, frontend: str = "fx", example_inputs: Optional[tuple] = None) -> Any:
    """Convert ``module`` with ``frontend`` (``"fx"`` or ``"torchscript"``).

    ``example_inputs`` (the positional arguments of one call) tell the converter how the model is called:
    arguments left out take their defaults, and the fx frontend runs them alongside tracing, so code that
    iterates over a tensor's chunks or branches on a shape converts (specialised to these shapes). The
    generated model is then checked right away: built from the code, given the original's ``state_dict``
    and run in eval mode, it must give the original's outputs (an AssertionError names the first mismatch).
    """
    from .space import GraphModelSpace
    inputs = None if example_inputs is None else tuple(example_inputs)
    space = GraphModelSpace.from_model(module, config=frontend, example_inputs=inputs)
    if inputs is not None and not space.simplify():
        _check(module, space.executable_model(), inputs)
    return space


def _check(original: Any, generated: Any, inputs: tuple) -> None:
    """Compare in eval mode with the original's weights (dropout off, batch norm on its running stats); the
    original's own mode is restored afterwards."""
    import torch
    from torch.utils._pytree import tree_flatten
    generated.load_state_dict(original.state_dict())
    modes = {m: m.training for m in list(original.modules()) + list(generated.modules())}
    try:
        original.eval()
        generated.eval()
        with torch.no_grad():
            expected, expected_spec = tree_flatten(original(*inputs))
            got, got_spec = tree_flatten(generated(*inputs))
    finally:
        for m, mode in modes.items():
            m.training = mode
    if expected_spec != got_spec:
        raise AssertionError(f"the generated model returns {got_spec}, the original {expected_spec}")
    for i, (a, b) in enumerate(zip(expected, got)):
        if isinstance(a, torch.Tensor) and not (a.shape == b.shape and torch.allclose(a, b, atol=1e-5, rtol=1e-5)):
            raise AssertionError(f"output {i} of the generated model differs from the original's")
        if not isinstance(a, torch.Tensor) and a != b:
            raise AssertionError(f"output {i} of the generated model is {b!r}, the original's {a!r}")
