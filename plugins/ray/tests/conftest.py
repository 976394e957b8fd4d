"""Fixtures: one real multi-node Ray cluster on loopback addresses for the whole session (``ray start``: a head
and a worker node, 1 CPU each, the worker with 2 logical GPUs), attached by address; token authentication on."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # helper modules: importable here, and shipped to the nodes as the code directory
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator["LocalRayCluster"]:
    from nascore_ray.testing import LocalRayCluster
    cluster = LocalRayCluster()
    try:
        cluster.start(head_cpus=1)
        cluster.add_node(cpus=1, gpus=2)
        with cluster.driver():  # this process is the driver: same auth mode and token as the nodes
            yield cluster
    finally:
        cluster.stop()
