"""The ts engine on the local service: isolation, timeouts, logs, warm workers, no orphans, errors."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from nascore.conformance import ConformanceModel
from nascore.engine import ModelEventType
from nascore.experiment.config import NasExperimentConfig
from nascore.space import ModelStatus
from nascore.training_service import TrialPayloadError
from nascore_training_service.engine import TrainingServiceEngine

import ts_helpers  # conftest put this folder on sys.path; workers import it by name
from ts_helpers import alive


def model(function, **sample):
    return ConformanceModel(sample, f"ts_helpers:{function}")


def run(engine, *models, timeout=60):
    engine.submit_models(*models)
    assert engine.wait_models(*models, timeout=timeout)


def test_crashing_trials_fail_alone_with_reason(make_engine):
    engine = make_engine(concurrency=2)
    exits, segv, killed = model("exit_3"), model("segfault"), model("killed")
    good = ConformanceModel({"x": 1})
    run(engine, exits, segv, killed, good)
    assert (exits.status, exits.failure_reason, exits.metrics.intermediates) == (ModelStatus.Failed, "exit code 3",
                                                                                [1, 2])
    assert (segv.status, segv.failure_reason, segv.metrics.intermediates) == (ModelStatus.Failed,
                                                                             "killed by signal SIGSEGV", [1])
    assert killed.failure_reason == "killed by signal SIGKILL" and killed.metrics.intermediates == [1]
    assert good.status is ModelStatus.Trained and good.metrics.final == 10
    assert "Segmentation fault" in (Path(segv.log_path) / "stderr.log").read_text()  # faulthandler output
    # the crashed workers were replaced: the service still runs trials
    later = ConformanceModel({"x": 2})
    run(engine, later)
    assert later.metrics.final == 20


def test_max_trial_duration_kills_an_overrunning_trial(make_engine):
    engine = make_engine(concurrency=2, max_trial_duration=1.5)
    slow, quick = model("sleeper", seconds=60), ConformanceModel({"x": 1})
    started = time.monotonic()
    run(engine, slow, quick)
    assert time.monotonic() - started < 20
    assert slow.status is ModelStatus.Failed and slow.failure_reason == "exceeded max_trial_duration (1.5s)"
    assert slow.metrics.intermediates == [1] and quick.status is ModelStatus.Trained


def test_shutdown_leaves_no_process_behind(make_engine):
    engine = make_engine(concurrency=2)
    first, second = model("spawn_child_and_sleep"), model("spawn_child_and_sleep")
    reported = []
    engine.register_model_event_callback(ModelEventType.IntermediateMetric, lambda e: reported.append(e.metric))
    engine.submit_models(first, second)
    deadline = time.monotonic() + 60
    while len(reported) < 4 and time.monotonic() < deadline:
        engine.wait_models(first, timeout=0.05)
    pids = reported + engine.service.worker_pids()
    assert len(reported) == 4 and all(alive(p) for p in pids)
    engine.shutdown()
    assert first.status is ModelStatus.Interrupted and second.status is ModelStatus.Interrupted
    assert first.failure_reason == "training service shut down"
    assert len(first.metrics.intermediates) == 2  # what was reported before the shutdown is kept
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGKILL is asynchronous; re-check /proc until the kernel is done
    assert not [p for p in pids if alive(p)]


def test_shutdown_delivers_what_was_reported_before_the_kill(make_engine, tmp_path):
    """Metrics already written to the event pipe but not yet read when shutdown() kills the worker reach the
    model before its Interrupted end."""
    engine = make_engine(concurrency=1)
    marker = tmp_path / "reported"
    m = model("report_then_sleep", count=20, marker=str(marker))
    gate, seen = threading.Event(), []

    def hold_first(event):  # the reader stalls on the first metric: the other 19 stay in the pipe
        seen.append(event.metric)
        if len(seen) == 1:
            gate.wait(30)

    engine.register_model_event_callback(ModelEventType.IntermediateMetric, hold_first)
    engine.submit_models(m)
    deadline = time.monotonic() + 60
    while not (marker.exists() and seen) and time.monotonic() < deadline:
        time.sleep(0.01)  # polls for the trial's marker: all 20 metrics are written by then
    assert marker.exists() and seen == [0]
    worker = int(marker.read_text())
    # the service's own shutdown: the engine's would first wait for the lock the stalled callback holds
    stopper = threading.Thread(target=engine.service.shutdown)
    stopper.start()
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.01)  # wait for the kill: only the pipe holds the metrics now
    assert not alive(worker)
    gate.set()
    stopper.join(30)
    assert not stopper.is_alive()
    assert m.status is ModelStatus.Interrupted and m.failure_reason == "training service shut down"
    assert m.metrics.intermediates == list(range(20))


def test_trial_logs_are_kept_per_trial(make_engine, tmp_path):
    engine = make_engine(concurrency=1)
    models = [model("chatty", x=1), model("chatty", x=2)]
    run(engine, *models)
    for m, x in zip(models, (1, 2)):
        logs = Path(m.log_path)
        assert logs.parent == tmp_path / "trials"
        assert (logs / "stdout.log").read_text() == f"hello stdout {x}\n"
        assert (logs / "stderr.log").read_text() == f"hello stderr {x}\n"
        assert engine.service.log_paths(m.trial_id).stdout == logs / "stdout.log"


def test_warm_workers_are_reused_and_fresh_mode_is_not(make_engine):
    warm = make_engine(concurrency=1)
    models = [model("worker_pid") for _ in range(3)]
    for m in models:
        run(warm, m)
    assert len({m.metrics.final for m in models}) == 1
    fresh = make_engine(concurrency=1, reuse_worker=False)
    models = [model("worker_pid") for _ in range(2)]
    for m in models:
        run(fresh, m)
    assert len({m.metrics.final for m in models}) == 2


def test_worker_with_leaked_thread_is_replaced(make_engine):
    engine = make_engine(concurrency=1)
    leaky, after = model("leaves_thread"), model("worker_pid")
    run(engine, leaky)
    run(engine, after)
    assert leaky.status is ModelStatus.Trained and after.status is ModelStatus.Trained
    assert leaky.metrics.final != after.metrics.final


def test_evaluator_that_cannot_be_sent_stops_at_submit(make_engine):
    class InMain(ConformanceModel):
        def to_payload(self):
            return {"sample": self.sample, "evaluator": {"function": object()}}

    engine = make_engine()
    bad = InMain({"x": 1})
    with pytest.raises(TrialPayloadError, match="importable by module path"):
        engine.submit_models(bad)
    assert list(engine.list_models()) == [] and bad.status is ModelStatus.Frozen


def test_concurrency_and_queueing(make_engine):
    engine = make_engine(concurrency=2)
    models = [ConformanceModel({"x": i}) for i in range(5)]
    engine.submit_models(*models)  # more than the slots: the rest wait in the queue
    assert not engine.idle_worker_available()
    assert engine.wait_models(timeout=60)
    assert [m.metrics.final for m in models] == [0, 10, 20, 30, 40]
    assert engine.idle_worker_available()


def test_stop_on_failure_stops_the_engine(make_engine):
    engine = make_engine(concurrency=1, stop_on_failure=True)
    bad, queued = model("exit_3"), ConformanceModel({"x": 1})
    engine.submit_models(bad, queued)
    assert engine.wait_models(bad, queued, timeout=60)
    assert bad.status is ModelStatus.Failed and queued.status is ModelStatus.Interrupted
    with pytest.raises(RuntimeError, match="stop_on_failure"):
        engine.submit_models(ConformanceModel({"x": 2}))


def test_gpu_count_zero_hides_gpus(make_engine):
    engine = make_engine(concurrency=1, trial_gpu_number=0)
    m = model("cuda_env")
    run(engine, m)
    assert m.metrics.final == 0


SCRIPT = """
import sys, time
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises, even in a background job
sys.path.insert(0, {here!r})
from nascore.conformance import ConformanceModel
from nascore.engine import ModelEventType
from nascore.experiment.config import NasExperimentConfig
from nascore_training_service.engine import TrainingServiceEngine
config = NasExperimentConfig("ts", None, "local", experiment_working_directory={tmp!r}, trial_concurrency=1)
config.training_service.preload = []
engine = TrainingServiceEngine(config)
pids = []
engine.register_model_event_callback(ModelEventType.IntermediateMetric, lambda e: pids.append(e.metric))
engine.submit_models(ConformanceModel({{}}, "ts_helpers:spawn_child_and_sleep"))
while len(pids) < 2:
    engine.wait_models(timeout=0.05)
print(*pids, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill-9"])
def test_experiment_process_dying_leaves_no_orphans(tmp_path, signum):
    script = SCRIPT.format(here=str(Path(ts_helpers.__file__).parent), tmp=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
        proc.send_signal(signum)  # Ctrl-C: shutdown at interpreter exit; kill -9: workers notice the orphaning
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)  # the worker's watchdog polls its parent every 0.5 s
        assert not [p for p in pids if alive(p)]
    finally:
        proc.kill()
        proc.wait()


def test_a_raising_listener_does_not_stall_the_queue(make_engine):
    engine = make_engine(concurrency=1)
    models = [ConformanceModel({"x": i}) for i in range(3)]

    def explode(event):
        if event.model is models[0]:
            raise RuntimeError("listener bug")

    engine.register_model_event_callback(ModelEventType.TrainingEnd, explode)
    engine.submit_models(*models)
    assert engine.wait_models(*models[1:], timeout=60)
    assert [m.metrics.final for m in models] == [0, 10, 20]
    assert [m.status for m in models[1:]] == [ModelStatus.Trained] * 2


def test_concurrent_trials_split_the_cores_between_them(make_engine, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    engine = make_engine(concurrency=2)
    [single] = [model("report_torch_threads")]
    run(engine, single)
    assert 1 <= single.metrics.final <= max(1, (os.cpu_count() or 1) // 2)  # the free cores, split in two


def test_users_own_thread_setting_wins(make_engine, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    engine = make_engine(concurrency=1)
    [single] = [model("report_torch_threads")]
    run(engine, single)
    assert single.metrics.final == 1
