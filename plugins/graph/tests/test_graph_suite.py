"""The conformance suite (tests/suite_*.py) on both frontends: convert, generate code, build it fresh, load
the original state_dict, compare outputs. Known limits are strict xfails, so the list stays true."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from graph_suite import LIMITS, SUITE, TS_FALLBACK, check_case, compare, run_case  # noqa: E402

from nascore_graph import GraphConversionError, convert  # noqa: E402
from nascore_graph.errors import FrontendFallbackWarning  # noqa: E402

# fx resolves these from the shapes of example inputs (loops over chunks, branches on x.dim())
NEEDS_EXAMPLES = {"shape_view_star", "shape_split_comprehension", "shape_branch_dim", "arch_lstm_cell_unroll",
                  "shape_list_of_size", "idiom_isinstance_tensor", "shape_python_max"}


RUNS = [(frontend, case) for frontend in ("fx", "torchscript") for case in SUITE if case[0] not in LIMITS[frontend]]


@pytest.mark.parametrize("frontend,case", RUNS, ids=[f"{f}-{c[0]}" for f, c in RUNS])
def test_suite_case_round_trips(frontend, case):
    """Every case round-trips; under torchscript exactly the cases TorchScript refuses warn that a module was
    captured with fx (so TS_FALLBACK stays true)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert check_case(case, frontend, examples=case[0] in NEEDS_EXAMPLES) is None
    fell_back = any(issubclass(w.category, FrontendFallbackWarning) for w in caught)
    assert fell_back == (frontend == "torchscript" and case[0] in TS_FALLBACK)


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
def test_known_limits_still_fail_with_a_clear_error(frontend):
    by_name = dict((c[0], c) for c in SUITE)
    for name in LIMITS[frontend]:
        with pytest.raises(GraphConversionError, match="Fix: "):
            run_case(by_name[name], frontend, examples=True)


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
def test_shared_children_and_tied_weights_stay_one_object(frontend):
    """Training the generated model trains one weight: tied and shared objects are the same objects there."""
    warnings.simplefilter("ignore")
    by_name = dict((c[0], c) for c in SUITE)
    _, lm, _ = run_case(by_name["tied_lm"], frontend, examples=False)
    assert lm.decoder.weight is lm.emb.weight
    _, parents, _ = run_case(by_name["shared_between_parents"], frontend, examples=False)
    assert parents.a.shared is parents.b.shared
    _, auto, args = run_case(by_name["tied_autoencoder"], frontend, examples=False)
    auto(*args).sum().backward()  # the decoder's use of enc.weight reaches enc.weight's gradient
    assert auto.enc.weight.grad is not None and len(list(auto.parameters())) == 3


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
def test_asserts_stay_checks_in_generated_code(frontend):
    """An assert on a shape is neither a branch fixed at conversion nor dropped: generated code checks it."""
    warnings.simplefilter("ignore")
    by_name = dict((c[0], c) for c in SUITE)
    _, generated, _ = run_case(by_name["idiom_shape_asserts"], frontend, examples=False)
    with pytest.raises(AssertionError, match="wrong channel count"):
        generated(torch.randn(2, 3, 5))
    with pytest.raises(AssertionError, match="need two tokens"):
        generated(torch.randn(2, 1, 4))


def test_code_specialised_to_example_shapes_checks_them():
    """fx resolves a trip count or a rank condition from example_inputs; generated code then asserts those
    shapes, so other shapes raise instead of running the loop for the example's length."""
    warnings.simplefilter("ignore")
    by_name = dict((c[0], c) for c in SUITE)
    original, generated, args = run_case(by_name["arch_lstm_cell_unroll"], "fx", examples=True)
    longer = torch.randn(2, 6, 3)  # the example had 4 steps
    with pytest.raises(AssertionError, match="shapes of the example inputs"):
        generated(longer)
    original, generated, args = run_case(by_name["shape_branch_dim"], "fx", examples=True)
    flat = torch.randn(2, 12)  # the original takes the other branch for a 2-d input
    assert original(flat).shape == (2, 3)
    with pytest.raises(AssertionError, match="shapes of the example inputs"):
        generated(flat)


@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
def test_no_grad_blocks_stay_out_of_autograd(frontend):
    """Training the generated model must not train what the original ran under torch.no_grad()."""
    warnings.simplefilter("ignore")
    by_name = dict((c[0], c) for c in SUITE)
    _, generated, args = run_case(by_name["idiom_no_grad_teacher"], frontend, examples=False)
    generated(*args).sum().backward()
    assert generated.teacher.weight.grad is None and generated.student.weight.grad is not None
    assert torch.is_grad_enabled()  # the mode is restored after the block


def test_isinstance_of_a_traced_value_asks_for_examples():
    """fx cannot tell whether a traced value is a Tensor; answering False would take the wrong branch."""
    by_name = dict((c[0], c) for c in SUITE)
    with pytest.raises(GraphConversionError, match="isinstance.*example_inputs"):
        run_case(by_name["idiom_isinstance_tensor"], "fx", examples=False)


def test_shapes_in_loops_without_examples_ask_for_them():
    by_name = dict((c[0], c) for c in SUITE)
    with pytest.raises(GraphConversionError, match="example_inputs"):
        run_case(by_name["arch_lstm_cell_unroll"], "fx", examples=False)


_FRESH = """
import importlib, sys, torch
sys.path.insert(0, sys.argv[1])
for name in sys.argv[2:]:
    data = torch.load(f"{sys.argv[1]}/{name}.pt")
    model = importlib.import_module(name).build()
    model.load_state_dict(data["state_dict"])
    with torch.no_grad():
        out = model.eval()(*data["inputs"])
    torch.save(out, f"{sys.argv[1]}/{name}.out.pt")
    print("ran", name)
"""


@pytest.mark.slow
@pytest.mark.parametrize("frontend", ["fx", "torchscript"])
def test_exported_architectures_run_in_a_fresh_interpreter(frontend, tmp_path):
    """The generated source of every whole architecture, written to a file, imported by a new Python process
    and given the original weights, reproduces the original's outputs."""
    warnings.simplefilter("ignore")
    cases = [c for c in SUITE if c[0].startswith("arch_") and c[0] not in LIMITS[frontend]]
    expected = {}
    for case in cases:
        name = case[0]
        original, generated, args = run_case(case, frontend, examples=name in NEEDS_EXAMPLES)
        (tmp_path / f"{name}.py").write_text(convert(original, frontend, args).to_code())
        torch.save({"state_dict": original.state_dict(), "inputs": args}, tmp_path / f"{name}.pt")
        with torch.no_grad():
            expected[name] = original(*args)
    proc = subprocess.run([sys.executable, "-c", _FRESH, str(tmp_path)] + list(expected), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name, out in expected.items():
        assert compare(out, torch.load(tmp_path / f"{name}.out.pt")) is None, name
