"""Which machine a trial goes to and which GPUs it gets there (no I/O; the service holds its lock).

A trial goes to the live machine with the most free room: GPU slots from ``gpu_indices`` and
``max_trial_number_per_gpu`` through the shared :class:`~nascore_training_service.gpu.GpuScheduler` (GPUs
that the machine's agent reports as used by others are skipped unless ``use_active_gpu``); machines without
GPUs count running trials against ``trial_concurrency``. Each trial gets the machine's cores split between the
trials that may run there at once (``threads`` in the submit; the agent applies it unless the user set
OMP_NUM_THREADS/MKL_NUM_THREADS in the trial's env or the login environment).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Set

from nascore.training_service import TrialRequest
from nascore_remote.config import RemoteConfig
from nascore_remote.machine import RemoteMachine, trial_dir_name
from nascore_training_service.gpu import GpuScheduler, cuda_env

__all__ = ["TrialState", "MachineSlot", "Placement"]


@dataclass
class TrialState:
    request: TrialRequest
    machine: Optional["MachineSlot"] = None
    remote_id: str = ""
    attempt: int = 0
    gpus: Optional[List[int]] = None
    intermediates: int = 0  # delivered so far (this attempt's and earlier ones')
    final_sent: bool = False
    ended: bool = False
    #: (path on the machine, path here) of each weights file the trial saves: copied back when it ends
    weights: List[tuple] = field(default_factory=list)


@dataclass
class MachineSlot:
    """Scheduling state of one machine."""

    machine: RemoteMachine
    gpus: Optional[GpuScheduler]
    alive: bool = True
    last_seq: int = 0
    instance: Optional[str] = None  # the agent process whose sequence numbers last_seq counts
    reconnects: int = 0
    trials: Dict[str, TrialState] = field(default_factory=dict)  # remote id -> trial
    busy: Set[int] = field(default_factory=set)  # GPUs that others use, as the agent last reported
    reader: Optional[threading.Thread] = None
    cpus: int = 1  # the machine's cores, as its agent reports them

    @classmethod
    def for_machine(cls, machine: RemoteMachine, hello: Dict[str, Any]) -> "MachineSlot":
        cfg = machine.config
        gpus = GpuScheduler(cfg.gpu_indices, cfg.max_trial_number_per_gpu, cfg.use_active_gpu) \
            if cfg.gpu_indices else None
        slot = cls(machine, gpus, instance=hello.get("instance"), cpus=int(hello.get("cpus") or 1))
        slot.update_busy(hello)
        return slot

    def update_busy(self, message: Dict[str, Any]) -> None:
        """Take ``busy_gpus`` from an agent message that has it (hello replies and GPU state pushes)."""
        if "busy_gpus" in message:
            self.busy = {int(i) for i in message["busy_gpus"]}


class Placement:
    """Room on machines and the placement of trials; every method expects the caller to hold its lock."""

    def __init__(self, settings: RemoteConfig, slots: int):
        self.settings = settings
        self.slots = slots  # trial_concurrency: also the most trials one machine without GPUs runs

    def gpu_number(self, trial: TrialState, slot: MachineSlot) -> Optional[int]:
        number = trial.request.gpu_number
        if number is None:
            number = self.settings.trial_gpu_number
        if number is not None and number < 0:  # -1: every GPU of the machine
            return len(slot.gpus.gpu_indices) if slot.gpus else 0
        if number is None and slot.gpus is not None:
            return 1
        return number

    def room(self, slot: MachineSlot, trial: Optional[TrialState] = None) -> int:
        """How many more trials like ``trial`` (default: a plain one) ``slot`` would start now."""
        if not slot.alive:
            return 0
        probe = trial or TrialState(TrialRequest("", {}))
        number = self.gpu_number(probe, slot)
        if number and slot.gpus is not None:
            if number > len(slot.gpus.gpu_indices):
                return 0
            return slot.gpus.free_slots(number, slot.busy)
        if number and slot.gpus is None:
            return 0  # asks for GPUs, the machine lists none
        return max(0, self.slots - len(slot.trials))

    def threads(self, slot: MachineSlot) -> int:
        """Intra-op threads per trial on ``slot``: its cores over the most trials it runs at once (plain ones)."""
        at_once = self.slots
        number = self.gpu_number(TrialState(TrialRequest("", {})), slot)
        if number and slot.gpus is not None:
            at_once = min(at_once, len(slot.gpus.gpu_indices) * slot.gpus.max_trial_number_per_gpu // number)
        return max(1, slot.cpus // max(1, at_once))

    def choose(self, machines: Sequence[MachineSlot], trial: TrialState) -> Optional[MachineSlot]:
        """The machine with the most room for ``trial`` (ties: fewer trials, then listed first)."""
        rooms = [(self.room(s, trial), -len(s.trials), -i, s) for i, s in enumerate(machines)]
        rooms = [r for r in rooms if r[0] > 0]
        return max(rooms, key=lambda r: r[:3])[3] if rooms else None

    def place(self, state: TrialState, slot: MachineSlot) -> Dict[str, Any]:
        """Assign ``state`` to ``slot`` (chosen by :meth:`choose`) and return the submit message."""
        number = self.gpu_number(state, slot)
        env = dict(state.request.env)
        if number and slot.gpus is not None:
            state.gpus = slot.gpus.acquire(state.request.trial_id, number, slot.busy)
            env.update(cuda_env(state.gpus))
        elif number == 0:
            env.update(cuda_env([]))
        state.machine = slot
        state.remote_id = state.request.trial_id if state.attempt == 0 else \
            f"{state.request.trial_id}.retry{state.attempt}"
        slot.trials[state.remote_id] = state
        folder = f"{slot.machine.run_dir}/trials/{trial_dir_name(state.remote_id)}"
        payload, state.weights = remote_weights(state.request.payload, folder)
        return {"op": "submit", "trial_id": state.remote_id, "payload": payload, "env": env,
                "threads": self.threads(slot), "timeout": state.request.timeout,
                "log_limit": int((self.settings.trial_log_limit_mb or 0) * 1024 * 1024) or None}

    @staticmethod
    def unplace(state: TrialState) -> None:
        slot = state.machine
        if slot is not None:
            slot.trials.pop(state.remote_id, None)
            if slot.gpus is not None:
                slot.gpus.release(state.request.trial_id)
        state.machine = None


def remote_weights(payload: Any, folder: str) -> tuple:
    """``payload`` with each ``weights_path`` (a path on this machine, where the experiment keeps the trained
    weights; a merged CGO payload has one per model) replaced by a file in the trial's ``folder`` on the remote
    machine, and the ``(remote, local)`` pairs to copy back when the trial ends."""
    pairs: List[tuple] = []

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: walk(v) for k, v in value.items()}
        local = value.get("weights_path")
        if isinstance(local, str) and local:
            remote = f"{folder}/weights_{len(pairs)}.pt"
            pairs.append((remote, local))
            out["weights_path"] = remote
        return out
    return walk(payload), pairs
