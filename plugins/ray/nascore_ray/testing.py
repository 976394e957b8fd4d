"""A throw-away multi-node Ray cluster on loopback addresses (127.0.0.2, .3, ...) for tests and benchmarks: real ``ray start`` processes.

``LocalRayCluster().start(head_cpus=1)`` starts a head node, ``add_node(cpus=1)`` worker nodes (each with its own
ports, all picked free), ``kill_node(node)`` SIGKILLs every process of one node (its raylet, agents and workers:
the node dies as a machine would), ``stop()`` kills them all. Ray 2.59+ authenticates every RPC with a token, so
the cluster runs with ``RAY_AUTH_MODE=token`` and a fresh ``RAY_AUTH_TOKEN``; :meth:`LocalRayCluster.driver_env`
is what a driver (this process, or an experiment in a subprocess) needs in its environment to attach.

Processes are found by a marker variable in their environment (``NASCORE_RAY_TEST_NODE``), which every process
a node starts inherits, so nothing else on the machine (other Ray clusters included) is touched.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from nascore_ray.processes import kill_marked, processes_with_env

__all__ = ["LocalRayCluster", "RayNode", "free_port", "processes_with_env", "MARKER"]

MARKER = "NASCORE_RAY_TEST_NODE"
_RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RayNode:
    name: str
    ip: str
    node_manager_port: int
    cpus: float
    gpus: float
    resources: Dict[str, float] = field(default_factory=dict)

    @property
    def marker(self) -> str:
        return self.name

    def pids(self) -> List[int]:
        return processes_with_env(MARKER, self.name + "/")


class LocalRayCluster:
    """A head and worker nodes on 127.0.0.1 (see the module docstring). Use as a context manager or call
    :meth:`stop`. ``system_config`` env overrides (e.g. faster node-death detection) apply to every node."""

    def __init__(self, directory: Optional[str] = None, fast_failure_detection: bool = True) -> None:
        # A short path: Ray's Unix sockets live under the temp dir and their names are limited to ~107 bytes.
        self.directory = Path(directory or tempfile.mkdtemp(prefix="nrc-", dir="/tmp"))
        self.id = uuid.uuid4().hex[:8]
        self.token = uuid.uuid4().hex + uuid.uuid4().hex
        self.port = free_port()
        self._started = 0
        self.nodes: List[RayNode] = []
        self._extra_env: Dict[str, str] = {}
        if fast_failure_detection:  # a killed node is declared dead in ~2 s instead of ~30 s
            self._extra_env.update({"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
                                    "RAY_health_check_failure_threshold": "3",
                                    "RAY_health_check_initial_delay_ms": "500"})

    @property
    def address(self) -> str:
        return f"127.0.0.2:{self.port}"

    def driver_env(self) -> Dict[str, str]:
        """What a driver needs to attach: the same auth mode and token as every node."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token}

    @contextlib.contextmanager
    def driver(self) -> Iterator["LocalRayCluster"]:
        """This process as a driver of the cluster: :meth:`driver_env` set in ``os.environ``, restored after."""
        saved = {key: os.environ.get(key) for key in self.driver_env()}
        os.environ.update(self.driver_env())
        try:
            yield self
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def __enter__(self) -> "LocalRayCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, head_cpus: float = 1, head_gpus: float = 0, head_resources: Optional[Dict[str, float]] = None
              ) -> RayNode:
        return self._start_node(head=True, cpus=head_cpus, gpus=head_gpus, resources=head_resources or {})

    def add_node(self, cpus: float = 1, gpus: float = 0, resources: Optional[Dict[str, float]] = None) -> RayNode:
        if not self.nodes:
            raise RuntimeError("start() the head node first")
        return self._start_node(head=False, cpus=cpus, gpus=gpus, resources=resources or {})

    def _start_node(self, head: bool, cpus: float, gpus: float, resources: Dict[str, float]) -> RayNode:
        import json
        # Ray turns 127.0.0.1 into the machine's outward address; other loopback addresses it keeps, so each
        # node gets its own (127.0.0.2, .3, ...): all traffic stays on the loopback device.
        node = RayNode(f"{self.id}-{self._started}", f"127.0.0.{2 + self._started}", free_port(), cpus, gpus,
                       dict(resources))
        self._started += 1
        argv = [_RAY, "start", f"--node-ip-address={node.ip}", f"--num-cpus={int(cpus)}", f"--num-gpus={int(gpus)}",
                f"--node-manager-port={node.node_manager_port}", f"--object-manager-port={free_port()}",
                f"--dashboard-agent-listen-port={free_port()}", f"--dashboard-agent-grpc-port={free_port()}",
                f"--runtime-env-agent-port={free_port()}", f"--metrics-export-port={free_port()}",
                "--min-worker-port=0", "--max-worker-port=0",  # workers bind ports the OS picks
                "--disable-usage-stats", f"--temp-dir={self.directory}", "--log-style=record", "--log-color=false"]
        if resources:
            argv.append(f"--resources={json.dumps(resources)}")
        if head:
            argv += ["--head", f"--port={self.port}", "--include-dashboard=false",
                     f"--ray-client-server-port={free_port()}"]
        else:
            argv.append(f"--address={self.address}")
        env = {**os.environ, **self.driver_env(), **self._extra_env, MARKER: node.name + "/",
               "RAY_USAGE_STATS_ENABLED": "0"}
        for attempt in range(2):  # Ray gives a raylet 30 s to register: on a loaded machine, try once more
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=180)
            if done.returncode == 0:
                break
            self._kill(node.name + "/")
        if done.returncode != 0:
            raise RuntimeError(f"ray start ({'head' if head else 'worker'}) failed with exit code "
                               f"{done.returncode}: {(done.stderr or done.stdout).strip()[-1500:]}")
        self.nodes.append(node)
        return node

    def kill_node(self, node: RayNode) -> List[int]:
        """SIGKILL every process of ``node`` (as if the machine died); returns the pids killed."""
        pids = self._kill(node.name + "/")
        if node in self.nodes:
            self.nodes.remove(node)
        return pids

    def pids(self) -> List[int]:
        return processes_with_env(MARKER, self.id + "-")

    def stop(self) -> None:
        self._kill(self.id + "-")
        self.nodes.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    @staticmethod
    def _kill(prefix: str) -> List[int]:
        return kill_marked(MARKER, prefix)
