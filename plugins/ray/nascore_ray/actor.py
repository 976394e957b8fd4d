"""The trial actor: one Ray worker process that runs trials from JSON payloads and streams their events.

``TrialActor.run`` is a streaming generator: it yields one JSON line per event (the same lines as
:func:`nascore.training_service.event_to_json`) as the trial reports, so intermediate metrics reach the driver
while the trial runs; the trial's end is always the last line. The trial runs in a thread of the actor with fd 1
and 2 pointed at its log files: directly in the experiment directory when this node sees it (same machine or a
shared file system, proven by a token file), else in a node-local directory whose contents are sent at the end
(and fetched by :func:`read_node_logs` after a crash). In that mode the payload's ``weights_path`` files are
redirected to the same node-local directory and their bytes travel back with those logs. Plain module-level
class: the service applies ``ray.remote`` to it, so importing this module needs no ray.
"""
from __future__ import annotations

import base64
import faulthandler
import importlib
import json
import os
import queue
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from nascore.process_tree import descendants
from nascore.space import ModelStatus
from nascore.training_service import TrialEnd, event_to_json, run_trial

__all__ = ["TrialActor", "TrialCancelled", "read_node_logs", "crash_reason", "LOG_TOKEN_FILE", "EXIT_MARKER", "SYNC"]

LOG_TOKEN_FILE = ".nascore-ray-token"
EXIT_MARKER = "nascore-ray: the trial called os._exit("
LOG_LIMIT = 8 * 1024 * 1024  # bytes of each log sent back when the node cannot write the experiment directory
_SIGNAL_TEXT = {"Segmentation fault": "SIGSEGV", "Aborted": "SIGABRT", "Bus error": "SIGBUS",
                "Floating-point exception": "SIGFPE", "Floating point exception": "SIGFPE",
                "Illegal instruction": "SIGILL"}


#: yielded after each event: with a backpressure of one object, the generator gets past it only once the driver asks
#: for the next line, i.e. after it handled the event; a cancel it decided meanwhile (early stopping) is seen then
SYNC = json.dumps({"event": "sync"})


class TrialCancelled(BaseException):
    """Raised inside the trial, at its next report, when the driver cancels it: the trial ends, the actor stays."""


def _node_dir(run_id: str, trial_id: str) -> Path:
    return Path(tempfile.gettempdir()) / "nascore-ray-logs" / run_id / trial_id


class TrialActor:
    """``__init__`` pays the imports (``preload``, the plugins) once; see the module docstring."""

    def __init__(self, preload: List[str], log_root: str, log_token: str, run_id: str) -> None:
        faulthandler.enable()  # a segfault's traceback lands in the trial's stderr (fd 2 at that moment)
        self.run_id = run_id
        self.preload_errors = []
        for module in preload:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                self.preload_errors.append(f"{module}: {exc}")
        from nascore.plugins import get_plugin_manager
        get_plugin_manager()
        import ray
        self.gpu_ids = [str(i) for i in ray.get_gpu_ids()]
        # CUDA_VISIBLE_DEVICES follows Ray's assignment (and hides every GPU from a trial that asked for none).
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(self.gpu_ids)
        self.node_id = ray.get_runtime_context().get_node_id()
        try:
            self.direct = (Path(log_root) / LOG_TOKEN_FILE).read_text() == log_token
        except OSError:
            self.direct = False
        if os.environ.get("NASCORE_RAY_SHIP_LOGS") == "1":
            self.direct = False
        self._trial: Optional[str] = None
        self._cancelled = threading.Event()

    def cancel(self, trial_id: str) -> bool:
        """Ask the running trial ``trial_id`` to end at its next report (True), leaving this actor warm for the next
        trial; False when it is not running here. (The actor runs with ``max_concurrency=2`` for this call.)"""
        if self._trial != trial_id:
            return False
        self._cancelled.set()
        return True

    def ready(self) -> Dict[str, Any]:
        return {"node_id": self.node_id, "pid": os.getpid(), "gpu_ids": self.gpu_ids, "direct_logs": self.direct,
                "preload_errors": self.preload_errors}

    def run(self, trial_id: str, payload_json: str, log_dir: str) -> Iterator[str]:
        """The trial's events as JSON lines, its end last (call with ``_generator_backpressure_num_objects=1``)."""
        events: "queue.Queue[Any]" = queue.Queue()
        where = Path(log_dir) if self.direct else _node_dir(self.run_id, trial_id)
        where.mkdir(parents=True, exist_ok=True)
        weights: List[tuple] = []
        if not self.direct:  # the driver's weights_path is not writable here: save node-local, send back below
            from nascore_remote.scheduling import remote_weights
            payload, weights = remote_weights(json.loads(payload_json), str(where))
            payload_json = json.dumps(payload)
        before = _live_threads()
        self._cancelled.clear()
        self._trial = trial_id
        thread = threading.Thread(target=self._run, args=(trial_id, payload_json, where, events, self._cancelled),
                                  name=f"nascore-trial-{trial_id}", daemon=True)
        thread.start()
        while True:
            item, delivered = events.get()
            if isinstance(item, TrialEnd):
                break
            yield event_to_json(item)
            # Called with _generator_backpressure_num_objects=1, we get here once the driver took the event, and past
            # SYNC once it handled it: only then may the trial go on, so a metric reported just before a crash is
            # never lost, and a cancel decided on this metric stops the trial before it computes anything more.
            yield SYNC
            delivered.set()
        thread.join()
        self._trial = None
        if self._cancelled.is_set():  # what the cancelled trial started goes with it, as with a kill
            for pid in descendants(os.getpid()):
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if not self.direct:
            yield json.dumps({"event": "logs", **_read_logs(where), "weights": _read_weights(weights)})
            shutil.rmtree(where, ignore_errors=True)
        leaked = sorted(t.name for t in _live_threads() - before - {thread})
        if leaked:  # the next trial must not share a process with them: the driver replaces this actor
            yield json.dumps({"event": "retire", "reason": f"trial {trial_id} left threads running: "
                                                           f"{', '.join(leaked)}"})
        yield event_to_json(item)

    @staticmethod
    def _run(trial_id: str, payload_json: str, where: Path, events: "queue.Queue[Any]",
             cancelled: threading.Event) -> None:
        cwd = os.getcwd()
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        real_exit = os._exit

        def noted_exit(code: int) -> None:  # the process dies with it: leave its code in the trial's stderr
            os.write(2, f"\n{EXIT_MARKER}{code})\n".encode())
            real_exit(code)

        def emit(event: Any) -> None:
            delivered = threading.Event()
            events.put((event, delivered))
            delivered.wait()
            if cancelled.is_set():
                raise TrialCancelled("cancelled by the experiment")

        end: Optional[TrialEnd] = None
        with open(where / "stdout.log", "ab", buffering=0) as out, open(where / "stderr.log", "ab", buffering=0) as err:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            os._exit = noted_exit  # type: ignore[assignment]
            try:
                end = run_trial(json.loads(payload_json), emit, trial_id)
            finally:
                os._exit = real_exit  # type: ignore[assignment]
                sys.stdout.flush()
                sys.stderr.flush()
                os.dup2(saved[0], 1)
                os.dup2(saved[1], 2)
                os.close(saved[0])
                os.close(saved[1])
                os.chdir(cwd)
                events.put((end or TrialEnd(trial_id, ModelStatus.Failed, "the trial runner failed"), None))


def _live_threads() -> set:
    return {t for t in threading.enumerate() if t.is_alive() and not t.daemon}


def _read_logs(where: Path) -> Dict[str, str]:
    logs = {}
    for stream in ("stdout", "stderr"):
        path = where / f"{stream}.log"
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - LOG_LIMIT))
                logs[stream] = f.read().decode(errors="replace")
        except OSError:
            logs[stream] = ""
    return logs


def _read_weights(pairs: List[tuple]) -> List[List[str]]:
    """``[driver path, base64 bytes]`` of each node-local weights file the trial saved (none when it failed)."""
    found = []
    for node_path, driver_path in pairs:
        try:
            found.append([driver_path, base64.b64encode(Path(node_path).read_bytes()).decode()])
        except FileNotFoundError:
            pass
    return found


def read_node_logs(run_id: str, trial_id: str) -> Dict[str, str]:
    """Run on the node of a crashed trial (a Ray task pinned there): its node-local logs, then removed."""
    where = _node_dir(run_id, trial_id)
    logs = _read_logs(where)
    shutil.rmtree(where, ignore_errors=True)
    return logs


def crash_reason(stderr_tail: str) -> str:
    """Why a trial's process died, from what it left in its stderr (our os._exit note, faulthandler's report)."""
    if EXIT_MARKER in stderr_tail:
        code = stderr_tail.rsplit(EXIT_MARKER, 1)[1].split(")", 1)[0]
        return f"exit code {code}"
    for text, name in _SIGNAL_TEXT.items():
        if f"Fatal Python error: {text}" in stderr_tail:
            return f"killed by signal {name}"
    return "its Ray worker process died (killed by a signal such as SIGKILL, e.g. by the out-of-memory killer)"
