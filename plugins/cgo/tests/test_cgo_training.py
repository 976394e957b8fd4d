"""Real training on digits: a merged trial gives each model the metrics it gets when trained alone."""
import pytest
import torch

from nascore.trial import TrialContext, trial_context
from nascore_cgo.config import CgoConfig
from nascore_cgo.middleware import CgoMiddleware
from nascore_graph.space import GraphModelSpace

import cgo_helpers as h


def evaluate(evaluator, module):
    """Run ``evaluator`` on ``module`` inside a trial context; returns (intermediates, final)."""
    got = {"intermediates": [], "final": None}
    context = TrialContext(got["intermediates"].append, lambda m: got.__setitem__("final", m))
    with trial_context(context):
        evaluator.evaluate(module)
    return got["intermediates"], got["final"]


def seeded(space, choice, seed):
    model = space.freeze({"fc1": choice})
    torch.manual_seed(seed)
    model.executable_model()  # built (and cached) under the seed: same initial weights both ways
    return model


@pytest.mark.parametrize("optimizers", [["dedup_input"], []], ids=["dedup", "no-dedup"])
def test_merged_training_matches_separate_training(optimizers):
    space = GraphModelSpace.from_model(h.DigitsNet(), h.classification(max_epochs=2))
    choices = [(0, 11), (2, 12)]
    separate = [evaluate(m.evaluator, m.executable_model()) for m in
                (seeded(space, c, s) for c, s in choices)]

    middleware = CgoMiddleware(CgoConfig(optimizers=optimizers, devices=["cpu"]))
    merged = middleware.build_merged([seeded(space, c, s) for c, s in choices])
    assert merged.n_inputs == (1 if optimizers else 2)
    intermediates, final = evaluate(merged.evaluator, merged.executable_model())

    assert len(intermediates) == 2
    for i, (sep_intermediates, sep_final) in enumerate(separate):
        assert [m["per_model"][i] for m in intermediates] == pytest.approx(sep_intermediates, abs=1e-6)
        assert final["per_model"][i] == pytest.approx(sep_final, abs=1e-6)
    assert final["default"] == pytest.approx(sum(final["per_model"]) / 2)
    assert separate[0][1] != separate[1][1]  # two different models, not one metric copied


def test_merged_regression_matches_separate_regression():
    space = GraphModelSpace.from_model(h.RegNet(), h.regression(max_epochs=1))
    separate = [evaluate(m.evaluator, m.executable_model())[1] for m in (seeded(space, c, c) for c in (0, 1))]
    middleware = CgoMiddleware(CgoConfig(devices=["cpu", "cpu"]))
    merged = middleware.build_merged([seeded(space, c, c) for c in (0, 1)])
    _, final = evaluate(merged.evaluator, merged.executable_model())
    assert final["per_model"] == pytest.approx(separate, rel=1e-5)


def test_models_are_placed_on_their_cpu_devices_and_trained_there():
    space = GraphModelSpace.from_model(h.DigitsNet(), h.classification(max_epochs=1, limit_train_batches=2,
                                                                        limit_val_batches=1))
    middleware = CgoMiddleware(CgoConfig(devices=["cpu", "cpu"]))
    merged = middleware.build_merged([space.freeze({"fc1": 0}), space.freeze({"fc1": 1})])
    assert merged.devices == ["cpu", "cpu"]
    module = merged.executable_model()
    before = [p.detach().clone() for p in module.parameters()]
    _, final = evaluate(merged.evaluator, module)
    assert all(p.device == torch.device("cpu") for p in module.parameters())
    assert len(final["per_model"]) == 2 and all(0.0 <= v <= 1.0 for v in final["per_model"])
    # every model's weights moved: each got its own optimizer steps
    for sub in module.submodels:
        assert any(not torch.equal(p, b) for p, b in zip(sub.parameters(), before))


@pytest.mark.skipif(not torch.cuda.is_available() or torch.cuda.device_count() < 1,
                    reason="needs a CUDA GPU (run on a GPU machine)")
def test_gpu_placement_with_transfers():
    devices = ["cuda:0", "cpu"] if torch.cuda.device_count() < 2 else ["cuda:0", "cuda:1", "cpu"]
    space = GraphModelSpace.from_model(h.DigitsNet(), h.classification(max_epochs=1, limit_train_batches=3,
                                                                        limit_val_batches=2))
    middleware = CgoMiddleware(CgoConfig(devices=devices))
    models = [space.freeze({"fc1": c}) for c in range(len(devices))]
    merged = middleware.build_merged(models)
    assert merged.devices == devices
    source = merged.to_code()
    for device in devices[1:]:
        assert f"input_0.to(torch.device({device!r})" in source
    module = merged.executable_model()
    for sub, device in zip(module.submodels, devices):
        assert {p.device for p in sub.parameters()} == {torch.device(device)}
    outputs = module(torch.randn(4, 64, device=devices[0]))
    assert [o.device for o in outputs] == [torch.device(d) for d in devices]
    _, final = evaluate(merged.evaluator, module)
    assert len(final["per_model"]) == len(devices)
    for sub, device in zip(module.submodels, devices):  # training kept every model where it was placed
        assert {p.device for p in sub.parameters()} == {torch.device(device)}
