"""Config, logical plan, optimizers (built-in and third-party), merged-model code: no training here."""
import pytest

from nascore import hookimpl
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore.specs import OptimizerSpec
from nascore_cgo.config import CgoConfig, resolve_devices
from nascore_cgo.evaluators import CgoEvaluatorError, merge_info
from nascore_cgo.merged import merged_source
from nascore_cgo.middleware import CgoMiddleware
from nascore_cgo.plan import LogicalPlan, load_optimizers
from nascore_graph.space import GraphModelSpace

import cgo_helpers as h


def frozen(evaluator, choice=0, space=None):
    return GraphModelSpace.from_model(space or h.DigitsNet(), evaluator).freeze({"fc1": choice})


def test_config_fields_settable_through_experiment_config():
    config = NasExperimentConfig("cgo", "graph", "local")
    config.max_concurrency_cgo = 3
    config.batch_waiting_time = 10
    assert config.execution_engine.max_concurrency_cgo == 3
    assert config.execution_engine.batch_waiting_time == 10.0
    assert config.execution_engine.optimizers == ["dedup_input"]
    with pytest.raises(ValueError, match="max_concurrency_cgo"):
        config.max_concurrency_cgo = 0
    with pytest.raises(ValueError, match="not device names"):
        config.execution_engine.devices = ["gpu0"]


def test_non_graph_format_is_rejected_up_front():
    with pytest.raises(ValueError, match="needs model format .graph."):
        NasExperimentConfig("cgo", "simplified", "local")


def test_unknown_optimizer_is_reported_with_what_exists():
    config = NasExperimentConfig("cgo", "graph", "local")
    config.execution_engine.optimizers = ["dedup_input", "fuse_everything"]
    with pytest.raises(ConfigError, match=r"\['fuse_everything'\] are not registered \(available: .*dedup_input"):
        config.check()


def test_devices_come_from_the_training_service():
    from nascore_remote import RemoteMachineConfig
    config = NasExperimentConfig("cgo", "graph", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="a", gpu_indices=[0, 1, 2, 3])]
    assert resolve_devices(config) == ["cuda:0", "cuda:1", "cuda:2", "cuda:3"]
    config.training_service.machine_list = [RemoteMachineConfig(host="a", gpu_indices=[0, 1, 2, 3]),
                                            RemoteMachineConfig(host="b", gpu_indices=[5, 6])]
    assert resolve_devices(config) == ["cuda:0", "cuda:1"]  # what every machine gives a trial
    config.training_service.machine_list = [RemoteMachineConfig(host="a")]
    assert resolve_devices(config) == ["cpu"]

    local = NasExperimentConfig("cgo", "graph", "local")
    local.training_service.gpu_indices = [1, 2]
    assert resolve_devices(local) == ["cuda:1", "cuda:2"]
    local.training_service.trial_gpu_number = 0
    assert resolve_devices(local) == ["cpu"]
    local.execution_engine.devices = ["cpu", "cpu"]
    assert resolve_devices(local) == ["cpu", "cpu"]


def test_remote_trials_get_every_gpu_of_their_machine():
    from nascore_remote import RemoteMachineConfig
    config = NasExperimentConfig("cgo", "graph", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="a", gpu_indices=[0, 1])]
    middleware = CgoMiddleware(config)
    assert config.training_service.trial_gpu_number == -1
    assert middleware.devices == ["cuda:0", "cuda:1"]


def test_dedup_input_compares_data_by_value_not_identity():
    # three evaluators built separately: two read the same data, one another shuffle of it
    models = [frozen(h.classification(seed=0), 0), frozen(h.classification(seed=0, learning_rate=0.01), 1),
              frozen(h.classification(seed=1), 2)]
    assert models[0].evaluator is not models[1].evaluator
    plan = LogicalPlan.from_models(models)
    assert len(plan.inputs) == 3  # nothing shared before an optimizer says so
    load_optimizers(["dedup_input"])[0][1].convert(plan)
    assert len(plan.inputs) == 2
    assert [m.input for m in plan.models] == [0, 0, 1]
    # per-model settings survive the merge
    assert [m.info.per_model["learning_rate"] for m in plan.models] == [1e-3, 0.01, 1e-3]


def test_merged_model_has_one_input_per_pipeline_and_one_output_per_model():
    models = [frozen(h.classification(seed=s), c) for s, c in ((0, 0), (0, 1), (1, 2))]
    middleware = CgoMiddleware(CgoConfig(devices=["cpu"]))
    merged = middleware.build_merged(models)
    assert merged.n_inputs == 2 and merged.model_inputs == [0, 0, 1]
    import torch
    module = merged.executable_model()
    outputs = module(torch.randn(5, 64), torch.randn(5, 64))
    assert len(outputs) == 3 and all(o.shape == (5, 10) for o in outputs)
    assert all(p.device.type == "cpu" for p in module.parameters())


def test_transfers_are_inserted_where_a_tensor_crosses_devices():
    source = merged_source(["cpu", "cuda:1", "cuda:1", "cuda:0"], [0, 0, 1, 0], 2)
    assert "input_device = torch.device('cpu')" in source
    assert "self.model_1 = models[1].to(torch.device('cuda:1'))" in source
    # one transfer per (input, device), reused by every model on that device
    assert source.count("input_0.to(torch.device('cuda:1')") == 1
    assert "input_1_cuda_1 = input_1.to(torch.device('cuda:1')" in source
    assert "input_0_cuda_0 = input_0.to(torch.device('cuda:0')" in source
    assert "out_0 = self.model_0(input_0)" in source  # same device as the input: no copy
    assert "out_2 = self.model_2(input_1_cuda_1)" in source
    assert "return (out_0, out_1, out_2, out_3,)" in source


class _PinToGpu7:
    """A third-party optimizer: pins every model to cuda:7 (visible in the merged model)."""

    calls = []

    def convert(self, plan):
        self.calls.append(len(plan.models))
        for m in plan.models:
            m.device = "cuda:7"


class _ThirdParty:
    @hookimpl
    def nascore_optimizers(self):
        return [OptimizerSpec(name="pin_gpu7", factory=_PinToGpu7)]


def test_third_party_optimizer_is_found_through_the_hook(register_plugin):
    import nascore_cgo.hooks
    register_plugin(nascore_cgo.hooks, "cgo")
    register_plugin(_ThirdParty(), "pin-plugin")
    middleware = CgoMiddleware(CgoConfig(optimizers=["dedup_input", "pin_gpu7"], devices=["cpu"]))
    merged = middleware.build_merged([frozen(h.classification(), 0), frozen(h.classification(), 1)])
    assert _PinToGpu7.calls == [2]
    assert merged.devices == ["cuda:7", "cuda:7"]
    assert merged.n_inputs == 1  # dedup_input ran first
    assert "models[0].to(torch.device('cuda:7'))" in merged.to_code()


def _score(model):
    return 1.0


def test_evaluator_that_cannot_train_several_models_is_rejected_with_what_fits():
    middleware = CgoMiddleware(CgoConfig(devices=["cpu"]))
    model = frozen(FunctionalEvaluator(_score), 0)
    with pytest.raises(CgoEvaluatorError, match="Classification or Regression.*got FunctionalEvaluator.*'ts'"):
        middleware.submit_models(model)
    import importlib.util
    if importlib.util.find_spec("onnx") is not None:  # without onnx, Classification refuses export_onnx itself
        with pytest.raises(CgoEvaluatorError, match="export_onnx"):
            merge_info(h.classification(export_onnx=True))


def test_merged_payload_is_json_and_round_trips():
    import json
    from nascore_cgo.merged import MergedModelSpace
    from nascore.training_service import build_payload, load_model
    middleware = CgoMiddleware(CgoConfig(devices=["cpu"]))
    merged = middleware.build_merged([frozen(h.classification(), 0), frozen(h.classification(), 2)])
    payload = json.loads(json.dumps(build_payload(merged)))
    again = load_model(payload)
    assert isinstance(again, MergedModelSpace)
    assert again.model_inputs == [0] * 2 and again.devices == ["cpu", "cpu"]
    assert again.evaluator == merged.evaluator
    assert [m.sample for m in again.models] == [{"fc1": 0}, {"fc1": 2}]
