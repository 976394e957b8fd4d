"""The training-service interface: what a plugin implements to run trials somewhere (local processes, SSH
machines, a cluster), and the trial-side runner every service reuses.

Writing a training service
==========================

Subclass :class:`TrainingService` and register it with a ``nascore_training_services`` hook returning
``TrainingServiceSpec(name=..., factory=..., config_model=...)``; ``factory(config)`` receives the whole
:class:`~nascore.NasExperimentConfig`. The ``ts`` engine drives the service like this::

    service = factory(config)
    service.start(listener, log_directory)       # once, before the first submit
    while ...:
        if service.capacity() > 0:               # free slots right now
            service.submit(TrialRequest(...))    # returns at once; the trial runs in the background
    service.cancel(trial_id)                     # optional, e.g. stop_on_failure
    service.shutdown()                           # at the end, or on stop() / Ctrl-C

Contract (the engine relies on every point):

* ``submit`` never blocks on the trial itself. A :class:`TrialRequest` carries a JSON ``payload`` (see
  :func:`build_payload`); a service sends it as JSON, never pickle.
* The listener gets :class:`TrialMetric` events while the trial runs and exactly one :class:`TrialEnd` per
  submitted trial, after its last metric -- also when the trial crashes, times out (``TrialRequest.timeout``
  seconds: status Failed, reason ``"exceeded max_trial_duration (Xs)"``), is cancelled (Interrupted) or the
  service shuts down (Interrupted, delivered before ``shutdown()`` returns). Events of one trial arrive in
  order; they may come from any thread, but never while the service holds a lock the listener could need
  (the listener may call ``capacity()``/``submit()`` from inside a callback).
* A listener may also have ``on_trial_started(trial_id, time, where=None)``: services that know when a trial
  really begins (after a worker's start-up) call it, so start-up is not counted in the trial's duration.
  ``where`` says where the trial runs, for people (the store records it; ``nascore view --json`` and the
  dashboard show it): ``"local (pid 1234)"``, ``"alice@gpu1:22"``, a cluster node. Never put a secret in it.
  Call it outside your own locks, like every listener method (also while ``submit`` runs: the engine's lock is
  reentrant).
* ``capacity()`` counts trials that would start right now; it goes up before the ``TrialEnd`` that freed
  the slot is delivered.
* ``log_paths(trial_id)`` gives the trial's stdout/stderr files on this machine (remote services copy them
  back when the trial ends).
* ``shutdown()`` leaves no process behind (kill process groups, not just the direct child).

Running one trial
=================

On the machine that trains, :func:`run_trial` rebuilds the model from a payload and runs it with
:func:`nascore.trial.run_model`, handing each event to a callback. ``python -m nascore.training_service
--payload FILE --trial-id ID [--events-fd N]`` does the same for one payload and writes the events as JSON
lines (:func:`event_to_json` / :func:`event_from_json`) to file descriptor ``N`` (default: stdout) -- a
remote agent can use either.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Literal, Optional, Protocol, Union

from nascore.space import ModelStatus

__all__ = ["cap_log", "TrialRequest", "TrialMetric", "TrialEnd", "TrialEvent", "TrialListener", "TrialLogs",
           "TrainingService", "TrialPayloadError", "build_payload", "load_model", "run_trial", "event_to_json",
           "event_from_json", "trial_main", "EventWriter"]


def cap_log(path: Union[str, Path], limit_bytes: Optional[int]) -> bool:
    """Keep a trial's log under ``limit_bytes``: past it, the start is cut and the last half of the limit kept,
    behind a line saying how much was cut. The trial keeps writing (its descriptor appends at the new end).
    True when something was cut. Services call it while trials run, so a flooding trial cannot fill the disk."""
    if not limit_bytes:
        return False
    try:
        size = os.path.getsize(path)
        if size <= limit_bytes:
            return False
        keep = max(1, limit_bytes // 2)
        with open(path, "r+b") as f:
            f.seek(size - keep)
            tail = f.read()
            f.seek(0)
            f.truncate()
            f.write(b"[nascore: %d bytes cut from the start of this log (trial_log_limit_mb); its end follows]\n"
                    % (size - keep))
            f.write(tail)
        return True
    except OSError:
        return False


class TrialPayloadError(ValueError):
    """A model (or its evaluator) cannot be described as a JSON payload, so it cannot run as a trial."""


@dataclass
class TrialRequest:
    """One trial to run: ``payload`` is JSON (see :func:`build_payload`); ``env`` is added to the trial's
    environment; ``gpu_number`` is how many GPUs it needs (the service picks them and sets
    ``CUDA_VISIBLE_DEVICES``; None: leave the environment alone); ``timeout`` is in seconds."""

    trial_id: str
    payload: Dict[str, Any]
    env: Dict[str, str] = field(default_factory=dict)
    gpu_number: Optional[int] = None
    timeout: Optional[float] = None


@dataclass(frozen=True)
class TrialMetric:
    trial_id: str
    kind: Literal["intermediate", "final"]
    metric: Any
    #: 0 for the first run of the trial; a service that re-runs it (its machine died) counts up
    attempt: int = 0


@dataclass(frozen=True)
class TrialEnd:
    trial_id: str
    status: ModelStatus  # Trained, Failed or Interrupted
    reason: Optional[str] = None


TrialEvent = Union[TrialMetric, TrialEnd]


class TrialListener(Protocol):
    """What a service reports to (the ``ts`` engine implements it)."""

    def on_trial_metric(self, event: TrialMetric) -> None: ...

    def on_trial_end(self, event: TrialEnd) -> None: ...


@dataclass(frozen=True)
class TrialLogs:
    stdout: Path
    stderr: Path


class TrainingService(ABC):
    """Runs trials for the ``ts`` engine. See the module docstring for the full contract, including
    ``on_trial_started(trial_id, time, where=...)``: say where each trial runs (worker, machine; no secret)."""

    @abstractmethod
    def start(self, listener: TrialListener, log_directory: Path) -> None:
        """Get ready (e.g. start warm workers, connect). Trial logs go under ``log_directory``."""

    @abstractmethod
    def capacity(self) -> int:
        """How many trials would start right now if submitted."""

    @abstractmethod
    def submit(self, trial: TrialRequest) -> str:
        """Start ``trial`` in the background and return its id. Raise ``RuntimeError`` when there is no free
        slot or the service is shut down."""

    @abstractmethod
    def cancel(self, trial_id: str, reason: str = "cancelled") -> None:
        """Stop a running trial; it ends Interrupted with ``reason``. Unknown or finished ids are ignored."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop every trial (each ends Interrupted) and every process; idempotent."""

    @abstractmethod
    def log_paths(self, trial_id: str) -> TrialLogs:
        """Where the trial's stdout and stderr are (or will be) on this machine."""


# ---- payloads ---------------------------------------------------------------------------------------------

def build_payload(model: Any) -> Dict[str, Any]:
    """``{"format": name, "format_class": "module:Class", "model": model.to_payload()}``, checked to be JSON.

    ``format_class`` lets a trial rebuild a format that is registered by hand rather than by an installed
    plugin. Raises :class:`TrialPayloadError` naming the model and the cause.
    """
    cls = type(model)
    try:
        body = model.to_payload()
        payload = {"format": cls.format_name, "format_class": f"{cls.__module__}:{cls.__qualname__}",
                   "model": body}
        if getattr(model, "weights_path", None):  # where the trial saves the trained state_dict
            payload["weights_path"] = str(model.weights_path)
        if getattr(model, "seed", None) is not None:  # the trial seeds its generators with it
            payload["seed"] = int(model.seed)
        if getattr(model, "data_seed", None) is not None:
            payload["data_seed"] = int(model.data_seed)
        json.dumps(payload)
    except Exception as exc:  # noqa: BLE001 - whatever the format raised, the user needs the same advice
        raise TrialPayloadError(
            f"cannot send {model!r} to a trial process: {type(exc).__name__}: {exc}. Trials rebuild the model "
            "and its evaluator from JSON, so the evaluator's function and data must be importable by module "
            "path (define them in a module, not in __main__ or a notebook cell, and pass plain values), or use "
            "execution engine 'sequential' to run in this process") from exc
    return payload


def load_model(payload: Dict[str, Any]) -> Any:
    """Rebuild a frozen model from :func:`build_payload`'s output (registered format first)."""
    from nascore.plugins import UnknownComponentError, get_plugin_manager
    from nascore.specs import resolve_reference
    if not isinstance(payload, dict) or "format" not in payload or "model" not in payload:
        raise TrialPayloadError(f"a trial payload is a dict with 'format' and 'model', got {payload!r:.200}")
    try:
        cls = get_plugin_manager().get_model_format(payload["format"]).load()
    except UnknownComponentError:
        if not payload.get("format_class"):
            raise
        cls = resolve_reference(payload["format_class"])
    model = cls.from_payload(payload["model"])
    model.weights_path = payload.get("weights_path")
    model.seed = payload.get("seed")
    model.data_seed = payload.get("data_seed")
    return model


def run_trial(payload: Dict[str, Any], emit: Callable[[TrialEvent], None], trial_id: str = "") -> TrialEnd:
    """Run one payload in this process; ``emit`` gets each :class:`TrialMetric`. Returns (does not emit)
    the :class:`TrialEnd`: Trained, or Failed with ``"ExcType: message"`` (traceback printed to stderr)."""
    from nascore.trial import run_model
    try:
        model = load_model(payload)
        run_model(model, lambda m: emit(TrialMetric(trial_id, "intermediate", m)),
                  lambda m: emit(TrialMetric(trial_id, "final", m)), name=f"trial {trial_id}" if trial_id else None)
    except KeyboardInterrupt:
        return TrialEnd(trial_id, ModelStatus.Interrupted, "KeyboardInterrupt")
    except SystemExit as exc:  # sys.exit() in user code: success only with status 0
        if exc.code in (None, 0):
            return TrialEnd(trial_id, ModelStatus.Trained, None)
        return TrialEnd(trial_id, ModelStatus.Failed, f"SystemExit: {exc.code}")
    except BaseException as exc:  # noqa: BLE001 - SystemExit from user code fails the trial too
        traceback.print_exc()
        return TrialEnd(trial_id, ModelStatus.Failed, f"{type(exc).__name__}: {exc}")
    return TrialEnd(trial_id, ModelStatus.Trained, None)


# ---- wire format of events (JSON lines) -----------------------------------------------------------------------

def event_to_json(event: TrialEvent) -> str:
    """One line (no newline) describing ``event``."""
    if isinstance(event, TrialMetric):
        return json.dumps({"event": "metric", "trial_id": event.trial_id, "kind": event.kind,
                           "metric": event.metric})
    return json.dumps({"event": "end", "trial_id": event.trial_id, "status": ModelStatus(event.status).value,
                       "reason": event.reason})


def event_from_json(line: Union[str, bytes]) -> TrialEvent:
    """The :class:`TrialMetric` or :class:`TrialEnd` of one JSON line (ValueError for anything else)."""
    data = json.loads(line)
    if data.get("event") == "metric":
        return TrialMetric(data["trial_id"], data["kind"], data["metric"])
    if data.get("event") == "end":
        return TrialEnd(data["trial_id"], ModelStatus(data["status"]), data.get("reason"))
    raise ValueError(f"not a trial event: {line!r:.200}")


class EventWriter:
    """Thread-safe JSON-lines writer of trial events on a raw fd (unbuffered: what was reported survives a
    crash). Services that run trials in their own worker processes emit events through it, as
    ``python -m nascore.training_service`` does."""

    def __init__(self, fd: int):
        self.fd = fd
        self._lock = threading.Lock()

    def __call__(self, event: TrialEvent) -> None:
        self._write(event_to_json(event))

    def raw(self, record: Dict[str, Any]) -> None:
        """Write a service-specific record (e.g. a worker's ``{"event": "retire"}``)."""
        self._write(json.dumps(record))

    def _write(self, line: str) -> None:
        data = (line + "\n").encode()
        with self._lock:
            while data:
                data = data[os.write(self.fd, data):]


_LineWriter = EventWriter  # former private name


def trial_main(argv: Optional[list] = None) -> int:
    """``python -m nascore.training_service --payload FILE|- --trial-id ID [--events-fd N]``: run one trial."""
    parser = argparse.ArgumentParser(prog="python -m nascore.training_service", description=trial_main.__doc__)
    parser.add_argument("--payload", required=True, help="JSON payload file, or '-' for stdin")
    parser.add_argument("--trial-id", default="")
    parser.add_argument("--events-fd", type=int, default=None, help="fd for JSON event lines (default stdout)")
    args = parser.parse_args(argv)
    text = sys.stdin.read() if args.payload == "-" else Path(args.payload).read_text()
    fd = args.events_fd
    if fd is None:  # events own stdout; the trial's prints go to stderr
        fd = os.dup(1)
        os.dup2(2, 1)
    emit = EventWriter(fd)
    end = run_trial(json.loads(text), emit, args.trial_id)
    sys.stdout.flush()
    sys.stderr.flush()
    emit(end)
    return 0 if end.status is ModelStatus.Trained else 1


if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in tests
    sys.exit(trial_main())
