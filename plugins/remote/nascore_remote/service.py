"""The ``remote`` training service: trials on SSH machines through one persistent connection and one agent each.

Scheduling: a trial goes to the live machine with the most free room (GPU slots from ``gpu_indices`` and
``max_trial_number_per_gpu`` through the shared :class:`~nascore_training_service.GpuScheduler`; machines
without GPUs count running trials). Each machine has a reader thread that delivers the agent's events and,
when the connection drops, reconnects with backoff and asks for the events after the last one seen. Trials
the agent no longer knows (it died with the machine) are re-run on another machine; a machine that stays
down for ``reconnect_timeout`` seconds is taken out of rotation with a warning.
"""
from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from nascore.space import ModelStatus
from nascore.training_service import (TrainingService, TrialEnd, TrialListener, TrialLogs, TrialMetric,
                                      TrialRequest)
from nascore_remote.config import RemoteConfig
from nascore_remote.connection import RemoteError
from nascore_remote.machine import RemoteMachine, _LazyArchive, plugin_requirements, trial_dir_name
from nascore_remote.upload import collect_code
from nascore_training_service.gpu import GpuScheduler, cuda_env

__all__ = ["RemoteTrainingService"]

_logger = logging.getLogger(__name__)

#: how long a detached agent waits for its client to come back before it stops its trials and exits
ORPHAN_TIMEOUT = 600.0


@dataclass
class _Trial:
    request: TrialRequest
    machine: Optional["_Slot"] = None
    remote_id: str = ""
    attempt: int = 0
    gpus: Optional[List[int]] = None
    intermediates: int = 0  # delivered so far: a re-run skips that many, so none is reported twice
    skip: int = 0
    final_sent: bool = False
    ended: bool = False


@dataclass
class _Slot:
    """Scheduling state of one machine."""

    machine: RemoteMachine
    gpus: Optional[GpuScheduler]
    alive: bool = True
    last_seq: int = 0
    instance: Optional[str] = None  # the agent process whose sequence numbers last_seq counts
    reconnects: int = 0
    trials: Dict[str, _Trial] = field(default_factory=dict)  # remote id -> trial
    reader: Optional[threading.Thread] = None


class RemoteTrainingService(TrainingService):
    def __init__(self, config: Any = None) -> None:
        settings = getattr(config, "training_service", None)
        if not isinstance(settings, RemoteConfig):
            raise TypeError("RemoteTrainingService needs an experiment config whose training_service is "
                            "'remote' (NasExperimentConfig('ts', 'simplified', 'remote'))")
        self.config = config
        self.settings = settings
        self.slots = int(getattr(config, "trial_concurrency", 1) or 1)
        self.run_id = uuid.uuid4().hex[:10]
        self._lock = threading.Lock()
        self._machines: List[_Slot] = []
        self._trials: Dict[str, _Trial] = {}
        self._waiting: List[_Trial] = []  # lost with their machine, to be re-run elsewhere
        self._running = 0
        self._closed = False
        self._listener: Optional[TrialListener] = None
        self.log_directory: Optional[Path] = None

    # ---- start ------------------------------------------------------------------------------------------------
    def start(self, listener: TrialListener, log_directory: Path) -> None:
        self.settings.check(self.config)  # static problems first, without touching the network
        self._listener = listener
        self.log_directory = Path(log_directory)
        self.log_directory.mkdir(parents=True, exist_ok=True)
        code = collect_code(self.settings.trial_code_directory or os.getcwd(), self.settings.code_excludes,
                            self.settings.code_size_limit_mb)
        archive = _LazyArchive(code)
        plugins = plugin_requirements(self.config)
        machines = [RemoteMachine(i, m, self.run_id, self.settings.connect_timeout)
                    for i, m in enumerate(self.settings.machine_list)]

        def bring_up(machine: RemoteMachine) -> Dict[str, Any]:
            machine.connect()
            machine.prepare(code, plugins, archive)
            return machine.attach(0, ORPHAN_TIMEOUT)

        with concurrent.futures.ThreadPoolExecutor(len(machines)) as pool:
            futures = [pool.submit(bring_up, m) for m in machines]
            errors = [f.exception() for f in futures]
        hellos = {m.index: f.result() for m, f in zip(machines, futures) if f.exception() is None}
        problems = [str(e) for e in errors if e is not None]
        if problems:
            for machine in machines:
                self._remove_agent(machine)
            raise RemoteError("training service 'remote' cannot use every machine:\n  " + "\n  ".join(problems))
        for machine in machines:
            cfg = machine.config
            gpus = GpuScheduler(cfg.gpu_indices, cfg.max_trial_number_per_gpu, cfg.use_active_gpu) \
                if cfg.gpu_indices else None
            slot = _Slot(machine, gpus, instance=hellos[machine.index].get("instance"))
            slot.reader = threading.Thread(target=self._read, args=(slot,), daemon=True,
                                           name=f"nascore-remote-{machine.address}")
            self._machines.append(slot)
        for slot in self._machines:
            slot.reader.start()  # type: ignore[union-attr]
        _logger.info("remote: %d machine(s) ready, code %s (%d files, %.1f kB)", len(machines), code.digest,
                     len(code.files), code.size / 1e3)

    # ---- scheduling ----------------------------------------------------------------------------------------------
    def _gpu_number(self, trial: _Trial, slot: _Slot) -> Optional[int]:
        number = trial.request.gpu_number
        if number is None:
            number = self.settings.trial_gpu_number
        if number is not None and number < 0:  # -1: every GPU of the machine
            return len(slot.gpus.gpu_indices) if slot.gpus else 0
        if number is None and slot.gpus is not None:
            return 1
        return number

    def _room(self, slot: _Slot, trial: Optional[_Trial] = None) -> int:
        if not slot.alive:
            return 0
        probe = trial or _Trial(TrialRequest("", {}))
        number = self._gpu_number(probe, slot)
        if number and slot.gpus is not None:
            if number > len(slot.gpus.gpu_indices):
                return 0
            return slot.gpus.free_slots(number)
        if number and slot.gpus is None:
            return 0  # asks for GPUs, the machine lists none
        return max(0, self.slots - len(slot.trials))

    def _choose(self, trial: _Trial) -> Optional[_Slot]:
        rooms = [(self._room(s, trial), -len(s.trials), -i, s) for i, s in enumerate(self._machines)]
        rooms = [r for r in rooms if r[0] > 0]
        return max(rooms, key=lambda r: r[:3])[3] if rooms else None

    def capacity(self) -> int:
        with self._lock:
            if self._closed:
                return 0
            free = self.slots - self._running
            if free <= 0:
                return 0
            if not any(s.alive for s in self._machines):
                return free  # submit() then fails those trials at once, so the experiment can end
            return min(free, sum(self._room(s) for s in self._machines))

    def submit(self, trial: TrialRequest) -> str:
        if self._listener is None:
            raise RuntimeError("call start(listener, log_directory) before submit()")
        state = _Trial(trial)
        with self._lock:
            if self._closed:
                raise RuntimeError("the remote training service is shut down")
            if trial.trial_id in self._trials:
                raise ValueError(f"trial id {trial.trial_id!r} was already submitted")
            if self._running >= self.slots:
                raise RuntimeError(f"no free slot: {self.slots} trial(s) already running; check capacity()")
            self._trials[trial.trial_id] = state
            self._running += 1
            slot = self._choose(state)
            if slot is None and any(s.alive for s in self._machines):
                self._running -= 1
                del self._trials[trial.trial_id]
                raise RuntimeError(f"no machine has room for trial {trial.trial_id}; check capacity()")
            message = self._place(state, slot) if slot is not None else None
        if slot is None:
            self._end_async(state, ModelStatus.Failed, "no remote machine left: every machine is out of rotation")
        elif not slot.machine.send(message):  # type: ignore[arg-type]
            _logger.debug("remote: submit of %s waits for the reconnect of %s", trial.trial_id, slot.machine.address)
        return trial.trial_id

    def _place(self, state: _Trial, slot: _Slot) -> Dict[str, Any]:
        """Assign ``state`` to ``slot`` (lock held) and return the submit message."""
        number = self._gpu_number(state, slot)
        env = dict(state.request.env)
        if number and slot.gpus is not None:
            state.gpus = slot.gpus.acquire(state.request.trial_id, number)
            env.update(cuda_env(state.gpus))
        elif number == 0:
            env.update(cuda_env([]))
        state.machine = slot
        state.remote_id = state.request.trial_id if state.attempt == 0 else \
            f"{state.request.trial_id}.retry{state.attempt}"
        slot.trials[state.remote_id] = state
        return {"op": "submit", "trial_id": state.remote_id, "payload": state.request.payload, "env": env,
                "timeout": state.request.timeout}

    def _unplace(self, state: _Trial) -> None:
        slot = state.machine
        if slot is not None:
            slot.trials.pop(state.remote_id, None)
            if slot.gpus is not None:
                slot.gpus.release(state.request.trial_id)
        state.machine = None

    def _rerun_waiting(self) -> None:
        """Place trials lost with their machine wherever there is room (or fail them if nothing is left)."""
        sends, failed = [], []
        with self._lock:
            if self._closed:
                return
            for state in list(self._waiting):
                slot = self._choose(state)
                if slot is None and any(s.alive for s in self._machines):
                    continue
                self._waiting.remove(state)
                if slot is None:
                    failed.append(state)
                else:
                    state.attempt += 1
                    state.skip = state.intermediates
                    sends.append((slot, self._place(state, slot)))
        for slot, message in sends:
            _logger.warning("remote: re-running trial %s on %s", message["trial_id"], slot.machine.address)
            slot.machine.send(message)
        for state in failed:
            self._end(state, ModelStatus.Failed, "its machine went down and no remote machine is left to re-run it")

    # ---- events -------------------------------------------------------------------------------------------------
    def _read(self, slot: _Slot) -> None:
        machine = slot.machine
        while True:
            message = machine.receive()
            if message is None:
                if self._closed or not self._reconnect(slot):
                    return
                continue
            if "seq" in message:
                if message["seq"] <= slot.last_seq:
                    continue  # already delivered before the reconnect
                slot.last_seq = message["seq"]
                self._on_event(slot, message["event"], message["seq"])

    def _on_event(self, slot: _Slot, event: Dict[str, Any], seq: int) -> None:
        with self._lock:
            state = slot.trials.get(event.get("trial_id", ""))
        if state is None or state.ended:
            return
        if event["event"] == "metric":
            if event["kind"] == "intermediate":
                if state.skip > 0:
                    state.skip -= 1
                    return
                state.intermediates += 1
            elif state.final_sent:
                return
            else:
                state.final_sent = True
            self._listener.on_trial_metric(  # type: ignore[union-attr]
                TrialMetric(state.request.trial_id, event["kind"], event["metric"]))
        elif event["event"] == "end":
            if self.log_directory is not None:
                try:
                    local_dir = self.log_directory / state.request.trial_id
                    if isinstance(event.get("logs"), dict):
                        local_dir.mkdir(parents=True, exist_ok=True)
                        for name, text in event["logs"].items():
                            (local_dir / f"{name}.log").write_text(text)
                    else:
                        slot.machine.fetch_logs(state.remote_id, local_dir, trial_dir_name(state.remote_id))
                except Exception as exc:  # noqa: BLE001 - losing a log must not lose the result
                    _logger.warning("remote: could not fetch logs of %s from %s: %s", state.request.trial_id,
                                    slot.machine.address, exc)
            slot.machine.send({"op": "ack", "seq": seq})
            self._end(state, ModelStatus(event["status"]), event.get("reason"))

    def _end(self, state: _Trial, status: ModelStatus, reason: Optional[str]) -> None:
        with self._lock:  # free the slot first: the listener may submit the next trial right away
            if state.ended:
                return
            state.ended = True
            self._unplace(state)
            self._running -= 1
        self._listener.on_trial_end(TrialEnd(state.request.trial_id, status, reason))  # type: ignore[union-attr]
        self._rerun_waiting()

    def _end_async(self, state: _Trial, status: ModelStatus, reason: str) -> None:
        # not from inside submit(): the caller may hold its own lock while submitting
        threading.Thread(target=self._end, args=(state, status, reason), daemon=True).start()

    # ---- faults ---------------------------------------------------------------------------------------------------
    def _reconnect(self, slot: _Slot) -> bool:
        machine = slot.machine
        _logger.warning("remote: lost the connection to %s; reconnecting", machine.address)
        deadline = time.monotonic() + self.settings.reconnect_timeout
        delay = 0.1
        error: Optional[BaseException] = None
        while not self._closed and time.monotonic() < deadline:
            try:
                machine.connect()
                reply = machine.attach(slot.last_seq, ORPHAN_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 - every failure means: try again later
                error = exc
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 5.0)
                continue
            known = set(reply.get("known", []))
            if reply.get("instance") != slot.instance:  # a new agent numbers its events from 1 again
                slot.instance, slot.last_seq = reply.get("instance"), 0
            with self._lock:
                lost = [t for rid, t in slot.trials.items() if rid not in known]
                for state in lost:
                    self._unplace(state)
                self._waiting.extend(lost)
            if lost:
                _logger.warning("remote: the agent on %s lost %d trial(s); re-running them", machine.address,
                                len(lost))
            slot.reconnects += 1
            _logger.warning("remote: reconnected to %s", machine.address)
            self._rerun_waiting()
            return True
        if self._closed:
            return False
        with self._lock:
            slot.alive = False
            lost = list(slot.trials.values())
            for state in lost:
                self._unplace(state)
            self._waiting.extend(lost)
        _logger.warning("remote: %s stays unreachable (%s); taking it out of rotation, %d trial(s) move to other "
                        "machines", machine.address, error, len(lost))
        machine.close()
        self._rerun_waiting()
        return False

    # ---- cancel / shutdown / logs -------------------------------------------------------------------------------
    def cancel(self, trial_id: str, reason: str = "cancelled") -> None:
        with self._lock:
            state = self._trials.get(trial_id)
            if state is None or state.ended:
                return
            slot = state.machine
            waiting = state in self._waiting
            if waiting:
                self._waiting.remove(state)
        if slot is not None and slot.machine.send({"op": "cancel", "trial_id": state.remote_id, "reason": reason}):
            return
        self._end(state, ModelStatus.Interrupted, reason)  # nowhere to cancel it: it is not running

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            pending = [t for t in self._trials.values() if not t.ended]
        for slot in self._machines:
            self._remove_agent(slot.machine, wait=slot.reader)
        for state in pending:
            self._end(state, ModelStatus.Interrupted, "training service shut down")

    def _remove_agent(self, machine: RemoteMachine, wait: Optional[threading.Thread] = None) -> None:
        """Ask the agent to kill its trials and remove itself, wait until it hung up, close the connection."""
        if machine.send({"op": "shutdown"}) and wait is not None and wait is not threading.current_thread():
            wait.join(timeout=10)  # the reader returns when the agent closes the channel
        elif machine.channel is not None and wait is None:
            while machine.receive() is not None:  # no reader thread yet: drain until the agent hangs up
                pass
        machine.close()

    def log_paths(self, trial_id: str) -> TrialLogs:
        if self.log_directory is None:
            raise RuntimeError("the service has not started; no log directory yet")
        trial_dir = self.log_directory / trial_id
        return TrialLogs(trial_dir / "stdout.log", trial_dir / "stderr.log")

    def machine_status(self) -> List[Dict[str, Any]]:
        """One dict per machine: address, alive, reconnects, running trial ids (for tests and dashboards)."""
        with self._lock:
            return [{"address": s.machine.address, "alive": s.alive, "reconnects": s.reconnects,
                     "running": sorted(s.trials)}
                    for s in self._machines]
