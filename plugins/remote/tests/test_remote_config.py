"""Settings of the remote service: construction, assignment, static checks, secrets never shown."""
from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nascore.experiment.config import ConfigError, NasExperimentConfig
from nascore_remote import RemoteConfig, RemoteMachineConfig


def test_fields_settable_after_construction_and_validated():
    rm = RemoteMachineConfig()
    rm.host, rm.port, rm.user, rm.gpu_indices = "10.0.0.5", 2222, "me", "0, 1"
    assert rm.gpu_indices == [0, 1] and rm.address == "me@10.0.0.5:2222"
    with pytest.raises(ValidationError, match="port"):
        rm.port = 0
    with pytest.raises(ValidationError, match="max_trial_number_per_gpu"):
        rm.max_trial_number_per_gpu = 0


def test_experiment_config_takes_machine_list():
    config = NasExperimentConfig("ts", "simplified", "remote")
    assert isinstance(config.training_service, RemoteConfig)
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u"), {"host": "g", "user": "v"}]
    assert [m.address for m in config.machine_list] == ["u@h:22", "v@g:22"]


def test_missing_host_named_before_anything_runs():
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u"), RemoteMachineConfig(user="me")]
    with pytest.raises(ConfigError, match=r"machine_list\[1\] \(me@\?:22\): host not set"):
        config.check()
    config.training_service.machine_list = []
    with pytest.raises(ConfigError, match="no machines"):
        config.check()


def test_unreadable_or_bad_key_file(tmp_path):
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u", ssh_key_file=str(tmp_path / "nope"))]
    with pytest.raises(ConfigError, match=r"u@h:22.*ssh_key_file .*nope.* does not exist"):
        config.check()
    bogus = tmp_path / "bogus"
    bogus.write_text("not a key")
    config.training_service.machine_list[0].ssh_key_file = str(bogus)
    with pytest.raises(ConfigError, match="cannot load ssh_key_file"):
        config.check()


def test_encrypted_key_needs_the_right_passphrase(tmp_path):
    from nascore_remote.testing import generate_key
    key = generate_key(tmp_path / "enc", passphrase="s3cret-pass")
    machine = RemoteMachineConfig(host="h", user="u", ssh_key_file=str(key))
    with pytest.raises(ConfigError, match="encrypted; set ssh_passphrase"):
        machine.check_static("machine_list[0]")
    machine.ssh_passphrase = "wrong"
    with pytest.raises(ConfigError, match="wrong ssh_passphrase"):
        machine.check_static("machine_list[0]")
    machine.ssh_passphrase = "s3cret-pass"
    machine.check_static("machine_list[0]")


def test_password_never_serialized_or_printed():
    config = NasExperimentConfig("ts", "simplified", "remote")
    rm = RemoteMachineConfig(host="h", user="u", password="hunter2-topsecret", ssh_passphrase="pp-topsecret")
    config.training_service.machine_list = [rm]
    for text in (config.to_json(), json.dumps(config.model_dump(mode="json")), repr(config), str(rm), repr(rm)):
        assert "topsecret" not in text
    assert rm.password.get_secret_value() == "hunter2-topsecret"


SECRET = "hunter2-topsecret"


@pytest.mark.parametrize("entry", [
    {"password": 12345678901}, {"passwd": SECRET}, {"password": [SECRET]}, {"password": {"x": SECRET}},
    {"ssh_passphrase": 12345678901, "port": "x"}, {"pasword": SECRET},
])
def test_no_shape_of_mistake_prints_the_secret(entry, tmp_path):
    import yaml
    entry = {"host": "h", "user": "u", **entry}
    errors = []
    for attempt in (lambda: RemoteMachineConfig(**entry),
                    lambda: setattr(NasExperimentConfig("ts", "simplified", "remote").training_service,
                                    "machine_list", [entry]),
                    lambda: NasExperimentConfig.load(tmp_path / "exp.yaml")):
        (tmp_path / "exp.yaml").write_text(yaml.safe_dump({"execution_engine": "ts", "training_service": {
            "name": "remote", "machine_list": [entry]}}))
        with pytest.raises(ValidationError) as info:
            attempt()
        errors.append(str(info.value) + repr(info.value))
    for text in errors:
        assert SECRET not in text and "12345678901" not in text
        assert "machine_list" in text or "RemoteMachineConfig" in text  # the culprit is still named


def test_save_writes_no_secret_and_says_where_it_comes_from(tmp_path, monkeypatch):
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u", password=SECRET)]
    for name in ("exp.yaml", "exp.json"):
        note = config.save(tmp_path / name)
        text = (tmp_path / name).read_text()
        assert SECRET not in text and "*****" not in text
        assert "training_service.machine_list[0].password is not saved" in note and "password_env" in note
        loaded = NasExperimentConfig.load(tmp_path / name)
        assert loaded.training_service.machine_list[0].password is None
    assert "# training_service.machine_list[0].password is not saved" in (tmp_path / "exp.yaml").read_text()
    # what older versions wrote is refused, not used as the password
    (tmp_path / "old.json").write_text((tmp_path / "exp.json").read_text().replace(
        '"host": "h"', '"host": "h", "password": "**********"'))
    with pytest.raises(ValidationError, match="placeholder an older config.save"):
        NasExperimentConfig.load(tmp_path / "old.json")
    # from the environment instead
    machine = RemoteMachineConfig(host="h", user="u", password_env="NASCORE_TEST_PW")
    with pytest.raises(ConfigError, match="password_env names the environment variable 'NASCORE_TEST_PW'"):
        machine.check_static("machine_list[0]")
    monkeypatch.setenv("NASCORE_TEST_PW", SECRET)
    assert machine.secret("password").get_secret_value() == SECRET


def test_gpu_number_larger_than_any_machine():
    config = NasExperimentConfig("ts", "simplified", "remote")
    config.training_service.machine_list = [RemoteMachineConfig(host="h", user="u", gpu_indices=[0, 1])]
    config.training_service.trial_gpu_number = 3
    with pytest.raises(ConfigError, match="trial_gpu_number=3"):
        config.check()


def test_code_tree_excludes_and_limit(tmp_path):
    from nascore_remote.upload import CodeTooLargeError, collect_code
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "model.py").write_text("x = 1\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.bin").write_bytes(b"\0" * 200_000)
    (tmp_path / "notes.log").write_text("log")
    (tmp_path / "keep.log").write_text("log")
    (tmp_path / ".gitignore").write_text("data/\n*.log\n!keep.log\n")
    tree = collect_code(tmp_path, ["__pycache__/"], size_limit_mb=1)
    assert tree.files == (".gitignore", "keep.log", "pkg/model.py")
    assert collect_code(tmp_path, [], 1).digest == tree.digest  # content hash: same tree, same digest
    (tmp_path / "pkg" / "model.py").write_text("x = 2\n")
    assert collect_code(tmp_path, [], 1).digest != tree.digest
    (tmp_path / ".gitignore").write_text("")
    with pytest.raises(CodeTooLargeError, match=r"data/big.bin"):
        collect_code(tmp_path, [], size_limit_mb=0.1)


def test_plugin_registered():
    from nascore.plugins import get_plugin_manager
    spec = get_plugin_manager().get_training_service("remote")
    assert spec.config_model is RemoteConfig
