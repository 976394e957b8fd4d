"""The remote service through the TrainingService interface, against real sshd "machines" on 127.0.0.1."""
from __future__ import annotations

import os

import pytest

from remote_helpers import agent_processes
from nascore.space import ModelStatus
from nascore.training_service import TrialRequest
from remote_trial_helpers import script_payload


def test_metrics_logs_and_crash_on_two_machines(start_service, machine, tmp_path):
    service, rec = start_service([machine(0), machine(1)], trial_concurrency=4)
    assert service.capacity() == 4
    gate = str(tmp_path / "gate")
    for i in range(3):
        open(f"{gate}.{i}", "w").close()
    service.submit(TrialRequest("steps", script_payload("steps", n=3, gate=gate)))
    service.submit(TrialRequest("print", script_payload("print")))
    service.submit(TrialRequest("crash", script_payload("crash")))
    service.submit(TrialRequest("raise", script_payload("raise")))
    # spread by free capacity: the four trials are split over both machines
    assert sorted(len(m["running"]) for m in service.machine_status()) == [2, 2]
    rec.wait_ended("steps", "print", "crash", "raise")
    ends = rec.ends()
    assert rec.metrics("steps") == [("intermediate", 0.0), ("intermediate", 1.0), ("intermediate", 2.0),
                                    ("final", 3.0)]
    assert ends["steps"].status is ModelStatus.Trained and ends["print"].status is ModelStatus.Trained
    assert rec.metrics("print") == [("final", 2.0)]
    assert ends["crash"].status is ModelStatus.Failed
    assert "exited with code 3" in ends["crash"].reason and "about to crash" in ends["crash"].reason
    assert ends["raise"].status is ModelStatus.Failed and "ValueError: bad model" in ends["raise"].reason
    logs = service.log_paths("print")
    assert logs.stdout.read_text().startswith("hello stdout <unset>")
    assert "hello stderr" in logs.stderr.read_text()
    assert "ValueError: bad model" in service.log_paths("raise").stderr.read_text()  # the traceback came back
    assert service.capacity() == 4


def test_timeout_cancel_and_shutdown_leave_nothing(start_service, machine, tmp_path):
    service, rec = start_service([machine(0)], trial_concurrency=3)
    started = tmp_path / "started"
    service.submit(TrialRequest("slow", script_payload("sleep", seconds=60, started=str(started)), timeout=0.5))
    service.submit(TrialRequest("cancel-me", script_payload("sleep", seconds=60, started=str(started) + "2")))
    service.submit(TrialRequest("left", script_payload("sleep", seconds=60, started=str(started) + "3")))
    rec.wait_ended("slow")
    assert rec.ends()["slow"].status is ModelStatus.Failed
    assert rec.ends()["slow"].reason == "exceeded max_trial_duration (0.5s)"
    rec.wait(lambda: os.path.exists(str(started) + "2"))
    service.cancel("cancel-me", "strategy said so")
    rec.wait_ended("cancel-me")
    assert rec.ends()["cancel-me"].status is ModelStatus.Interrupted
    assert rec.ends()["cancel-me"].reason == "strategy said so"
    assert agent_processes(service.run_id)  # the agent, its relay and a worker run the last trial
    service.shutdown()
    assert rec.ends()["left"].status is ModelStatus.Interrupted  # delivered before shutdown() returned
    # nothing is left running, and the agent's run directory is gone
    rec.wait(lambda: agent_processes(service.run_id) == [], timeout=10)  # the daemon's own exit may lag
    assert not any(p.name.startswith(service.run_id) for p in (
        __import__("pathlib").Path.home() / ".nascore" / "run").glob("*"))
    with pytest.raises(RuntimeError, match="shut down"):
        service.submit(TrialRequest("late", script_payload("noop")))


def test_a_cancelled_trial_leaves_its_worker_warm_unless_it_does_not_end(start_service, machine, tmp_path):
    import time

    from nascore_remote.agent.procs import alive
    service, rec = start_service([machine(0)], trial_concurrency=1)
    started = tmp_path / "started"
    service.submit(TrialRequest("a", script_payload("sleep", seconds=60, started=str(started))))
    rec.wait(lambda: started.exists() and started.read_text() != "")
    service.cancel("a", "stopped early")
    rec.wait_ended("a")
    assert (rec.ends()["a"].status, rec.ends()["a"].reason) == (ModelStatus.Interrupted, "stopped early")
    pidfile = tmp_path / "deaf.pid"
    service.submit(TrialRequest("b", script_payload("deaf", pidfile=str(pidfile))))
    rec.wait(lambda: pidfile.exists() and pidfile.read_text() != "")
    worker = int(pidfile.read_text())
    assert worker == int(started.read_text())  # the cancelled trial's worker stayed, warm, and runs this one
    cancelled = time.monotonic()
    service.cancel("b", "stopped early")  # the trial never hears it: its worker is killed after a grace period
    rec.wait_ended("b", timeout=30)
    assert rec.ends()["b"].status is ModelStatus.Interrupted and time.monotonic() - cancelled < 10
    rec.wait(lambda: not alive(worker), timeout=10)


def test_gpu_indices_schedule_cuda_visible_devices(start_service, machine):
    # no GPU is needed: the agent only sets CUDA_VISIBLE_DEVICES, which the trial prints
    service, rec = start_service([machine(0, gpu_indices=[3, 5], max_trial_number_per_gpu=1)],
                                 trial_concurrency=4)
    assert service.capacity() == 2  # two GPUs, one trial each
    service.submit(TrialRequest("g1", script_payload("print")))
    service.submit(TrialRequest("g2", script_payload("print")))
    assert service.capacity() == 0
    rec.wait_ended("g1", "g2")
    seen = sorted(service.log_paths(t).stdout.read_text().split()[2] for t in ("g1", "g2"))
    assert seen == ["3", "5"]
    assert service.capacity() == 2
    service.submit(TrialRequest("all", script_payload("print"), gpu_number=-1))  # every GPU of the machine
    rec.wait_ended("all")
    assert service.log_paths("all").stdout.read_text().split()[2] == "3,5"


def test_unchanged_code_is_not_uploaded_again(start_service, machine):
    first, _ = start_service([machine(0)])
    code_dir = first._machines[0].machine.code_dir
    mtime = os.stat(code_dir).st_mtime_ns
    second, rec = start_service([machine(0)])
    assert second._machines[0].machine.code_dir == code_dir and os.stat(code_dir).st_mtime_ns == mtime
    second.submit(TrialRequest("n", script_payload("noop")))
    rec.wait_ended("n")
    assert rec.metrics("n") == [("final", 1.0)]


def test_an_empty_code_directory_is_unpacked_as_an_empty_folder(start_service, machine, tmp_path):
    code = tmp_path / "empty"  # trials that need only installed modules (nascore's own evaluators, say)
    code.mkdir()
    first, _ = start_service([machine(0)], trial_code_directory=str(code))
    code_dir = first._machines[0].machine.code_dir
    first.shutdown()
    os.rmdir(code_dir)  # unpacked once per machine: gone, the next start unpacks it again
    second, _ = start_service([machine(0)], trial_code_directory=str(code))
    assert second._machines[0].machine.code_dir == code_dir
    assert os.path.isdir(code_dir) and os.listdir(code_dir) == []


def test_a_flooding_trial_log_is_capped_on_the_machine(start_service, machine):
    service, rec = start_service([machine(0)], trial_log_limit_mb=0.25)
    service.submit(TrialRequest("f", script_payload("flood", lines=3000)))  # 3 MB of output
    rec.wait_ended("f")
    assert rec.ends()["f"].status is ModelStatus.Trained
    text = service.log_paths("f").stdout.read_text()
    assert len(text.encode()) <= 0.3 * 1024 * 1024 and text.rstrip().endswith("the last line")
    assert text.startswith("[nascore: ") and "bytes cut from the start of this log" in text
