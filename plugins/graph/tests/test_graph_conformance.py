"""Round trip: convert → generate code → load the original state_dict → same outputs (both frontends)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch.utils._pytree import tree_flatten

from nascore_graph import convert

sys.path.insert(0, str(Path(__file__).parent))  # the case modules live next to this file

from graph_cases import FN_CASES, LAYERS  # noqa: E402
from graph_models import MODEL_CASES  # noqa: E402

CASES = FN_CASES + LAYERS + MODEL_CASES

def _outputs(value):
    flat, spec = tree_flatten(value)
    return flat, spec


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
@pytest.mark.parametrize("case_id,factory,inputs", CASES, ids=[c[0] for c in CASES])
def test_round_trip(frontend, case_id, factory, inputs):
    torch.manual_seed(0)
    original = factory().eval()
    args = inputs()
    space = convert(original, frontend=frontend)  # both frontends: loops with a known trip count unroll
    generated = space.executable_model().eval()
    fresh = type(generated)()
    fresh.load_state_dict(original.state_dict())  # no key mapping: same names and shapes
    fresh.eval()
    with torch.no_grad():
        expected, spec_a = _outputs(original(*args))
        got, spec_b = _outputs(fresh(*args))
    assert spec_a == spec_b
    for a, b in zip(expected, got):
        if isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert torch.allclose(a.double(), b.double(), atol=1e-5, rtol=1e-5), case_id
        else:
            assert a == b
