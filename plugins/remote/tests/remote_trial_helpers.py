"""Trial-side helpers for the remote tests and benchmark (importable on the "remote" machine too: the tests
upload this folder as the trial code directory).

``ScriptModel`` is a minimal model format (no torch): its payload says what the trial does, so service tests
exercise the wire, the agent and the processes rather than model building. ``evaluate_*`` functions are for
FunctionalEvaluator-based experiments.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, Dict

from nascore.trial import report_final_result, report_intermediate_result


def script_payload(action: str, **args: Any) -> Dict[str, Any]:
    """A trial payload for :class:`ScriptModel` (the format is found through ``format_class``)."""
    return {"format": "remote-test-script", "format_class": f"{__name__}:ScriptModel",
            "model": {"action": action, "args": args}}


def _wait_for(path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)


class _Run:
    def __init__(self, body: Dict[str, Any]):
        self.action, self.args = body["action"], body.get("args", {})

    def evaluate(self, _module: Any) -> Any:
        a = self.args
        if self.action == "noop":
            return 1.0
        if self.action == "steps":  # intermediate i once file <gate>.<i> exists (when gate is given),
            for i in range(a["n"]):  # then file <gate>.<i>.sent says it is on its way to the agent
                if a.get("gate"):
                    _wait_for(f"{a['gate']}.{i}")
                report_intermediate_result(float(i))
                if a.get("gate"):
                    open(f"{a['gate']}.{i}.sent", "w").close()
            report_final_result(float(a["n"]))
            return None
        if self.action == "burst":  # once file <gate> exists: n intermediates at once, file <gate>.done, a final
            _wait_for(a["gate"])
            for i in range(a["n"]):
                report_intermediate_result(float(i))
            open(f"{a['gate']}.done", "w").close()
            report_final_result(float(a["n"]))
            return None
        if self.action == "junk":  # one metric, then a line of ours on the worker's event pipe, then wait
            report_intermediate_result(0.0)
            fd = int(sys.argv[sys.argv.index("--events-fd") + 1])  # user code can find the agent's pipe
            os.write(fd, a["line"].encode())
            time.sleep(600)  # the agent kills this worker: no end of ours may arrive
        if self.action == "print":
            print("hello stdout", os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"), os.getpid())
            print("hello stderr", file=sys.stderr)
            return 2.0
        if self.action == "threads":  # torch's intra-op threads, as the trial's environment set them
            import torch
            print("threads", os.environ.get("OMP_NUM_THREADS"), os.environ.get("MKL_NUM_THREADS"))
            return float(torch.get_num_threads())
        if self.action == "orphan":  # a child that leaves our process group (setsid), then we crash or hang
            import subprocess
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                     start_new_session=True)
            Path(a["pidfile"]).write_text(str(child.pid))
            if a.get("then") == "crash":
                _wait_for(a["gate"])
                os._exit(3)
            time.sleep(600)
        if self.action == "flood":  # a trial that writes far more than its log may keep
            for i in range(a["lines"]):
                print(f"{i:08d} " + "x" * 1000)
            print("the last line")
            return 1.0
        if self.action == "crash":
            print("about to crash", file=sys.stderr, flush=True)
            os._exit(3)
        if self.action == "raise":
            raise ValueError("bad model")
        if self.action == "deaf":  # a trial that never hears a cooperative cancel (as one stuck in native code)
            import signal
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
            Path(a["pidfile"]).write_text(str(os.getpid()))
            time.sleep(600)
        if self.action == "sleep":
            Path(a["started"]).write_text(str(os.getpid()))
            time.sleep(a["seconds"])
            return 0.0
        raise ValueError(f"unknown action {self.action}")


class ScriptModel:
    format_name = "remote-test-script"

    def __init__(self, body: Dict[str, Any]):
        self.body = body
        self.sample = body
        self.evaluator = _Run(body)

    @classmethod
    def from_payload(cls, body: Dict[str, Any]) -> "ScriptModel":
        return cls(body)

    def executable_model(self) -> None:
        return None


def evaluate_width(model: Any, scale: float = 1.0) -> float:
    """FunctionalEvaluator target: a score from the model's parameter count, with two intermediate reports."""
    n = sum(p.numel() for p in model.parameters())
    report_intermediate_result(float(n) / 2)
    report_intermediate_result(float(n))
    return float(n) * scale


def evaluate_gated(model: Any, log: str, gate: str) -> float:
    """Appends ``start <pid>`` to ``log``, waits for the file ``gate``, appends ``end <pid>``."""
    with open(log, "a") as f:
        f.write(f"start {os.getpid()}\n")
    _wait_for(gate, timeout=120)
    with open(log, "a") as f:
        f.write(f"end {os.getpid()}\n")
    return 1.0
