"""SSH per-trial overhead: 100 no-op trials one after another on the ``remote`` service (a real sshd on
127.0.0.1, warm agent and worker) and on the ``local`` service, side by side in one run."""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, List

TESTS = Path(__file__).resolve().parent.parent / "plugins" / "remote" / "tests"
TRIALS = 100
WARMUP = 5


class _Listener:
    def __init__(self) -> None:
        self.ended = 0
        self.cv = threading.Condition()

    def on_trial_metric(self, event) -> None:
        pass

    def on_trial_end(self, event) -> None:
        with self.cv:
            self.ended += 1
            self.cv.notify_all()


def _drive(service, listener: _Listener, payload: Dict[str, Any], env: Dict[str, str], count: int, tag: str) -> float:
    from nascore.training_service import TrialRequest
    started = time.perf_counter()
    for i in range(count):
        target = listener.ended + 1
        service.submit(TrialRequest(f"{tag}-{i}", payload, env=dict(env)))
        with listener.cv:
            if not listener.cv.wait_for(lambda: listener.ended >= target, timeout=120):
                raise RuntimeError(f"{tag}: trial {i} did not end")
    return time.perf_counter() - started


def _measure(service, payload, env, workdir: Path, name: str) -> float:
    listener = _Listener()
    service.start(listener, workdir / name)
    try:
        _drive(service, listener, payload, env, WARMUP, f"{name}-warm")
        return _drive(service, listener, payload, env, TRIALS, name)
    finally:
        service.shutdown()


def run() -> List[dict]:
    sys.path.insert(0, str(TESTS))
    from nascore.experiment.config import NasExperimentConfig
    from nascore_remote.service import RemoteTrainingService
    from nascore_remote.testing import SshServer
    from nascore_training_service.local import LocalTrainingService
    from remote_trial_helpers import script_payload

    payload = script_payload("noop")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        local_config = NasExperimentConfig("ts", None, "local", trial_concurrency=1)
        local_seconds = _measure(LocalTrainingService(local_config), payload, {"PYTHONPATH": str(TESTS)},
                                 workdir, "local")
        with SshServer(workdir / "sshd") as server:
            config = NasExperimentConfig("ts", None, "remote", trial_concurrency=1)
            config.training_service.machine_list = [server.machine(python_path=sys.executable)]
            config.training_service.trial_code_directory = str(TESTS)
            remote_seconds = _measure(RemoteTrainingService(config), payload, {}, workdir, "remote")
    overhead_ms = (remote_seconds - local_seconds) / TRIALS * 1000
    return [
        {"service": "local", "trials": TRIALS, "seconds": round(local_seconds, 3),
         "trials_per_s": round(TRIALS / local_seconds, 1)},
        {"service": "remote", "trials": TRIALS, "seconds": round(remote_seconds, 3),
         "trials_per_s": round(TRIALS / remote_seconds, 1)},
        {"metric": "remote_overhead_per_trial_ms", "value": round(overhead_ms, 2), "target_ms": 50,
         "ok": overhead_ms <= 50},
    ]


if __name__ == "__main__":
    import json
    for row in run():
        print(json.dumps(row))
