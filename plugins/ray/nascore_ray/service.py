"""The ``ray`` training service: trials in warm actors on a Ray cluster, for the ``ts`` engine.

One *slot* per trial that may run at once (``trial_concurrency``, by default what the cluster fits). Each slot has
a thread and an actor (:class:`~nascore_ray.actor.TrialActor`, holding the trial's Ray resources); a slot takes
trials from one queue only once its actor is running, so a slot whose actor cannot be placed (its node died and
nothing else has room) never holds a trial back. The thread streams the trial's events from the actor's
streaming generator to the listener as they come.

Faults: the actor of a trial that overran ``max_trial_duration``, was cancelled or was shut down is killed
(``ray.kill``) and the trial ends with that reason. An actor that died on its own is told apart by asking its node
(a zero-CPU task pinned there): the node answers -> the trial's process crashed (reason from its stderr); the node
is gone -> the trial goes back to the head of the queue and re-runs elsewhere, up to
``max_node_failures_per_trial`` times, and the intermediate metrics the earlier attempt already delivered are not
delivered again (nor a second final metric).
"""
from __future__ import annotations

import atexit
import collections
import json
import logging
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional

from nascore.experiment.config import ConfigError
from nascore.space import ModelStatus
from nascore.training_service import (TrainingService, TrialEnd, TrialListener, TrialLogs, TrialMetric,
                                      TrialRequest, event_from_json)
from nascore_ray.actor import LOG_TOKEN_FILE, TrialActor, crash_reason, read_node_logs
from nascore_ray.cluster import Connection, cluster_summary, connect, fitting_trials, node_answers
from nascore_ray.code import runtime_env, stage_code
from nascore_ray.config import RayConfig
from nascore_ray.trials import RunningTrial, Slot

__all__ = ["RayTrainingService"]

_logger = logging.getLogger(__name__)
_JOIN_TIMEOUT = 10.0  # seconds shutdown() waits for slot threads to deliver what the killed trials reported
_CANCEL_GRACE = 3.0  # seconds a cancelled trial gets to end at a report in its (kept) actor before the actor is killed


class RayTrainingService(TrainingService):
    def __init__(self, config: Any = None) -> None:
        settings = getattr(config, "training_service", None)
        self.config = config
        self.settings: RayConfig = settings if isinstance(settings, RayConfig) else RayConfig()
        self._explicit_slots = ("trial_concurrency" in getattr(config, "model_fields_set", set())
                                or not self.settings.resources())
        self.slots: int = int(getattr(config, "trial_concurrency", 1) or 1)
        self.run_id = uuid.uuid4().hex[:12]
        self._token = uuid.uuid4().hex
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: Deque[RunningTrial] = collections.deque()
        self._trials: Dict[str, RunningTrial] = {}
        self._slots: List[Slot] = []
        self._running = 0  # submitted and not ended (queued included)
        self._closed = False
        self._listener: Optional[TrialListener] = None
        self._connection: Optional[Connection] = None
        self.log_directory: Optional[Path] = None
        self.node_failures = 0  # trials re-run because their node died (for tests and reports)
        atexit.register(_shutdown_ref, weakref.ref(self))

    # ---- TrainingService ------------------------------------------------------------------------------------
    def start(self, listener: TrialListener, log_directory: Path) -> None:
        self.settings.check(self.config)
        self._listener = listener
        self.log_directory = Path(log_directory)
        self.log_directory.mkdir(parents=True, exist_ok=True)
        (self.log_directory / LOG_TOKEN_FILE).write_text(self._token)
        code = stage_code(self.settings)  # a tree over the size limit fails before anything starts
        # The code travels as the job's working_dir (Ray uploads local directories only at the job level).
        self._connection = connect(self.settings, runtime_env(self.settings, code, {"PYTHONUNBUFFERED": "1"}))
        try:
            self._prepare(code)
        except BaseException:
            self._connection.close()
            raise
        for slot in self._slots:
            slot.thread = threading.Thread(target=self._slot_loop, args=(slot,), daemon=True,
                                           name=f"nascore-ray-slot-{slot.index}")
            slot.thread.start()

    def _prepare(self, code) -> None:
        import ray
        request = self.settings.resources()
        fit = fitting_trials(request) if request else self.slots
        if fit == 0:
            raise ConfigError(f"training service 'ray': no node of the cluster fits one trial's request {request} "
                              f"(nodes: {cluster_summary()}); lower trial_cpus / trial_gpus / trial_resources or "
                              "add nodes")
        if not self._explicit_slots:
            self.slots = fit
        elif self.slots > fit:
            _logger.warning("ray: trial_concurrency=%d but the cluster fits %d trial(s) of %s now; the other "
                            "actors wait for resources", self.slots, fit, request)
        self._actor_class = ray.remote(TrialActor).options(
            num_cpus=self.settings.trial_cpus, num_gpus=self.settings.trial_gpus,
            resources=dict(self.settings.trial_resources) or None, max_restarts=0, max_task_retries=0,
            max_concurrency=2)  # a cancel reaches the actor while its trial streams
        self._read_logs = ray.remote(read_node_logs)
        self._slots = [Slot(i) for i in range(self.slots)]
        _logger.info("ray: %d trial slot(s) of %s on %s; code %s (%d files)", self.slots, request or "{}",
                     cluster_summary(), code.digest, len(code.files))

    def capacity(self) -> int:
        with self._lock:
            return 0 if self._closed else max(0, self.slots - self._running)

    def submit(self, trial: TrialRequest) -> str:
        if self._listener is None or self.log_directory is None:
            raise RuntimeError("call start(listener, log_directory) before submit()")
        directory = self.log_directory / trial.trial_id
        directory.mkdir(parents=True, exist_ok=True)
        state = RunningTrial(trial, directory, json.dumps(trial.payload))
        with self._lock:
            if self._closed:
                raise RuntimeError("the ray training service is shut down")
            if trial.trial_id in self._trials:
                raise ValueError(f"trial id {trial.trial_id!r} was already submitted")
            if self._running >= self.slots:
                raise RuntimeError(f"no free slot: {self.slots} trial(s) already running; check capacity()")
            self._trials[trial.trial_id] = state
            self._running += 1
            self._queue.append(state)
            self._wake.notify_all()
        return trial.trial_id

    def cancel(self, trial_id: str, reason: str = "cancelled") -> None:
        self._stop(trial_id, ModelStatus.Interrupted, reason)

    def shutdown(self) -> None:
        with self._lock:
            if self._closed and self._connection is None:
                return
            self._closed = True
            queued, self._queue = list(self._queue), collections.deque()
            running = [s for s in self._slots if s.trial is not None]
            for slot in running:
                if slot.trial is not None and slot.trial.ending is None:
                    slot.trial.ending = (ModelStatus.Interrupted, "training service shut down")
            self._wake.notify_all()
        for state in queued:
            self._finish(state, TrialEnd(state.request.trial_id, ModelStatus.Interrupted,
                                         "training service shut down"))
        for slot in self._slots:
            self._kill(slot)
        me = threading.current_thread()
        deadline = time.monotonic() + _JOIN_TIMEOUT
        for slot in self._slots:
            if slot.thread is not None and slot.thread is not me:
                slot.thread.join(max(0.0, deadline - time.monotonic()))
        for state in list(self._trials.values()):  # a slot thread that is stuck (or is us): end its trial here
            if not state.ended:
                self._finish(state, TrialEnd(state.request.trial_id, *(state.ending or (
                    ModelStatus.Interrupted, "training service shut down"))))
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def log_paths(self, trial_id: str) -> TrialLogs:
        if self.log_directory is None:
            raise RuntimeError("the service has not started; no log directory yet")
        directory = self.log_directory / trial_id
        return TrialLogs(directory / "stdout.log", directory / "stderr.log")

    def actor_info(self) -> List[Optional[Dict[str, Any]]]:
        """Per slot: node id, pid and GPU ids of its live actor (None while it has none)."""
        with self._lock:
            return [dict(s.info) if s.info and s.actor is not None else None for s in self._slots]

    # ---- slots ------------------------------------------------------------------------------------------------
    def _slot_loop(self, slot: Slot) -> None:
        while not self._closed:
            try:
                if slot.actor is None and not self._start_actor(slot):
                    continue
                state = self._next_trial()
                if state is None:
                    break
                self._run(slot, state)
            except Exception:  # noqa: BLE001 - a slot thread must not die silently while trials wait for it
                if self._closed:
                    break
                _logger.exception("ray: slot %d failed; restarting its actor", slot.index)
                self._kill(slot)
                state = slot.trial
                if state is not None and not state.ended:
                    self._finish(state, TrialEnd(state.request.trial_id, ModelStatus.Failed,
                                                 "nascore-ray failed while running the trial (see the log)"))
        self._kill(slot)

    def _start_actor(self, slot: Slot) -> bool:
        """Start the slot's actor and wait until it runs; on an error that would repeat (runtime_env, import
        failure) the next queued trial fails with it, so a broken set-up ends trials instead of hanging them."""
        import ray
        from ray.exceptions import GetTimeoutError
        actor = self._actor_class.remote(list(self.settings.preload), str(self.log_directory), self._token,
                                         self.run_id)
        with self._lock:
            slot.actor, slot.info = actor, None
        ready = actor.ready.remote()
        while True:
            if self._closed:
                return False
            try:
                info = ray.get(ready, timeout=1.0)
                break
            except GetTimeoutError:
                continue  # pending: no node has room for it yet
            except Exception as exc:  # noqa: BLE001 - RuntimeEnvSetupError, RayActorError...
                self._kill(slot)
                state = self._next_trial()
                if state is not None:
                    self._finish(state, TrialEnd(state.request.trial_id, ModelStatus.Failed,
                                                 f"could not start a Ray trial actor: {type(exc).__name__}: "
                                                 f"{str(exc)[:1500]}"))
                return False
        if info["preload_errors"]:
            _logger.warning("ray: actor on node %s could not preload %s", info["node_id"][:12],
                            "; ".join(info["preload_errors"]))
        with self._lock:
            slot.info = info
        return True

    def _next_trial(self) -> Optional[RunningTrial]:
        with self._lock:
            while not self._queue and not self._closed:
                self._wake.wait()
            return None if self._closed else self._queue.popleft()

    def _run(self, slot: Slot, state: RunningTrial) -> None:
        import ray
        from ray.exceptions import RayError
        request = state.request
        with self._lock:
            if state.ended:  # (a trial cancelled while queued left the queue then)
                return
            slot.trial, state.slot = state, slot
            info = dict(slot.info or {})
        started = getattr(self._listener, "on_trial_started", None)
        if callable(started):  # where it runs: the Ray node (id as `ray list nodes` shows it) and the actor's pid
            where = f"ray node {info.get('node_id', '?')} (pid {info.get('pid', '?')})"
            started(request.trial_id, time.time(), where=where)
        deadline = None if request.timeout is None else time.monotonic() + request.timeout
        end: Optional[TrialEnd] = None
        retire: Optional[str] = None
        died: Optional[BaseException] = None
        generator = slot.actor.run.options(num_returns="streaming", _generator_backpressure_num_objects=1).remote(
            request.trial_id, state.payload, str(state.directory))
        try:
            while end is None:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0 and state.ending is None:
                        state.ending = (ModelStatus.Failed, f"exceeded max_trial_duration ({request.timeout:g}s)")
                        self._kill(slot)
                    ready, _ = ray.wait([generator], timeout=max(0.05, min(left, 1.0)))
                    if not ready:
                        continue
                try:
                    line = ray.get(next(generator))
                except StopIteration:
                    raise RuntimeError(f"the actor of trial {request.trial_id} stopped without an end event")
                record = json.loads(line)
                kind = record.get("event")
                if kind == "logs":  # sent before the end: the weights are in place when the end is reported
                    state.write_logs(record)
                    state.write_weights(record.get("weights") or [])
                elif kind == "sync":  # the actor waits for this request: we handled the event before
                    continue
                elif kind == "retire":
                    retire = record.get("reason") or "retired"
                elif kind == "metric":
                    self._deliver_metric(state, event_from_json(line))
                else:
                    end = event_from_json(line)  # type: ignore[assignment]
        except RayError as exc:
            died = exc
        if died is None and (retire is not None or not self.settings.reuse_actors):
            self._kill(slot)
        if died is not None:
            node = (slot.info or {}).get("node_id")
            self._kill(slot)
            if state.ending is None:
                alive, logs = node_answers(self._read_logs, node, self.run_id, request.trial_id)
                if not alive:
                    self._node_lost(state, node, died)
                    return
                if logs:
                    state.write_logs(logs)
                end = TrialEnd(request.trial_id, ModelStatus.Failed, crash_reason(state.stderr_tail()))
        if state.ending is not None:  # we stopped it (timeout, cancel, shutdown): our reason wins
            end = TrialEnd(request.trial_id, *state.ending)
        self._finish(state, end)  # type: ignore[arg-type]

    # ---- faults -------------------------------------------------------------------------------------------------
    def _node_lost(self, state: RunningTrial, node: Optional[str], error: BaseException) -> None:
        state.node_failures += 1
        trial_id = state.request.trial_id
        limit = self.settings.max_node_failures_per_trial
        with self._lock:
            self.node_failures += 1
        state.note(f"node {str(node)[:12]} died during attempt {state.node_failures} of this trial")
        if state.node_failures > limit:
            self._finish(state, TrialEnd(trial_id, ModelStatus.Failed,
                                         f"its Ray node died {state.node_failures} time(s) while it ran "
                                         f"(max_node_failures_per_trial={limit})"))
            return
        _logger.warning("ray: node %s died while trial %s ran; re-running it elsewhere (%d/%d)", str(node)[:12],
                        trial_id, state.node_failures, limit)
        with self._lock:
            state.skip = state.intermediates
            state.slot = None
            for slot in self._slots:
                if slot.trial is state:
                    slot.trial = None
            if self._closed:
                state.ending = state.ending or (ModelStatus.Interrupted, "training service shut down")
            else:
                self._queue.appendleft(state)
                self._wake.notify_all()
                return
        self._finish(state, TrialEnd(trial_id, *state.ending))  # type: ignore[misc]

    def _stop(self, trial_id: str, status: ModelStatus, reason: str) -> None:
        with self._lock:
            state = self._trials.get(trial_id)
            if state is None or state.ended or state.ending is not None:
                return
            state.ending = (status, reason)
            queued = state in self._queue
            if queued:
                self._queue.remove(state)
            slot = state.slot
        if queued:
            self._finish(state, TrialEnd(trial_id, status, reason))
        elif slot is not None and not (status is ModelStatus.Interrupted and self._cancel_in_actor(slot, state)):
            self._kill(slot)  # the slot thread sees the actor die and ends the trial with our reason

    def _cancel_in_actor(self, slot: Slot, state: RunningTrial) -> bool:
        """Ask the slot's actor to end the trial at its next report and stay warm (at once when the cancel is
        decided on a metric the trial just reported: early stopping); the actor is killed if the trial has not ended
        ``_CANCEL_GRACE`` s later. False when the actor cannot be asked."""
        import ray
        with self._lock:
            actor = slot.actor
        if actor is None or not self.settings.reuse_actors:
            return False
        try:
            if not ray.get(actor.cancel.remote(state.request.trial_id), timeout=_CANCEL_GRACE):
                return False
        except Exception:  # noqa: BLE001 - dead or unreachable: the kill path ends the trial
            return False
        timer = threading.Timer(_CANCEL_GRACE, self._kill_if_running, args=(slot, state))
        timer.daemon = True
        timer.start()
        return True

    def _kill_if_running(self, slot: Slot, state: RunningTrial) -> None:
        with self._lock:
            running = slot.trial is state and not state.ended
        if running:
            self._kill(slot)

    def _kill(self, slot: Slot) -> None:
        with self._lock:
            actor, slot.actor = slot.actor, None
        if actor is not None:
            try:
                import ray
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already dead, or Ray is shutting down
                pass

    # ---- events -------------------------------------------------------------------------------------------------
    def _deliver_metric(self, state: RunningTrial, event: TrialMetric) -> None:
        if state.accept(event):
            self._listener.on_trial_metric(event)  # type: ignore[union-attr]

    def _finish(self, state: RunningTrial, end: TrialEnd) -> None:
        with self._lock:  # free the slot first: the listener may submit the next trial right away
            if state.ended:
                return
            state.ended = True
            self._running -= 1
            if state.slot is not None and state.slot.trial is state:
                state.slot.trial = None
        try:
            self._listener.on_trial_end(end)  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - the other slots must go on
            _logger.exception("listener failed on %s", end)


def _shutdown_ref(ref: "weakref.ref[RayTrainingService]") -> None:
    service = ref()
    if service is not None and service._connection is not None:
        service.shutdown()
