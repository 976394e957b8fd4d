"""The driver's connection to Ray: a private local instance or an existing cluster, and what fits on it.

``connect(settings)`` returns a :class:`Connection`; ``close()`` disconnects and, for a private instance, stops
every process Ray started for it. A process that already called ``ray.init`` itself keeps its connection: the
service uses it and leaves it open.
"""
from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from nascore.experiment.config import ConfigError
from nascore_ray.config import RayConfig
from nascore_ray.processes import PRIVATE_MARKER, kill_marked, processes_with_env

__all__ = ["Connection", "connect", "fitting_trials", "session_processes", "node_answers", "cluster_summary"]

_logger = logging.getLogger(__name__)


@dataclass
class Connection:
    address: str  # the GCS address, or "existing"
    private: bool  # we started the instance: close() stops it
    owned: bool  # we called ray.init: close() calls ray.shutdown
    session_dir: str = ""
    marker: str = ""  # a private instance's processes carry NASCORE_RAY_PRIVATE=<marker> in their environment
    reaper: Optional[subprocess.Popen] = None

    def close(self) -> None:
        import ray
        if self.owned and ray.is_initialized():
            ray.shutdown()  # for a private instance this stops the raylet, GCS and workers it started
        if self.private:
            kill_marked(PRIVATE_MARKER, self.marker)  # what did not exit with them (Ray's agents may linger)
        if self.reaper is not None:
            self.reaper.kill()
            self.reaper.wait()


def connect(settings: RayConfig, runtime_env: Dict[str, Any]) -> Connection:
    """``ray.init`` for ``settings.address`` (see :class:`~nascore_ray.config.RayConfig`) with ``runtime_env`` as the
    job's; clear errors for an unreachable cluster and for a missing or wrong auth token."""
    import ray
    if ray.is_initialized():
        _logger.warning("ray: this process is already connected to Ray; using that connection as it is (its "
                        "runtime_env, not the trial code directory, is what the trials get)")
        return Connection("existing", private=False, owned=False)
    options: Dict[str, Any] = {"log_to_driver": False, "configure_logging": False, "runtime_env": runtime_env}
    if settings.address is not None:
        try:
            ray.init(address=settings.address, **options)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, AuthenticationError, RuntimeError...
            raise ConfigError(_connect_advice(settings.address, exc)) from exc
        return Connection(settings.address, private=False, owned=True, session_dir=_session_dir())
    return _start_private(settings, options)


def _start_private(settings: RayConfig, options: Dict[str, Any]) -> Connection:
    """``ray.init`` a new local instance whose processes (a) carry a marker in their environment, so a reaper
    process kills them when this process dies, even by SIGKILL, and (b) ignore SIGINT, so Ctrl-C reaches only the
    experiment, which then stops its trials in order and the instance with them."""
    import ray
    marker = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    reaper = subprocess.Popen([sys.executable, "-m", "nascore_ray.processes", str(os.getpid()), PRIVATE_MARKER,
                               marker], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    main = threading.current_thread() is threading.main_thread()
    saved = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None  # inherited across exec
    os.environ[PRIVATE_MARKER] = marker
    try:
        ray.init(address="local", include_dashboard=False, num_cpus=settings.num_cpus, num_gpus=settings.num_gpus,
                 **options)
    except Exception as exc:  # noqa: BLE001
        kill_marked(PRIVATE_MARKER, marker)
        reaper.kill()
        raise ConfigError(_connect_advice(None, exc)) from exc
    finally:
        os.environ.pop(PRIVATE_MARKER, None)
        if main:
            signal.signal(signal.SIGINT, saved)
    return Connection(ray.get_runtime_context().gcs_address, private=True, owned=True, session_dir=_session_dir(),
                      marker=marker, reaper=reaper)


def _connect_advice(address: Any, exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    cause = exc.__cause__
    if cause is not None:
        text += f" ({type(cause).__name__}: {str(cause)[:300]})"
    where = "start a private local Ray instance" if address is None else f"attach to the Ray cluster at {address!r}"
    if "auth" in text.lower() or "token" in text.lower():
        advice = ("the cluster uses token authentication (Ray 2.59+): give this process the cluster's token, "
                  "e.g. RAY_AUTH_MODE=token and RAY_AUTH_TOKEN=<token> (or RAY_AUTH_TOKEN_PATH / ~/.ray/auth_token), "
                  "the same on every node")
    elif address is None:
        advice = "check that this machine can run Ray (shared memory in /dev/shm, free ports)"
    else:
        advice = ("check the address ('ray status' on the head node prints it), that the head node is up and "
                  "reachable from here, and that this Python has the same Ray version as the cluster")
    return f"training service 'ray': cannot {where}: {text[:800]}; {advice}"


def _session_dir() -> str:
    try:
        from ray._private.worker import _global_node  # no public accessor for the session directory
        return _global_node.get_session_dir_path() if _global_node is not None else ""
    except Exception:  # noqa: BLE001 - only used to report processes
        return ""


def session_processes(connection: Connection) -> List[int]:
    """Pids of the processes of a private instance (GCS, raylet, agents, workers): those carrying its marker."""
    return processes_with_env(PRIVATE_MARKER, connection.marker) if connection.private else []


def fitting_trials(request: Dict[str, float]) -> int:
    """How many trials asking ``request`` fit on the cluster's live nodes at once (0: none fits anywhere)."""
    import ray
    total = 0
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        available = node.get("Resources", {})
        per_node = [math.floor(available.get(k, 0.0) / v + 1e-9) for k, v in request.items() if v > 0]
        total += min(per_node) if per_node else 0
    return total


def cluster_summary() -> str:
    """One line per alive node of the connected Ray cluster: address, CPUs, GPUs (for messages)."""
    import ray
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    parts = []
    for node in nodes:
        res = node.get("Resources", {})
        parts.append(f"{node.get('NodeManagerAddress')}: {res.get('CPU', 0):g} CPU, {res.get('GPU', 0):g} GPU"
                     + "".join(f", {res[k]:g} {k}" for k in sorted(res) if k not in ("CPU", "GPU", "memory",
                               "object_store_memory") and not k.startswith("node:") and not k.startswith("accel")))
    return "; ".join(parts) or "no live node"


_PROBE_TIMEOUT = 120.0  # seconds to hear from the node of an actor that died before calling the node lost


def node_answers(read_logs: Any, node_id: Optional[str], run_id: str, trial_id: str
                 ) -> Tuple[bool, Optional[Dict[str, str]]]:
    """Whether the node of an actor that died is alive -- a zero-CPU task pinned there (``read_logs``, the remote
    :func:`~nascore_ray.actor.read_node_logs`) answers -- and the trial's node-local logs it returns."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    if node_id is None:
        return True, None
    try:
        if not any(n.get("NodeID") == node_id and n.get("Alive") for n in ray.nodes()):
            return False, None
    except Exception as exc:  # noqa: BLE001 - the cluster itself is unreachable: nothing runs there any more
        _logger.debug("ray: cannot list nodes: %s", exc)
        return False, None
    probe = read_logs.options(num_cpus=0, max_retries=0,
                              scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))
    try:
        return True, ray.get(probe.remote(run_id, trial_id), timeout=_PROBE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - unschedulable, node died, timeout: the node is gone
        _logger.debug("ray: node %s did not answer: %s", node_id[:12], exc)
        return False, None
