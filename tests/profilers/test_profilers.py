import pytest
import torch
from torch import nn

from nascore import hookimpl
from nascore.profilers import ModelProfiler, ProfileContext
from nascore.profilers.runner import ProfilerError
from nascore.specs import ProfilerSpec


class _Frozen:
    """The two things a profiler needs from a frozen model."""

    def __init__(self, sample, module):
        self.sample, self.module, self.builds = sample, module, 0

    def executable_model(self):
        self.builds += 1
        return self.module


def _net():
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))


def test_builtin_profilers_are_registered_through_the_hook(nascore_plugin_manager):
    info = nascore_plugin_manager.plugins["nascore.profilers"]
    assert info.builtin and info.registers["profiler"] == ["params", "flops", "latency"]
    assert "nascore_profilers" in info.hooks


def test_params_flops_latency_of_a_small_net(nascore_plugin_manager):
    profiler = ModelProfiler.from_plugins(ProfileContext(input_shape=(1, 3, 4, 4), latency_runs=3),
                                          nascore_plugin_manager)
    module = _net().train()
    model = _Frozen({"w": 8}, module)
    values = profiler.profile(model, ["params", "flops", "macs", "latency_ms", "unknown"])
    assert values["params"] == 3 * 8 * 9 + 8 + 128 * 10 + 10
    # conv: 8 out * 16 positions * 27 MACs; linear: 128 * 10 MACs
    assert values["macs"] == 8 * 16 * 27 + 128 * 10 and values["flops"] == 2 * values["macs"]
    assert values["latency_ms"] > 0 and "unknown" not in values
    assert module.training  # put back as it was
    runs = profiler.runs
    assert profiler.profile(_Frozen({"w": 8}, None), ["params", "flops"]) == \
        {"params": values["params"], "flops": values["flops"]}
    assert profiler.runs == runs  # the cache answered: nothing built, nothing run


def test_view_measures_lazily_and_serves_labels(nascore_plugin_manager):
    profiler = ModelProfiler.from_plugins(ProfileContext(input_shape=(1, 3, 4, 4)), nascore_plugin_manager)
    model = _Frozen({"w": 8}, _net())
    view = profiler.view(model)
    assert view["w"] == 8 and model.builds == 0
    assert view["params"] > 0 and view.measured() == {"params": view["params"]}
    with pytest.raises(KeyError):
        view["nope"]


def test_missing_input_shape_is_reported_up_front(nascore_plugin_manager):
    profiler = ModelProfiler.from_plugins(ProfileContext(), nascore_plugin_manager)
    profiler.check_metrics(["params"])
    with pytest.raises(ValueError, match="profile_input_shape"):
        profiler.check_metrics(["latency_ms"])


class _ThirdParty:
    @hookimpl
    def nascore_profilers(self):
        return [ProfilerSpec(name="depth", factory=lambda m, ctx: {"layers": len(list(m.children()))},
                             metrics=("layers",)),
                ProfilerSpec(name="broken", factory=lambda m, ctx: {"other": 1}, metrics=("broken_metric",))]


def test_third_party_profiler_and_a_broken_one(nascore_plugin_manager, register_plugin):
    register_plugin(_ThirdParty(), name="thirdparty")
    profiler = ModelProfiler.from_plugins(manager=nascore_plugin_manager)
    assert profiler.profile(_Frozen({}, _net()), ["layers"]) == {"layers": 4.0}
    with pytest.raises(ProfilerError, match="'broken' \\(thirdparty\\) did not return \\['broken_metric'\\]"):
        profiler.profile(_Frozen({}, _net()), ["broken_metric"])


def test_two_profilers_of_one_metric_are_refused():
    a = ProfilerSpec(name="a", factory=lambda m, c: {}, metrics=("x",), provider="pa")
    b = ProfilerSpec(name="b", factory=lambda m, c: {}, metrics=("x",), provider="pb")
    with pytest.raises(ProfilerError, match="'a' \\(pa\\) and 'b' \\(pb\\) both measure 'x'"):
        ModelProfiler([a, b])
    with pytest.raises(TypeError, match="metrics must be a non-empty tuple"):
        ProfilerSpec(name="c", factory=lambda m, c: {}, metrics="x")


class _Spy(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2)
        self.devices = []

    def forward(self, x):
        self.devices.append(x.device.type)
        if x.device.type != "meta" and float(x.sum()) > 1e9:  # data-dependent: no meta kernel for this branch
            return x
        return self.lin(x)


class _DataDependent(_Spy):
    def forward(self, x):
        self.devices.append(x.device.type)
        return self.lin(x) if float(x.abs().sum()) >= 0 else x  # needs real values


def test_flops_are_counted_on_meta_tensors_and_fall_back_to_a_real_pass():
    from nascore.profilers.builtin import count_flops
    spy = _Spy()
    assert count_flops(spy, ProfileContext(input_shape=(3, 4))) == {"flops": 2 * 3 * 4 * 2, "macs": 3 * 4 * 2}
    assert spy.devices == ["meta"] and spy.lin.weight.device.type == "cpu"
    dependent = _DataDependent()
    assert count_flops(dependent, ProfileContext(input_shape=(3, 4)))["macs"] == 3 * 4 * 2
    assert dependent.devices == ["meta", "cpu"]
