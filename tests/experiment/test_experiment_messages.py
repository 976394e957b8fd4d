"""The common slips of a new user get a message that says what to write (issue: messages that mislead)."""
import io
import subprocess
import sys

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import nascore
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ConfigError, NasExperiment, NasExperimentConfig
from nascore.experiment.config import UnknownSettingError
from nascore.plugins import UnknownComponentError, get_plugin_manager
from nascore.strategy import Random
from nascore.suggest import did_you_mean
from nascore.trace import NotSerializableError, to_json_reference


def test_did_you_mean_is_case_insensitive_and_quiet_when_nothing_is_close():
    assert did_you_mean("sequentail", ["sequential", "ts"]) == "sequential"
    assert did_you_mean("SEQUENTIAL", ["sequential", "ts"]) == "sequential"
    assert did_you_mean("faild", ["trained", "failed"]) == "failed"
    assert did_you_mean("kubernetes", ["sequential", "ts"]) is None


def test_unknown_engine_suggests_the_close_name_instead_of_an_install():
    with pytest.raises(ValueError) as info:
        NasExperimentConfig("sequentail")
    text = str(info.value)
    assert "unknown execution engine 'sequentail'" in text and "did you mean 'sequential'?" in text
    assert "installed" not in text
    with pytest.raises(ValueError, match="did you mean 'sequential'"):
        NasExperimentConfig("Sequential")


def test_install_hint_only_when_nothing_is_close():
    with pytest.raises(UnknownComponentError, match=r"is nascore-kubernetes installed\?"):
        get_plugin_manager().get_execution_engine("kubernetes")


def test_middleware_names_are_listed_where_an_engine_is_expected():
    with pytest.raises(UnknownComponentError) as info:
        get_plugin_manager().get_execution_engine("cgx")
    assert "cgo" in str(info.value).split("available:")[1]


def test_setting_of_a_default_component_on_a_bare_config_fills_that_component():
    config = NasExperimentConfig()
    config.reuse_worker = False
    assert config.training_service.name == "local" and config.training_service.reuse_worker is False
    assert config.execution_engine.name == "ts"


def test_setting_of_a_default_component_that_does_not_fit_says_whose_it_is():
    config = NasExperimentConfig("sequential")
    with pytest.raises(UnknownSettingError, match="'reuse_worker' is a setting of training service 'local'"):
        config.reuse_worker = False
    assert config.training_service is None and config.execution_engine.name == "sequential"


def test_misspelled_setting_gets_a_suggestion():
    with pytest.raises(UnknownSettingError, match="did you mean 'max_trial_number'"):
        NasExperimentConfig().max_trial_numbr = 3


@pytest.fixture
def space(tiny):
    return tiny.Tiny()


def test_classes_and_missing_parts_are_caught_up_front(tiny, space):
    evaluator = FunctionalEvaluator(tiny.score)
    with pytest.raises(TypeError, match=r"model_space must be an instance.*write Tiny\(\)"):
        NasExperiment(tiny.Tiny, evaluator, Random())
    with pytest.raises(TypeError, match=r"strategy must be an instance.*write Random\(\)"):
        NasExperiment(space, evaluator, Random)
    with pytest.raises(TypeError, match="evaluator is None"):
        NasExperiment(space, None, Random())
    with pytest.raises(TypeError, match=r"wrap it: FunctionalEvaluator\(fn\)"):
        NasExperiment(space, tiny.score, Random())


def test_unwritable_working_directory_names_the_setting(tiny, space, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    config = NasExperimentConfig("sequential", "simplified", max_trial_number=1,
                                 experiment_working_directory=str(blocker))
    exp = NasExperiment(space, FunctionalEvaluator(tiny.score), Random(), config)
    with pytest.raises(ConfigError) as info:
        exp.run()
    assert "experiment_working_directory" in str(info.value) and "NASCORE_EXPERIMENT_DIR" in str(info.value)
    assert str(blocker) in str(info.value)


def test_tensor_data_points_at_tracing_the_function_that_builds_it():
    loader = nascore.trace(DataLoader)(TensorDataset(torch.randn(4, 2)), batch_size=2)
    with pytest.raises(NotSerializableError) as info:
        to_json_reference(loader, "evaluator.train_dataloaders")
    text = str(info.value)
    assert text.startswith("evaluator.train_dataloaders.args[0]:")
    assert "nascore.trace(make_train_set)()" in text and "trace(torch" not in text
    traced_set = nascore.trace(TensorDataset)(torch.randn(4, 2))
    with pytest.raises(NotSerializableError, match=r"^x\.args\[0\]: a Tensor holds data"):
        to_json_reference(traced_set, "x")


def _nascore(*args):
    return subprocess.run([sys.executable, "-m", "nascore", *args], capture_output=True, text=True, timeout=120)


def test_view_rejects_an_unknown_status(tmp_path):
    done = _nascore("view", str(tmp_path), "--status", "faild")
    assert done.returncode == 2
    assert "unknown status 'faild'; did you mean 'failed'?" in done.stderr


class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")


def test_view_json_into_a_closed_pipe_ends_quietly(tiny, space, make_config, monkeypatch, capsys):
    from nascore.cli import main
    exp = NasExperiment(space, FunctionalEvaluator(tiny.score), Random(seed=0), make_config(max_trial_number=3))
    exp.run()
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["view", str(exp.directory), "--json"]) == 141  # no BrokenPipeError traceback
