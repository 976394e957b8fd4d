"""The conformance suite: every case is converted, turned back into code, loaded with the original
``state_dict`` and compared on the same inputs. Used by ``test_graph_suite.py`` and by
``python -m benchmarks graph_conformance`` (pass rates per frontend)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, List, Optional, Tuple

import torch
from torch.utils._pytree import tree_flatten

sys.path.insert(0, str(Path(__file__).parent))

from suite_archs import CASES as ARCH_CASES  # noqa: E402
from suite_flow import CASES as FLOW_CASES  # noqa: E402
from suite_idioms import CASES as IDIOM_CASES  # noqa: E402
from suite_more import CASES as MORE_CASES  # noqa: E402
from suite_common import CASES as COMMON_CASES  # noqa: E402
from suite_shapes import CASES as SHAPE_CASES  # noqa: E402

Case = Tuple[str, Callable[[], Any], Callable[[], tuple]]
SUITE: List[Case] = SHAPE_CASES + FLOW_CASES + ARCH_CASES + IDIOM_CASES + MORE_CASES + COMMON_CASES

# what each frontend cannot do, by design (also in README.md); every other case must pass
LIMITS = {
    "fx": {"flow_data_dependent": "data-dependent control flow",
           "default_kwonly_child": "one graph per module instance: call sites pass different flags it branches on"},
    "torchscript": {
        "flow_data_dependent": "data-dependent control flow",
        "default_kwonly_child": "TorchScript refuses keyword-only arguments; fx then meets the flags it branches on",
        "arch_lstm_cell_unroll": "prim::Loop over unbind",
        "shape_split_comprehension": "prim::Loop (a comprehension over split())",
        "shape_branch_dim": "condition on a tensor's rank (not known when scripting)",
    },
}

# cases TorchScript refuses (a module of them is captured with fx, with a FrontendFallbackWarning)
TS_FALLBACK = {"container_list_slicing", "container_linear_subclass", "container_helper_methods", "arch_fpn",
               "flatten_params", "static_scale", "tuple_input", "star_args_root", "star_args_child",
               "shape_view_star", "arch_unet_interp", "arch_fpn_zip", "arch_getattr_layers", "default_return_features",
               "initarg_prenorm_stack", "shape_scale_factor_up", "container_act_by_name", "flow_aux_head_eval",
               "container_sequential_slice"}


def compare(expected: Any, got: Any) -> Optional[str]:
    """None when ``got`` matches ``expected`` (same structure, dtypes, shapes, values), else why not."""
    a_flat, a_spec = tree_flatten(expected)
    b_flat, b_spec = tree_flatten(got)
    if a_spec != b_spec:
        return f"output structure differs: {a_spec} vs {b_spec}"
    for i, (a, b) in enumerate(zip(a_flat, b_flat)):
        if isinstance(a, torch.Tensor):
            if not isinstance(b, torch.Tensor) or a.dtype != b.dtype or a.shape != b.shape:
                return f"output {i}: {a.dtype}{tuple(a.shape)} vs {getattr(b, 'dtype', type(b))}{tuple(getattr(b, 'shape', ()))}"
            if not torch.allclose(a.double(), b.double(), atol=1e-5, rtol=1e-5, equal_nan=True):
                return f"output {i} differs by {(a.double() - b.double()).abs().max().item():.3g}"
        elif a != b:
            return f"output {i}: {a!r} vs {b!r}"
    return None


def run_case(case: Case, frontend: str, examples: bool) -> Tuple[Any, Any, Any]:
    """``(original, generated, inputs)``; the generated module is built fresh from the code and holds the
    original's weights. Raises whatever conversion raises."""
    from nascore_graph import convert
    from nascore_graph.codegen import exec_model
    _, factory, inputs = case
    torch.manual_seed(0)
    original = factory().eval()
    args = inputs()
    space = convert(original, frontend=frontend, example_inputs=args if examples else None)
    source, objects = space.code()
    generated = exec_model(source, objects)
    generated.load_state_dict(original.state_dict())
    return original, generated.eval(), args


def check_case(case: Case, frontend: str, examples: bool) -> Optional[str]:
    """None when the case round-trips, else a one-line reason."""
    try:
        original, generated, args = run_case(case, frontend, examples)
        with torch.no_grad():
            return compare(original(*args), generated(*args))
    except Exception as exc:  # noqa: BLE001 - the report wants every failure as a line
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
