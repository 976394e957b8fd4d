"""Worker processes import what the experiment imports, and a worker that fails says why in the trial's reason."""
from nascore.conformance import ConformanceModel
from nascore.space import ModelStatus


def _run(engine, model):
    engine.submit_models(model)
    assert engine.wait_models(model, timeout=120)


def test_a_nascore_folder_in_the_working_directory_does_not_shadow_the_package(make_engine, tmp_path, monkeypatch):
    clone = tmp_path / "clone"  # e.g. the user runs from a checkout of nascore's sources
    (clone / "nascore").mkdir(parents=True)
    (clone / "nascore" / "__init__.py").write_text("raise ImportError('the nascore folder in the cwd was used')\n")
    (clone / "nascore_training_service").mkdir()
    (clone / "nascore_training_service" / "__init__.py").write_text("raise ImportError('shadowed plugin')\n")
    monkeypatch.chdir(clone)
    engine = make_engine(concurrency=1)
    model = ConformanceModel({"x": 3})
    _run(engine, model)
    assert model.status is ModelStatus.Trained, model.failure_reason


def test_a_worker_that_cannot_start_puts_its_error_in_the_reason(make_engine, tmp_path):
    python = tmp_path / "python-without-torch"  # a wrong interpreter: it dies before running any trial
    python.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'nascore'\" >&2\nexit 1\n")
    python.chmod(0o755)
    engine = make_engine(concurrency=1, python_interpreter=str(python))
    model = ConformanceModel({"x": 1})
    _run(engine, model)
    assert model.status is ModelStatus.Failed
    assert model.failure_reason.startswith("exit code 1; the worker said: ModuleNotFoundError: No module named "
                                           "'nascore' (see ")
    assert "/workers/worker-" in model.failure_reason


def test_a_flooding_trial_log_is_capped_keeping_its_end(make_engine):
    engine = make_engine(concurrency=1, trial_log_limit_mb=1.0)
    model = ConformanceModel({"mb": 6}, "ts_helpers:flood")
    _run(engine, model)
    assert model.status is ModelStatus.Trained
    logs = sorted((engine.log_directory).glob("*/stdout.log"))
    text = logs[-1].read_text()
    assert len(text.encode()) <= 1.5 * 1024 * 1024  # 6 MB written, about the limit kept
    assert text.startswith("[nascore: ") and "bytes cut from the start of this log (trial_log_limit_mb)" in text
    assert text.rstrip().endswith("the last line")


def test_worker_start_up_is_not_charged_to_the_trial(make_engine, tmp_path, monkeypatch):
    import time
    (tmp_path / "nascore_slow_import.py").write_text("import time\ntime.sleep(2.0)  # a heavy import\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    engine = make_engine(concurrency=1, preload=["nascore_slow_import"])
    model = ConformanceModel({"x": 1})
    submitted = time.time()
    _run(engine, model)
    assert model.status is ModelStatus.Trained
    assert model.timings["end"] - submitted >= 2.0  # the worker was still importing when it was submitted
    assert model.timings["end"] - model.timings["start"] < 1.0  # the trial itself: its duration


def test_a_warm_worker_runs_the_next_trial_as_a_fresh_one(make_engine):
    import resource
    engine = make_engine(concurrency=1, preload=["torch"])
    first = ConformanceModel({}, "ts_helpers:change_process_state")
    second = ConformanceModel({"soft": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}, "ts_helpers:process_state")
    _run(engine, first)
    _run(engine, second)
    assert second.status is ModelStatus.Trained, second.failure_reason
    assert first.metrics.final == second.metrics.final  # the same (warm) worker ran both


def test_a_cancelled_trial_leaves_its_warm_worker_for_the_next_one(make_engine, tmp_path):
    import time

    from ts_helpers import alive
    engine = make_engine(concurrency=1)
    marker = tmp_path / "pid"
    victim = ConformanceModel({"count": 2, "marker": str(marker)}, "ts_helpers:report_then_sleep")
    engine.submit_models(victim)
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:  # bounded: the trial writes it once running
        engine.wait_models(victim, timeout=0.1)
    pid = int(marker.read_text())
    assert engine.cancel_model(victim, "stopped by the test")
    assert engine.wait_models(victim, timeout=60)
    assert (victim.status, victim.failure_reason) == (ModelStatus.Interrupted, "stopped by the test")
    assert victim.metrics.intermediates == [0, 1]
    assert alive(pid)  # the worker was not killed
    after = ConformanceModel({}, "ts_helpers:worker_pid")
    _run(engine, after)
    assert after.metrics.final == pid  # the next trial ran in the same warm worker
