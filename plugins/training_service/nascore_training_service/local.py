"""The ``local`` training service: trials in worker processes on this machine.

One worker process per slot (``trial_concurrency``), each in its own session/process group so a trial and
everything it spawned are killed together. A reader thread per worker turns its event lines into listener
calls, enforces the trial's timeout and notices the worker's death (reason from its exit status).
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from nascore.cpu import training_threads
from nascore.space import ModelStatus
from nascore.training_service import (TrainingService, cap_log, TrialEnd, TrialListener, TrialLogs, TrialMetric,
                                      TrialRequest, event_from_json)
from nascore_training_service.config import LocalConfig
from nascore_training_service.gpu import GpuScheduler, busy_gpus, cuda_env, detect_gpus
from nascore_training_service.processes import (RunningTrial, WorkerProcess, exit_reason, log_tail, worker_command,
                                                worker_pythonpath)
from nascore_training_service.worker import CANCEL_SIGNAL

__all__ = ["LocalTrainingService", "exit_reason"]

_logger = logging.getLogger(__name__)
_POLL = 0.25  # seconds between liveness/timeout checks of a worker that is silent
_CANCEL_GRACE = 3.0  # seconds a cancelled trial gets to stop inside its (reused) worker before the worker is killed
_DRAIN_TIMEOUT = 5.0  # seconds shutdown() waits for the readers to deliver what the killed trials reported


def trial_thread_env(slots: int) -> Dict[str, str]:
    """Intra-op threads per trial: the cores free now split between the trials that run at once. Without it every
    trial's torch starts one thread per core and concurrent trials oversubscribe the CPU: the quickstart's 8 trials
    (2 at a time on 2 cores) took 55-130 s instead of ~5 s; a core another process keeps busy is not counted
    either. A user's own OMP_NUM_THREADS / MKL_NUM_THREADS / NASCORE_THREADS wins (torch reads the first two)."""
    names = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
    threads = str(training_threads(slots))
    return {name: os.environ.get(name) or threads for name in names}


class LocalTrainingService(TrainingService):
    def __init__(self, config: Any = None) -> None:
        settings = getattr(config, "training_service", None)
        self.settings: LocalConfig = settings if isinstance(settings, LocalConfig) else LocalConfig()
        self.slots: int = int(getattr(config, "trial_concurrency", 1) or 1)
        self._lock = threading.Lock()
        self._workers: List[WorkerProcess] = []
        self._trials: Dict[str, RunningTrial] = {}
        self._running = 0
        self._closed = False
        self._listener: Optional[TrialListener] = None
        self.log_directory: Optional[Path] = None
        self._gpus: Optional[GpuScheduler] = None
        self._busy_cache: Tuple[float, set] = (0.0, set())
        self._pythonpath = worker_pythonpath()
        self._thread_env: Optional[Dict[str, str]] = None
        self._reader = threading.local()  # .active is set in our reader threads (they call the listener)
        atexit.register(_shutdown_ref, weakref.ref(self))  # no worker survives an interpreter exit

    # ---- TrainingService ------------------------------------------------------------------------------------
    def start(self, listener: TrialListener, log_directory: Path) -> None:
        self._listener = listener
        self.log_directory = Path(log_directory)
        (self.log_directory / "workers").mkdir(parents=True, exist_ok=True)
        if self.settings.trial_gpu_number:
            indices = self.settings.gpu_indices if self.settings.gpu_indices is not None else detect_gpus()
            self._gpus = GpuScheduler(indices, self.settings.max_trial_number_per_gpu, self.settings.use_active_gpu)
        elif self.settings.reuse_worker:  # warm up now: the first trials then skip the imports
            key = self._env_key(self._default_env())
            with self._lock:
                for _ in range(self.slots):
                    self._spawn(key)

    def capacity(self) -> int:
        with self._lock:
            free = 0 if self._closed else self.slots - self._running
            if free > 0 and self._gpus is not None:
                free = min(free, self._gpus.free_slots(self.settings.trial_gpu_number, self._busy()))
            return free

    def submit(self, trial: TrialRequest) -> str:
        if self._listener is None or self.log_directory is None:
            raise RuntimeError("call start(listener, log_directory) before submit()")
        trial_dir = self.log_directory / trial.trial_id
        trial_dir.mkdir(parents=True, exist_ok=True)
        payload_file = trial_dir / "payload.json"
        payload_file.write_text(json.dumps(trial.payload))
        logs = TrialLogs(trial_dir / "stdout.log", trial_dir / "stderr.log")
        with self._lock:
            if self._closed:
                raise RuntimeError("the local training service is shut down")
            if trial.trial_id in self._trials:
                raise ValueError(f"trial id {trial.trial_id!r} was already submitted")
            if self._running >= self.slots:
                raise RuntimeError(f"no free slot: {self.slots} trial(s) already running; check capacity()")
            env = {**self._default_env(), **trial.env}
            state = RunningTrial(trial, logs, None if trial.timeout is None else time.monotonic() + trial.timeout)
            number = trial.gpu_number if trial.gpu_number is not None else self.settings.trial_gpu_number
            if number and self._gpus is not None:
                state.gpus = self._gpus.acquire(trial.trial_id, number, self._busy())
                if state.gpus is None:
                    raise RuntimeError(f"no {number} free GPU(s) for trial {trial.trial_id}; check capacity()")
                env.update(cuda_env(state.gpus))
            key = self._env_key(env)
            worker = next((w for w in self._workers if w.usable(key)), None)
            if worker is None:
                self._evict_idle(keep=self.slots - 1)
                worker = self._spawn(key)
            worker.trial = state
            self._trials[trial.trial_id] = state
            self._running += 1
            command = {"trial_id": trial.trial_id, "payload_file": str(payload_file),
                       "stdout": str(logs.stdout), "stderr": str(logs.stderr)}
            try:
                os.write(worker.commands, (json.dumps(command) + "\n").encode())
            except OSError:  # the worker already died; its reader thread reports the trial as failed
                pass
        return trial.trial_id

    def cancel(self, trial_id: str, reason: str = "cancelled") -> None:
        """Stop a trial. A reused worker is asked first (SIGUSR1 raises inside the trial, which ends and leaves
        the worker warm for the next trial, freeing the slot at once); one that has not ended its trial within
        ``_CANCEL_GRACE`` seconds (stuck in native code), or a one-trial worker, is killed."""
        self._stop_trial(trial_id, ModelStatus.Interrupted, reason, cooperative=self.settings.reuse_worker)

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
            for worker in workers:
                trial = worker.trial
                if trial is not None and not trial.ended and trial.ending is None:
                    trial.ending = (ModelStatus.Interrupted, "training service shut down")
                worker.kill()
        # Each reader thread drains what its trial wrote before the kill, then delivers the trial's end; wait
        # for them (bounded: a listener stuck elsewhere must not hang the shutdown) so nothing reported is lost
        # and every end is delivered before shutdown() returns, as the interface promises. Called from a
        # listener callback (one of our readers), the other readers may be waiting for the lock that callback
        # holds: do not wait then.
        me = threading.current_thread()
        deadline = time.monotonic() + (0.0 if getattr(self._reader, "active", False) else _DRAIN_TIMEOUT)
        for worker in workers:
            if worker.thread is not None and worker.thread is not me:
                worker.thread.join(max(0.0, deadline - time.monotonic()))
        for worker in workers:
            trial = worker.trial
            if trial is not None and not trial.ended:  # its reader is stuck (or is us): end it here
                _logger.debug("worker %d: trial %s ends before its events were drained", worker.proc.pid,
                              trial.request.trial_id)
                self._finish(trial, TrialEnd(trial.request.trial_id, *(trial.ending or (
                    ModelStatus.Interrupted, "training service shut down"))))

    def log_paths(self, trial_id: str) -> TrialLogs:
        if self.log_directory is None:
            raise RuntimeError("the service has not started; no log directory yet")
        trial_dir = self.log_directory / trial_id
        return TrialLogs(trial_dir / "stdout.log", trial_dir / "stderr.log")

    # ---- workers ---------------------------------------------------------------------------------------------
    def worker_pids(self) -> List[int]:
        """Process ids of live workers (tests use it to check nothing is left behind)."""
        with self._lock:
            return [w.proc.pid for w in self._workers]

    def _default_env(self) -> Dict[str, str]:
        if self._thread_env is None:  # measured once: every trial then has the same environment (warm reuse)
            self._thread_env = trial_thread_env(self.slots)
        env = {"PYTHONPATH": self._pythonpath, "PYTHONUNBUFFERED": "1", **self._thread_env}
        if self.settings.trial_gpu_number == 0:
            env.update(cuda_env([]))
        return env

    @staticmethod
    def _env_key(env: Dict[str, str]) -> Tuple[Tuple[str, str], ...]:
        return tuple(sorted(env.items()))

    def _spawn(self, env_key) -> WorkerProcess:
        """Start a worker (caller holds the lock)."""
        cmd_read, cmd_write = os.pipe()
        evt_read, evt_write = os.pipe()
        python = self.settings.python_interpreter or sys.executable
        argv = worker_command(python, ["--commands-fd", str(cmd_read), "--events-fd", str(evt_write),
                                       "--preload", ",".join(self.settings.preload)])
        argv += [] if self.settings.reuse_worker else ["--once"]
        assert self.log_directory is not None
        log_path = self.log_directory / "workers" / f"worker-{time.time_ns()}.log"
        log = open(log_path, "ab")
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    env={**os.environ, **dict(env_key), "PYTHONSAFEPATH": "1"},
                                    pass_fds=(cmd_read, evt_write), start_new_session=True)
        finally:
            log.close()
            os.close(cmd_read)
            os.close(evt_write)
        worker = WorkerProcess(proc, cmd_write, evt_read, env_key, log=str(log_path))
        worker.thread = threading.Thread(target=self._read_worker, args=(worker,), daemon=True,
                                         name=f"nascore-local-worker-{proc.pid}")
        self._workers.append(worker)
        worker.thread.start()
        return worker

    def _evict_idle(self, keep: int) -> None:
        """Kill idle workers (another environment) until at most ``keep`` processes remain."""
        for worker in [w for w in self._workers if w.trial is None]:
            if len(self._workers) <= keep:
                return
            worker.retiring = "evicted"
            worker.kill()
            self._workers.remove(worker)

    def _busy(self) -> set:
        if self.settings.use_active_gpu:
            return set()
        stamp, busy = self._busy_cache
        if time.monotonic() - stamp > 2.0:  # nvidia-smi is slow; the answer changes slowly
            busy = busy_gpus()
            self._busy_cache = (time.monotonic(), busy)
        return busy

    def _stop_trial(self, trial_id: str, status: ModelStatus, reason: str, cooperative: bool = False) -> None:
        with self._lock:
            state = self._trials.get(trial_id)
            worker = next((w for w in self._workers if w.trial is state), None) if state else None
            if worker is None or state is None or state.ended or state.ending is not None:
                return
            state.ending = (status, reason)
            if not cooperative:
                worker.kill()  # the reader thread drains what was reported, then ends the trial
                return
            try:
                os.kill(worker.proc.pid, CANCEL_SIGNAL)  # the worker ends the trial itself; our reason wins
            except ProcessLookupError:
                return  # already gone: its reader delivers the end
        timer = threading.Timer(_CANCEL_GRACE, self._kill_if_running, args=(worker, state))
        timer.daemon = True
        timer.start()

    def _kill_if_running(self, worker: WorkerProcess, state: RunningTrial) -> None:
        with self._lock:
            if worker.trial is state and not state.ended:
                worker.kill()

    def _read_worker(self, worker: WorkerProcess) -> None:
        self._reader.active = True
        buffer = b""
        while True:
            trial = worker.trial
            wait = _POLL
            if trial is not None and trial.deadline is not None:
                left = trial.deadline - time.monotonic()
                if left <= 0 and trial.ending is None:
                    self._stop_trial(trial.request.trial_id, ModelStatus.Failed,
                                     f"exceeded max_trial_duration ({trial.request.timeout:g}s)")
                wait = max(0.0, min(wait, left))
            if trial is not None:
                self._cap_logs(trial)
            readable, _, _ = select.select([worker.events], [], [], wait)
            if readable:
                data = os.read(worker.events, 65536)
                if not data:
                    break
                *lines, buffer = (buffer + data).split(b"\n")
                for line in lines:
                    try:
                        self._handle_line(worker, line)
                    except Exception:  # noqa: BLE001 - a bad line or listener must not kill this thread
                        _logger.exception("local training service: handling %r of worker %d failed",
                                          line[:200], worker.proc.pid)
            elif worker.exited():
                break  # dead, but a grandchild may hold the pipe open: stop waiting for EOF
        worker.kill()  # whatever the trial spawned in the worker's group goes with it
        returncode = worker.proc.wait()
        os.close(worker.events)
        os.close(worker.commands)
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            trial, worker.trial = worker.trial, None
        if trial is not None:
            status, reason = trial.ending or (ModelStatus.Failed, self._death_reason(worker, trial, returncode))
            self._finish(trial, TrialEnd(trial.request.trial_id, status, reason))

    @staticmethod
    def _death_reason(worker: WorkerProcess, trial: RunningTrial, returncode: int) -> str:
        """Why a worker died under its trial: its exit; when the worker failed before the trial's own output
        began (an import error, say), also what it said last, which is in no trial log."""
        said = "" if log_tail(str(trial.logs.stderr)) else log_tail(worker.log)
        return f"{exit_reason(returncode)}; the worker said: {said} (see {worker.log})" if said \
            else exit_reason(returncode)

    def _handle_line(self, worker: WorkerProcess, line: bytes) -> None:
        if not line.strip():
            return
        record = json.loads(line)
        if record.get("event") == "started":
            started = getattr(self._listener, "on_trial_started", None)
            trial = worker.trial
            if callable(started) and trial is not None and record.get("trial_id") == trial.request.trial_id:
                started(record["trial_id"], float(record["time"]), where=f"local (pid {worker.proc.pid})")
            return
        if record.get("event") == "retire":
            worker.retiring = record.get("reason") or "retired"
            return
        event = event_from_json(line)
        trial = worker.trial
        if trial is None or trial.ended or event.trial_id != trial.request.trial_id:
            return
        if isinstance(event, TrialMetric):
            self._listener.on_trial_metric(event)  # type: ignore[union-attr]
            return
        if trial.ending is not None:  # finished just as we killed it: our reason wins
            event = TrialEnd(event.trial_id, *trial.ending)
        with self._lock:
            worker.trial = None
            if worker.retiring is not None or not self.settings.reuse_worker:
                worker.retiring = worker.retiring or "one trial per worker"
                if worker in self._workers:
                    self._workers.remove(worker)
        self._finish(trial, event)

    def _cap_logs(self, trial: RunningTrial) -> None:
        """Keep the trial's logs under ``trial_log_limit_mb`` (checked while it runs and once at its end)."""
        if self.settings.trial_log_limit_mb:
            limit = int(self.settings.trial_log_limit_mb * 1024 * 1024)
            cap_log(trial.logs.stdout, limit)
            cap_log(trial.logs.stderr, limit)

    def _finish(self, trial: RunningTrial, end: TrialEnd) -> None:
        with self._lock:
            if trial.ended:
                return
            trial.ended = True
        self._cap_logs(trial)
        self._deliver_end(end)

    def _deliver_end(self, end: TrialEnd) -> None:
        with self._lock:  # free the slot first: the listener may submit the next trial right away
            self._running -= 1
            if self._gpus is not None:
                self._gpus.release(end.trial_id)
        try:
            self._listener.on_trial_end(end)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - the other trials' threads must go on
            _logger.exception("listener failed on %s", end)


def _shutdown_ref(ref: "weakref.ref[LocalTrainingService]") -> None:
    service = ref()
    if service is not None and service._workers:
        service.shutdown()
