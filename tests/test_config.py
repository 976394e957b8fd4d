"""NasExperimentConfig: registry-resolved component settings, forwarding, files and combination checks."""
from typing import List, Optional

import pytest
from pydantic import ValidationError

from nascore import hookimpl
from nascore.experiment.config import ComponentConfig, ConfigError, NasExperimentConfig, parse_duration
from nascore.specs import EngineSpec, MiddlewareSpec, ModelFormatSpec, TrainingServiceSpec


class CgoConfig(ComponentConfig):
    name: str = "cgo"
    max_concurrency_cgo: int = 4
    batch_waiting_time: float = 60.0


class TsConfig(ComponentConfig):
    name: str = "ts"


class RemoteMachine(ComponentConfig):
    name: str = "machine"
    host: Optional[str] = None
    password: Optional[str] = None


class RemoteConfig(ComponentConfig):
    name: str = "remote"
    machine_list: List[RemoteMachine] = []


class GraphConfig(ComponentConfig):
    name: str = "graph"
    frontend: str = "fx"


class ToyComponents:
    @hookimpl
    def nascore_execution_engines(self):
        return [EngineSpec(name="sequential", factory=dict),
                EngineSpec(name="ts", factory=dict, config_model=TsConfig, uses_training_service=True)]

    @hookimpl
    def nascore_middlewares(self):
        return [MiddlewareSpec(name="cgo", factory=dict, config_model=CgoConfig, requires_format="graph")]

    @hookimpl
    def nascore_model_formats(self):
        return [ModelFormatSpec(name="raw", factory=dict, serializable=False),
                ModelFormatSpec(name="simplified", factory=dict),
                ModelFormatSpec(name="graph", factory=dict, config_model=GraphConfig)]

    @hookimpl
    def nascore_training_services(self):
        return [TrainingServiceSpec(name="local", factory=dict),
                TrainingServiceSpec(name="remote", factory=dict, config_model=RemoteConfig)]


@pytest.fixture(autouse=True)
def toy_registry(register_plugin):
    register_plugin(ToyComponents(), "toys")


def test_short_form_resolves_each_name_to_its_config_model():
    config = NasExperimentConfig("cgo", "graph", "remote")
    assert isinstance(config.execution_engine, CgoConfig)
    assert isinstance(config.model_format, GraphConfig)
    assert isinstance(config.training_service, RemoteConfig)


def test_plugin_settings_by_attribute_are_validated():
    config = NasExperimentConfig("cgo", "graph", "remote")
    config.max_concurrency_cgo = 3
    config.batch_waiting_time = 10
    assert config.execution_engine.max_concurrency_cgo == 3 and config.batch_waiting_time == 10
    with pytest.raises(ValidationError):
        config.max_concurrency_cgo = "many"
    machine = RemoteMachine()
    machine.host = "10.0.0.5"
    config.training_service.machine_list = [machine]
    assert config.training_service.machine_list[0].host == "10.0.0.5"


def test_core_setting_assignment_is_validated():
    config = NasExperimentConfig("sequential", "simplified")
    with pytest.raises(ValidationError, match="max_trial_number"):
        config.max_trial_number = "x"
    config.max_experiment_duration = "2h"
    assert config.max_experiment_duration == 7200


def test_unknown_setting_says_what_fits():
    config = NasExperimentConfig("cgo", "graph", "local")
    with pytest.raises(AttributeError) as error:
        config.max_concurency_cgo = 3
    message = str(error.value)
    assert "unknown setting 'max_concurency_cgo'" in message and "max_concurrency_cgo" in message
    with pytest.raises(ConfigError, match="unknown setting 'no_such_field'"):
        NasExperimentConfig("sequential", "simplified", no_such_field=1)


def test_unknown_component_name_lists_available():
    with pytest.raises(ValidationError, match=r"unknown execution engine 'rocket'; available: cgo, sequential, ts"):
        NasExperimentConfig("rocket")


@pytest.mark.parametrize("args,fragment", [
    (("ts", "raw"), "model format 'raw' keeps models in this process"),
    (("sequential", "simplified", "local"), "takes no training service"),
    (("cgo", "simplified"), "needs model format 'graph'"),
])
def test_incompatible_combinations_are_rejected_with_what_fits(args, fragment):
    with pytest.raises(ValidationError, match=fragment):
        NasExperimentConfig(*args)


def test_ts_engine_defaults_to_local_and_legacy_graph_engine():
    assert NasExperimentConfig("ts", "simplified").training_service.name == "local"
    legacy = NasExperimentConfig("graph")
    assert (legacy.execution_engine.name, legacy.model_format.name) == ("ts", "graph")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_save_and_load_round_trip(tmp_path, suffix):
    config = NasExperimentConfig("cgo", "graph", "remote", max_trial_number=7, trial_concurrency=2)
    config.max_concurrency_cgo = 2
    config.training_service.machine_list = [RemoteMachine(host="h")]
    path = tmp_path / f"exp{suffix}"
    config.save(path)
    loaded = NasExperimentConfig.load(path)
    assert loaded == config
    assert loaded.training_service.machine_list[0].host == "h"


def test_file_with_bad_values_names_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("execution_engine: sequential\nmodel_format: simplified\ntrial_concurrency: 0\n")
    with pytest.raises(ValidationError, match="trial_concurrency"):
        NasExperimentConfig.load(path)
    path.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        NasExperimentConfig.load(path)


def test_parse_duration():
    assert parse_duration("90") == 90 and parse_duration("15m") == 900 and parse_duration(1.5) == 1.5
    with pytest.raises(ValueError, match="cannot read duration"):
        parse_duration("soon")
