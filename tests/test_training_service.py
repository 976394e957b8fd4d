"""The core training-service interface: payloads, the one-trial runner and its JSON-lines wire format."""
import json
import os
import subprocess
import sys

import pytest

from nascore.conformance import ConformanceModel
from nascore.space import ModelStatus
from nascore.training_service import (TrainingService, TrialEnd, TrialMetric, TrialPayloadError, build_payload,
                                      event_from_json, event_to_json, load_model, run_trial)


def test_payload_round_trip_rebuilds_the_model():
    payload = build_payload(ConformanceModel({"x": 2}))
    assert payload["format"] == "conformance" and payload["model"]["sample"] == {"x": 2}
    model = load_model(json.loads(json.dumps(payload)))
    assert isinstance(model, ConformanceModel) and model.sample == {"x": 2}
    assert model.status is ModelStatus.Frozen


def test_unserializable_model_gets_advice():
    class Local(ConformanceModel):
        def to_payload(self):
            return {"function": lambda: 1}

    with pytest.raises(TrialPayloadError, match="cannot send .* importable by module path"):
        build_payload(Local({"x": 1}))


def test_load_model_rejects_garbage():
    with pytest.raises(TrialPayloadError, match="'format' and 'model'"):
        load_model({"model": {}})


def test_run_trial_streams_metrics_and_returns_end():
    seen = []
    end = run_trial(build_payload(ConformanceModel({"x": 1})), seen.append, "t1")
    assert seen == [TrialMetric("t1", "intermediate", 1), TrialMetric("t1", "intermediate", 2),
                    TrialMetric("t1", "intermediate", 3), TrialMetric("t1", "final", 10)]
    assert end == TrialEnd("t1", ModelStatus.Trained, None)


def test_run_trial_failure_keeps_reason(capsys):
    seen = []
    end = run_trial(build_payload(ConformanceModel({"x": 1, "fail": True})), seen.append, "t2")
    assert [e.metric for e in seen] == [1, 2]
    assert end.status is ModelStatus.Failed and end.reason == "ValueError: conformance model x=1 fails on purpose"
    assert "Traceback" in capsys.readouterr().err


def test_event_json_round_trip():
    for event in (TrialMetric("a", "final", {"default": 0.5, "loss": 1.0}),
                  TrialEnd("a", ModelStatus.Failed, "exit code 3")):
        line = event_to_json(event)
        assert "\n" not in line and event_from_json(line) == event
    with pytest.raises(ValueError, match="not a trial event"):
        event_from_json('{"event": "other"}')


def test_trial_main_runs_one_payload_in_a_subprocess(tmp_path):
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(build_payload(ConformanceModel({"x": 3}))))
    read, write = os.pipe()
    proc = subprocess.run([sys.executable, "-m", "nascore.training_service", "--payload", str(payload),
                           "--trial-id", "t9", "--events-fd", str(write)], pass_fds=(write,), capture_output=True,
                          text=True, timeout=120)
    os.close(write)
    with os.fdopen(read) as f:
        events = [event_from_json(line) for line in f]
    assert proc.returncode == 0, proc.stderr
    assert [getattr(e, "metric", None) for e in events] == [3, 6, 9, 30, None]
    assert events[-1] == TrialEnd("t9", ModelStatus.Trained, None)


def test_trial_main_defaults_events_to_stdout(tmp_path):
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps(build_payload(ConformanceModel({"x": 1, "fail": True}))))
    proc = subprocess.run([sys.executable, "-m", "nascore.training_service", "--payload", "-"],
                          input=payload.read_text(), capture_output=True, text=True, timeout=120)
    events = [event_from_json(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and events[-1].status is ModelStatus.Failed
    assert "fails on purpose" in proc.stderr


def test_training_service_is_abstract():
    with pytest.raises(TypeError):
        TrainingService()  # type: ignore[abstract]
