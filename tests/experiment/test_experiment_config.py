import pytest

import nascore_sequential.hooks
import nascore_simplified.hooks
from nascore.evaluator import FunctionalEvaluator
from nascore.experiment import ConfigError, NasExperiment, NasExperimentConfig
from nascore.experiment.store import ExperimentStore, StoreError, scrub_secrets
from nascore.strategy import Random


class OneShot:
    kind = "one-shot"


def test_one_shot_defaults_to_raw_and_sequential(tiny):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), OneShot())
    assert (exp.config.execution_engine.name, exp.config.model_format.name) == ("sequential", "raw")
    assert exp.config.training_service is None


def test_one_shot_rejects_other_engines(tiny):
    with pytest.raises(ConfigError, match="one-shot.*'sequential' and model format 'raw'"):
        NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), OneShot(),
                      NasExperimentConfig("sequential", "simplified"))


def test_partial_config_is_completed(tiny, tmp_path):
    config = NasExperimentConfig(execution_engine="sequential", experiment_working_directory=str(tmp_path))
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(), config)
    assert exp.config is config and config.model_format.name == "simplified"


def test_missing_default_engine_says_what_to_install(tiny, register_plugin):
    # a manager with the sequential engine and simplified format, but no ts engine installed
    register_plugin(nascore_sequential.hooks, "sequential")
    register_plugin(nascore_simplified.hooks, "simplified")
    with pytest.raises(ConfigError) as info:
        NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random())
    message = str(info.value)
    assert "execution engine 'ts'" in message and "pip install nascore-training-service" in message
    assert "NasExperimentConfig('sequential', 'simplified')" in message


def test_missing_default_format_says_what_to_install(tiny, nascore_plugin_manager):
    with pytest.raises(ConfigError, match="model format 'simplified'.*pip install nascore-simplified"):
        NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random())


def test_config_from_dict(tiny, tmp_path):
    exp = NasExperiment(tiny.Tiny(), FunctionalEvaluator(tiny.score), Random(),
                        {"execution_engine": "sequential", "experiment_working_directory": str(tmp_path)})
    assert exp.config.model_format.name == "simplified"
    assert exp.directory.parent == tmp_path.resolve()


def test_scrub_secrets_recurses():
    data = {"password": "x", "machine_list": [{"host": "h", "ssh_passphrase": "y", "user": "u"}],
            "nested": {"clientSecret": "z", "keep": 1}, "api_token": "t"}
    assert scrub_secrets(data) == {"machine_list": [{"host": "h", "user": "u"}], "nested": {"keep": 1}}


def test_store_roundtrip_and_read_only(tmp_path):
    store = ExperimentStore.create(tmp_path / "exp")
    model_id = store.add_model({"a": 1}, {"p": 1})
    ordered = store.add_model({"a": 0}, {"zeta": 1, "alpha": {"z": 0, "b": 1}})  # e.g. modules in definition order
    store.add_intermediate(model_id, 0.5)
    store.set_final(model_id, {"default": 0.9, "loss": 0.1})
    store.end_model(model_id, "trained")
    other = store.add_model({"a": 2})
    store.save_strategy_state({"rng": (1, 2)})  # tuples are not JSON-preserving: still restored
    store.close()
    with ExperimentStore.open(tmp_path / "exp") as ro:
        first, kept, second = ro.models()
        assert list(kept.payload) == ["zeta", "alpha"] and list(kept.payload["alpha"]) == ["z", "b"]
        assert (first.id, first.sample, first.intermediates, first.metric) == (model_id, {"a": 1}, [0.5], 0.9)
        assert second.id == other and second.status == "training" and second.metric is None
        assert [r.id for r in ro.top_models(5)] == [model_id]  # the unfinished ones have no metric
        assert ro.strategy_state() == {"rng": [1, 2]}
        assert list(first.payload) == ["p"]
        with pytest.raises(StoreError, match="read-only"):
            ro.add_model({"a": 3})
    with pytest.raises(StoreError, match="no experiment store"):
        ExperimentStore.open(tmp_path / "nowhere")
