"""The ``remote`` training service: trials on SSH machines through one persistent connection and one agent each.

Placement is in :mod:`.scheduling` (the live machine with the most free room; GPUs through the shared
``GpuScheduler``, skipping GPUs the agent reports as used by others unless ``use_active_gpu``); connections
and agents in :mod:`.lifecycle`. Each machine has a reader thread that delivers the agent's events and, when
the connection drops, reconnects with backoff and asks for the events after the last one seen. Trials the
agent no longer knows (it died with the machine) are re-run on another machine; a machine that stays down
for ``reconnect_timeout`` seconds is taken out of rotation with a warning.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from nascore.space import ModelStatus
from nascore.training_service import (TrainingService, TrialEnd, TrialListener, TrialLogs, TrialMetric,
                                      TrialRequest)
from nascore_remote.config import RemoteConfig
from nascore_remote.lifecycle import ORPHAN_TIMEOUT, bring_up, reattach, remove_agent
from nascore_remote.machine import RemoteMachine, plugin_requirements
from nascore_remote.scheduling import MachineSlot, Placement, TrialState
from nascore_remote.upload import collect_code

__all__ = ["RemoteTrainingService", "ORPHAN_TIMEOUT"]

_logger = logging.getLogger(__name__)


def experiment_owner_key(log_directory: Path) -> str:
    """Names the experiment on the machines (this host + its local directory), the same for every run of it: a
    resumed run's agent retires the agents the killed run left (their trials are re-run; they must not finish
    twice)."""
    where = f"{socket.gethostname()}:{Path(log_directory).resolve()}"
    return hashlib.sha256(where.encode()).hexdigest()[:24]


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
        self._placement = Placement(settings, self.slots)
        self._lock = threading.Lock()
        self._machines: List[MachineSlot] = []
        self._trials: Dict[str, TrialState] = {}
        self._waiting: List[TrialState] = []  # lost with their machine, to be re-run elsewhere
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
        if self.settings.trial_code_directory is None:
            # recorded, so a resume from another working directory uploads the same code
            self.settings.trial_code_directory = os.getcwd()
        code = collect_code(self.settings.trial_code_directory, self.settings.code_excludes,
                            self.settings.code_size_limit_mb)
        machines = [RemoteMachine(i, m, self.run_id, self.settings.connect_timeout)
                    for i, m in enumerate(self.settings.machine_list)]
        owner = experiment_owner_key(self.log_directory)
        for machine in machines:
            machine.owner = f"{owner}-{machine.index}"  # two entries may name one host (other GPUs, say)
            machine.connection.pinned = self.log_directory.parent / "known_hosts"
            machine.send_timeout = self.settings.agent_send_timeout
        hellos = bring_up(machines, code, plugin_requirements(self.config))
        for machine in machines:
            slot = MachineSlot.for_machine(machine, hellos[machine.index])
            slot.reader = threading.Thread(target=self._read, args=(slot,), daemon=True,
                                           name=f"nascore-remote-{machine.address}")
            self._machines.append(slot)
        for slot in self._machines:
            slot.reader.start()  # type: ignore[union-attr]
        _logger.info("remote: %d machine(s) ready, code %s (%d files, %.1f kB)", len(machines), code.digest,
                     len(code.files), code.size / 1e3)

    # ---- capacity / submit ----------------------------------------------------------------------------------------
    def capacity(self) -> int:
        with self._lock:
            if self._closed:
                return 0
            free = self.slots - self._running
            if free <= 0:
                return 0
            if not any(s.alive for s in self._machines):
                return free  # submit() then fails those trials at once, so the experiment can end
            return min(free, sum(self._placement.room(s) for s in self._machines))

    def submit(self, trial: TrialRequest) -> str:
        if self._listener is None:
            raise RuntimeError("call start(listener, log_directory) before submit()")
        state = TrialState(trial)
        with self._lock:
            if self._closed:
                raise RuntimeError("the remote training service is shut down")
            if trial.trial_id in self._trials:
                raise ValueError(f"trial id {trial.trial_id!r} was already submitted")
            if self._running >= self.slots:
                raise RuntimeError(f"no free slot: {self.slots} trial(s) already running; check capacity()")
            self._trials[trial.trial_id] = state
            self._running += 1
            slot = self._placement.choose(self._machines, state)
            if slot is None and any(s.alive for s in self._machines):
                self._running -= 1
                del self._trials[trial.trial_id]
                raise RuntimeError(f"no machine has room for trial {trial.trial_id}; check capacity()")
            message = self._placement.place(state, slot) if slot is not None else None
        if slot is None:
            self._end_async(state, ModelStatus.Failed, "no remote machine left: every machine is out of rotation")
            return trial.trial_id
        self._started(state, slot)
        if not slot.machine.send(message):  # type: ignore[arg-type]
            _logger.debug("remote: submit of %s waits for the reconnect of %s", trial.trial_id, slot.machine.address)
        return trial.trial_id

    def _rerun_waiting(self) -> None:
        """Place trials lost with their machine wherever there is room (or fail them if nothing is left)."""
        sends, failed = [], []
        with self._lock:
            if self._closed:
                return
            for state in list(self._waiting):
                slot = self._placement.choose(self._machines, state)
                if slot is None and any(s.alive for s in self._machines):
                    continue
                self._waiting.remove(state)
                if slot is None:
                    failed.append(state)
                else:
                    state.attempt += 1  # its metrics are kept apart from the dead run's (attempt number)
                    sends.append((slot, state, self._placement.place(state, slot)))
        for slot, state, message in sends:
            _logger.warning("remote: re-running trial %s on %s", message["trial_id"], slot.machine.address)
            self._started(state, slot)
            slot.machine.send(message)
        for state in failed:
            self._end(state, ModelStatus.Failed, "its machine went down and no remote machine is left to re-run it")

    def _started(self, state: TrialState, slot: MachineSlot) -> None:
        """Tell the listener which machine runs the trial (``user@host:port``, never a password)."""
        started = getattr(self._listener, "on_trial_started", None)
        if callable(started):
            started(state.request.trial_id, time.time(), where=slot.machine.address)

    # ---- events -------------------------------------------------------------------------------------------------
    def _read(self, slot: MachineSlot) -> None:
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
            elif message.get("reply") == "error":  # the agent refused what we sent and hangs up: we reconnect
                _logger.error("remote: the agent on %s refused a message: %s", machine.address, message.get("error"))
            elif "busy_gpus" in message:  # the GPUs others use changed: room may have changed too
                with self._lock:
                    slot.update_busy(message)

    def _on_event(self, slot: MachineSlot, event: Dict[str, Any], seq: int) -> None:
        with self._lock:
            state = slot.trials.get(event.get("trial_id", ""))
        if state is None or state.ended:
            return
        if event["event"] == "metric":
            if event["kind"] == "intermediate":
                state.intermediates += 1
            elif state.final_sent:
                return
            else:
                state.final_sent = True
            self._listener.on_trial_metric(  # type: ignore[union-attr]
                TrialMetric(state.request.trial_id, event["kind"], event["metric"], state.attempt))
        elif event["event"] == "end":
            if self.log_directory is not None:
                try:
                    slot.machine.save_logs(event, state.remote_id, self.log_directory / state.request.trial_id)
                except Exception as exc:  # noqa: BLE001 - losing a log must not lose the result
                    _logger.warning("remote: could not fetch logs of %s from %s: %s", state.request.trial_id,
                                    slot.machine.address, exc)
            for remote, local in state.weights:  # trained weights come home before the trial counts as ended
                try:
                    slot.machine.fetch_file(remote, local)
                except FileNotFoundError:
                    pass  # the trial failed before saving them
                except Exception as exc:  # noqa: BLE001 - the result stands without its weights
                    _logger.warning("remote: could not fetch the weights of %s from %s: %s",
                                    state.request.trial_id, slot.machine.address, exc)
            slot.machine.send({"op": "ack", "seq": seq})
            self._end(state, ModelStatus(event["status"]), event.get("reason"))

    def _end(self, state: TrialState, status: ModelStatus, reason: Optional[str]) -> None:
        with self._lock:  # free the slot first: the listener may submit the next trial right away
            if state.ended:
                return
            state.ended = True
            self._placement.unplace(state)
            self._running -= 1
        self._listener.on_trial_end(TrialEnd(state.request.trial_id, status, reason))  # type: ignore[union-attr]
        self._rerun_waiting()

    def _end_async(self, state: TrialState, status: ModelStatus, reason: str) -> None:
        # not from inside submit(): the caller may hold its own lock while submitting
        threading.Thread(target=self._end, args=(state, status, reason), daemon=True).start()

    # ---- faults ---------------------------------------------------------------------------------------------------
    def _reconnect(self, slot: MachineSlot) -> bool:
        machine = slot.machine
        _logger.warning("remote: lost the connection to %s; reconnecting", machine.address)
        reply, error = reattach(machine, slot.last_seq, self.settings.reconnect_timeout, lambda: self._closed)
        if self._closed:
            return False
        if reply is not None:
            known = set(reply.get("known", []))
            if reply.get("instance") != slot.instance:  # a new agent numbers its events from 1 again
                slot.instance, slot.last_seq = reply.get("instance"), 0
            with self._lock:
                slot.update_busy(reply)
                lost = [t for rid, t in slot.trials.items() if rid not in known]
                for state in lost:
                    self._placement.unplace(state)
                self._waiting.extend(lost)
            if lost:  # a crashed agent left its log (traceback included) where the new one could name it
                log = reply.get("crash_log")
                crashed = f" (an earlier agent there crashed: see {log})" if log else ""
                _logger.warning("remote: the agent on %s lost %d trial(s)%s; re-running them", machine.address,
                                len(lost), crashed)
            slot.reconnects += 1
            _logger.warning("remote: reconnected to %s", machine.address)
            self._rerun_waiting()
            return True
        with self._lock:
            slot.alive = False
            lost = list(slot.trials.values())
            for state in lost:
                self._placement.unplace(state)
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
            if state in self._waiting:
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
            remove_agent(slot.machine, wait=slot.reader)
        for state in pending:
            self._end(state, ModelStatus.Interrupted, "training service shut down")

    def log_paths(self, trial_id: str) -> TrialLogs:
        if self.log_directory is None:
            raise RuntimeError("the service has not started; no log directory yet")
        trial_dir = self.log_directory / trial_id
        return TrialLogs(trial_dir / "stdout.log", trial_dir / "stderr.log")

    def machine_status(self) -> List[Dict[str, Any]]:
        """One dict per machine: address, alive, reconnects, running trial ids and the GPUs others use (for
        tests and dashboards)."""
        with self._lock:
            return [{"address": s.machine.address, "alive": s.alive, "reconnects": s.reconnects,
                     "running": sorted(s.trials), "busy_gpus": sorted(s.busy)}
                    for s in self._machines]
