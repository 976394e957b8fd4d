"""The training-service conformance suite: what every :class:`~nascore.training_service.TrainingService` must do,
as a reusable test class (the way :mod:`nascore.conformance` checks engines).

A service plugin's tests subclass :class:`TrainingServiceConformance` and say how to build the service::

    from nascore.service_conformance import TrainingServiceConformance

    class TestMyServiceConformance(TrainingServiceConformance):
        def make_service(self, directory, concurrency):
            config = NasExperimentConfig("ts", None, "my-service", trial_concurrency=concurrency)
            return MyService(config)            # not started: the suite starts it

pytest then runs every ``test_*`` method below against the service, through the interface only: metrics
streamed in order and exactly one end per trial, a crashing trial (exception or hard exit) failing alone, the
timeout, cancel, shutdown (running trials end Interrupted before ``shutdown()`` returns, new ones are refused),
capacity, trial logs, where a trial ran (``on_trial_started``'s ``where``, when the service says), and no
process left behind (a trial's own children included, even one that called
``setsid``). Trials are :class:`~nascore.conformance.ConformanceModel` payloads whose functions live in this
module, so any machine with nascore installed can run them. Waits are bounded (:attr:`event_timeout`).

This module imports no pytest, so trial processes import it cheaply.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from nascore.conformance import ConformanceModel
from nascore.space import ModelStatus
from nascore.training_service import TrainingService, TrialEnd, TrialMetric, TrialRequest, build_payload
from nascore.trial import report_final_result, report_intermediate_result

__all__ = ["TrainingServiceConformance", "EventRecorder", "trial_request"]

_HERE = "nascore.service_conformance"


# ---- trials (run in the service's trial processes) ------------------------------------------------------
def _wait_for_file(path: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)  # the trial's workload: it runs until the test opens the gate


def steps_trial(sample: Dict[str, Any]) -> None:
    """Reports ``x``, ``2x``, ``3x`` then final ``10x``, printing to stdout and stderr."""
    print(f"conformance stdout {sample['x']}", flush=True)
    print(f"conformance stderr {sample['x']}", file=sys.stderr, flush=True)
    for step in (1, 2, 3):
        report_intermediate_result(sample["x"] * step)
    report_final_result(sample["x"] * 10)


def raising_trial(sample: Dict[str, Any]) -> None:
    """Reports one intermediate, then raises."""
    report_intermediate_result(1)
    raise ValueError("conformance trial fails on purpose")


def exiting_trial(sample: Dict[str, Any]) -> None:
    """Reports one intermediate, then ends its process without any clean-up (``os._exit(3)``)."""
    report_intermediate_result(1)
    os._exit(3)


def blocking_trial(sample: Dict[str, Any]) -> None:
    """Starts a child in a session of its own (pid written to ``sample["pidfile"]``), marks ``sample["started"]``
    and waits for the file ``sample["gate"]`` (at most ``sample["limit"]`` seconds) before reporting 1."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    Path(sample["pidfile"]).write_text(str(child.pid))
    report_intermediate_result(0)
    Path(sample["started"]).write_text("started")
    _wait_for_file(sample["gate"], sample.get("limit", 300))
    report_final_result(1)


def trial_request(trial_id: str, function: str, timeout: Optional[float] = None, **sample: Any) -> TrialRequest:
    """A :class:`TrialRequest` running ``function`` (a name in this module) on ``sample``."""
    model = ConformanceModel(sample, f"{_HERE}:{function}")
    return TrialRequest(trial_id, build_payload(model), timeout=timeout)


# ---- the listener ------------------------------------------------------------------------------------------
class EventRecorder:
    """A TrialListener recording every event; tests wait on it with bounded waits. ``on_end`` (if set) is called
    inside each end callback, where the service must allow ``capacity()``/``submit()``."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.events: List[Any] = []
        self.on_end: Optional[Callable[[TrialEnd], None]] = None
        self._cv = threading.Condition()
        #: trial id -> the ``where`` of its ``on_trial_started`` (None: the service did not say)
        self.started: Dict[str, Optional[str]] = {}

    def on_trial_metric(self, event: TrialMetric) -> None:
        """Record a metric."""
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def on_trial_started(self, trial_id: str, started: float, where: Optional[str] = None) -> None:
        """Record that a trial began, and where it runs (optional for a service)."""
        with self._cv:
            self.started[trial_id] = where
            self._cv.notify_all()

    def on_trial_end(self, event: TrialEnd) -> None:
        """Record an end (after running ``on_end``)."""
        if self.on_end is not None:
            self.on_end(event)
        with self._cv:
            self.events.append(event)
            self._cv.notify_all()

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        """Block until ``condition()`` holds; AssertionError after :attr:`timeout` seconds."""
        deadline = time.monotonic() + self.timeout
        with self._cv:
            while not condition():  # events notify; files and processes are polled
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out after {self.timeout}s waiting for {what}; events: {self.events}")
                self._cv.wait(min(left, 0.05))

    def ends(self) -> Dict[str, TrialEnd]:
        """Trial id -> its end (AssertionError when a trial ended twice)."""
        found: Dict[str, TrialEnd] = {}
        for event in list(self.events):
            if isinstance(event, TrialEnd):
                assert event.trial_id not in found, f"trial {event.trial_id} ended twice: {self.events}"
                found[event.trial_id] = event
        return found

    def wait_ended(self, *trial_ids: str) -> Dict[str, TrialEnd]:
        """Wait for the ends of ``trial_ids`` and return every end so far."""
        self.wait(lambda: all(t in self.ends() for t in trial_ids), f"the end of {', '.join(trial_ids)}")
        return self.ends()

    def metrics(self, trial_id: str) -> List[tuple]:
        """``(kind, value)`` of the trial's metrics in arrival order."""
        return [(e.kind, e.metric) for e in list(self.events) if isinstance(e, TrialMetric) and e.trial_id == trial_id]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, only not yet reaped
    except (OSError, IndexError):
        return False


# ---- the suite ----------------------------------------------------------------------------------------------
class TrainingServiceConformance:
    """Base test class; subclasses implement :meth:`make_service` (see the module docstring)."""

    #: seconds any wait of the suite may take
    event_timeout: float = 60.0

    def make_service(self, directory: Path, concurrency: int) -> TrainingService:
        """A new, not yet started service that runs ``concurrency`` trials at once."""
        raise NotImplementedError("subclasses of TrainingServiceConformance implement make_service()")

    def setup_method(self, method: Any = None) -> None:
        """A scratch folder for each test (gates, pid files, logs)."""
        self.directory = Path(tempfile.mkdtemp(prefix="nascore-service-conformance-"))
        self._services: List[TrainingService] = []

    def teardown_method(self, method: Any = None) -> None:
        """Shut every service down (again) and remove the scratch folder."""
        for service in self._services:
            service.shutdown()
        shutil.rmtree(self.directory, ignore_errors=True)

    # ---- helpers ----------------------------------------------------------------------------------------
    def start(self, concurrency: int = 2) -> tuple:
        """(service, recorder): a started service and the listener it reports to."""
        service = self.make_service(self.directory, concurrency)
        self._services.append(service)
        recorder = EventRecorder(self.event_timeout)
        service.start(recorder, self.directory / "logs")
        return service, recorder

    def blocking(self, trial_id: str, timeout: Optional[float] = None) -> TrialRequest:
        """A trial that runs until its gate opens (it never does unless the test opens it)."""
        base = self.directory / trial_id
        return trial_request(trial_id, "blocking_trial", timeout=timeout, pidfile=f"{base}.pid",
                             started=f"{base}.started", gate=f"{base}.gate", limit=self.event_timeout * 2)

    def wait_started(self, recorder: EventRecorder, trial_id: str) -> int:
        """Wait until the blocking trial runs; returns the pid of the child it started."""
        base = self.directory / trial_id
        recorder.wait(lambda: Path(f"{base}.started").exists(), f"trial {trial_id} to start")
        return int(Path(f"{base}.pid").read_text())

    def assert_gone(self, recorder: EventRecorder, pid: int) -> None:
        """The process ``pid`` (a trial's child) is gone, soon."""
        recorder.wait(lambda: not _alive(pid), f"process {pid} started by a trial to be gone")

    # ---- the tests --------------------------------------------------------------------------------------
    def test_metrics_stream_in_order_then_one_end(self):
        service, recorder = self.start()
        service.submit(trial_request("steps", "steps_trial", x=2))
        ends = recorder.wait_ended("steps")
        assert ends["steps"].status is ModelStatus.Trained, ends["steps"]
        assert recorder.metrics("steps") == [("intermediate", 2), ("intermediate", 4), ("intermediate", 6),
                                             ("final", 20)]
        assert isinstance(recorder.events[-1], TrialEnd)  # nothing of the trial after its end
        where = recorder.started.get("steps")  # optional; when said, a non-empty line for people (no secrets)
        assert where is None or (isinstance(where, str) and where.strip() and "\n" not in where), where
        logs = service.log_paths("steps")
        assert "conformance stdout 2" in logs.stdout.read_text()
        assert "conformance stderr 2" in logs.stderr.read_text()

    def test_crashing_trials_fail_alone(self):
        service, recorder = self.start(concurrency=3)
        service.submit(trial_request("raise", "raising_trial", x=1))
        service.submit(trial_request("exit", "exiting_trial", x=1))
        service.submit(trial_request("fine", "steps_trial", x=1))
        ends = recorder.wait_ended("raise", "exit", "fine")
        assert ends["raise"].status is ModelStatus.Failed and "fails on purpose" in (ends["raise"].reason or "")
        assert ends["exit"].status is ModelStatus.Failed and ends["exit"].reason
        assert ends["fine"].status is ModelStatus.Trained
        assert recorder.metrics("raise") == [("intermediate", 1)]  # what was reported before the crash is kept
        service.submit(trial_request("after", "steps_trial", x=3))  # the service still works
        assert recorder.wait_ended("after")["after"].status is ModelStatus.Trained

    #: seconds the timeout test gives its trial: long enough for a trial process to start on a slow machine
    trial_timeout: float = 8.0

    def test_timeout_fails_the_trial_and_its_children(self):
        service, recorder = self.start()
        service.submit(self.blocking("slow", timeout=self.trial_timeout))
        end = recorder.wait_ended("slow")["slow"]
        assert end.status is ModelStatus.Failed and "exceeded max_trial_duration" in (end.reason or "")
        pidfile = self.directory / "slow.pid"
        if pidfile.exists():  # the trial got as far as starting its child: that child must be gone too
            self.assert_gone(recorder, int(pidfile.read_text()))

    def test_cancel_interrupts_the_trial_and_its_children(self):
        service, recorder = self.start()
        service.submit(self.blocking("victim"))
        child = self.wait_started(recorder, "victim")
        service.cancel("victim", "cancelled by the conformance suite")
        end = recorder.wait_ended("victim")["victim"]
        assert (end.status, end.reason) == (ModelStatus.Interrupted, "cancelled by the conformance suite")
        self.assert_gone(recorder, child)
        service.cancel("victim")  # finished or unknown ids are ignored
        service.cancel("no-such-trial")

    def test_capacity_counts_free_slots_and_frees_before_the_end(self):
        service, recorder = self.start(concurrency=2)
        assert service.capacity() == 2
        seen: List[int] = []
        recorder.on_end = lambda event: seen.append(service.capacity())
        service.submit(self.blocking("one"))
        service.submit(self.blocking("two"))
        assert service.capacity() == 0
        try:
            service.submit(trial_request("three", "steps_trial", x=1))
        except RuntimeError:
            pass
        else:
            raise AssertionError("submit() with no free slot must raise RuntimeError")
        self.wait_started(recorder, "one")
        (self.directory / "one.gate").write_text("open")
        recorder.wait_ended("one")
        assert seen and seen[0] >= 1  # the slot was free before the end was delivered
        assert service.capacity() == 1

    def test_shutdown_interrupts_everything_and_leaves_no_process(self):
        service, recorder = self.start(concurrency=2)
        service.submit(self.blocking("a"))
        service.submit(self.blocking("b"))
        children = [self.wait_started(recorder, "a"), self.wait_started(recorder, "b")]
        service.shutdown()
        ends = recorder.ends()  # delivered before shutdown() returned
        assert {t: e.status for t, e in ends.items()} == {"a": ModelStatus.Interrupted, "b": ModelStatus.Interrupted}
        for child in children:
            self.assert_gone(recorder, child)
        try:
            service.submit(trial_request("late", "steps_trial", x=1))
        except RuntimeError:
            pass
        else:
            raise AssertionError("submit() after shutdown() must raise RuntimeError")
        service.shutdown()  # idempotent
