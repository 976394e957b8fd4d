"""The NAS-Bench-Graph tables: loading (data only, no code runs), architecture keys, records.

NAS-Bench-Graph (Qin et al., NeurIPS 2022 datasets track; Apache-2.0) trained every graph neural network of a
macro space of 4 computing nodes on 9 data sets. Its wheel (``nas-bench-graph``, pinned) ships one table per
data set: architecture key -> validation accuracy, test accuracy, inference latency (seconds) and parameter
count (millions). The tables are pickles; they are read here with an unpickler that accepts only plain
containers and numpy scalars, so opening them runs no code.

An architecture is ``links`` (the input node of each computing node, 0 = the graph's input) and ``ops`` (the
operation of each node). Isomorphic architectures share one table entry; :meth:`NasBenchGraph.key` computes
that key with the benchmark's own function, so lookups agree with the published tables.
"""
from __future__ import annotations

import functools
import importlib.util
import math
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Sequence, Tuple

__all__ = ["DATASETS", "OPS", "PROTEINS_OPS", "NUM_NODES", "TRAIN_EPOCHS", "BenchRecord", "NasBenchGraph",
           "load_table", "sample_architecture", "check_dataset"]

DATASETS = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers", "arxiv", "proteins")
#: operations of the space (the benchmark's order); proteins was benchmarked on a subset
OPS = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
PROTEINS_OPS = ("gcn", "sage", "arma", "fc", "skip")
NUM_NODES = 4
#: epochs a simulated training lasts (the benchmark trained for 200 epochs)
TRAIN_EPOCHS = 200
#: one training epoch costs about this many inference passes (forward + backward + update)
_TRAIN_COST_PER_FORWARD = 3.0

_PACKAGE = "nas_bench_graph"
_REQUIREMENT = "nas-bench-graph==1.4.0"
_NUMPY_GLOBALS = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"), ("numpy", "dtype")}


@dataclass(frozen=True)
class BenchRecord:
    """One architecture's entry. Accuracies are fractions (0..1); ``params`` in millions."""

    key: int
    valid_accuracy: float
    test_accuracy: float
    latency: float
    params: float

    @property
    def train_seconds(self) -> float:
        """Simulated training time: ``TRAIN_EPOCHS`` epochs of about three inference passes each."""
        return self.latency * _TRAIN_COST_PER_FORWARD * TRAIN_EPOCHS

    def metrics(self) -> Dict[str, float]:
        """The trial's report: validation accuracy as the metric, the rest as named values."""
        return {"default": self.valid_accuracy, "valid_accuracy": self.valid_accuracy,
                "test_accuracy": self.test_accuracy, "latency": self.latency, "params": self.params,
                "train_seconds": self.train_seconds}


class _DataOnlyUnpickler(pickle.Unpickler):
    """Plain containers and numpy scalars only: anything else in the file is refused, never imported."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _NUMPY_GLOBALS:
            raise pickle.UnpicklingError(f"NAS-Bench-Graph table refers to {module}.{name}, which is not data; "
                                         f"the file is not a table of {_REQUIREMENT}")
        import numpy
        if name == "dtype":
            return numpy.dtype
        core = getattr(numpy, "_core", None) or numpy.core  # numpy 2 renamed numpy.core
        return core.multiarray.scalar


def _data_dir() -> Path:
    spec = importlib.util.find_spec(_PACKAGE)  # finds the package without running its code
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the NAS-Bench-Graph tables come with the {_REQUIREMENT} package, which is not "
                                  f"installed; run `pip install {_REQUIREMENT}` (or the project's "
                                  "scripts/setup.sh)")
    return Path(next(iter(spec.submodule_search_locations))) / "light"


def check_dataset(dataset: str) -> str:
    """``dataset`` when it is one of :data:`DATASETS`; ValueError listing them otherwise."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-Graph data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    return dataset


def sample_architecture(sample: Mapping[str, Any]) -> Tuple[List[int], List[str]]:
    """``(links, ops)`` of a sample of :class:`NasBenchGraphSpace` (labels ``op0..op3``, ``link1..link3``)."""
    try:
        links = [0] + [int(sample[f"link{i}"]) for i in range(1, NUM_NODES)]
        ops = [str(sample[f"op{i}"]) for i in range(NUM_NODES)]
    except KeyError as exc:
        raise ValueError(f"a NAS-Bench-Graph sample needs labels op0..op3 and link1..link3; {exc.args[0]!r} is "
                         f"missing from {dict(sample)!r}") from None
    return links, ops


class NasBenchGraph:
    """The table of one data set. Build it with :func:`load_table` (cached per process)."""

    def __init__(self, dataset: str) -> None:
        self.dataset = check_dataset(dataset)
        self.ops: Tuple[str, ...] = PROTEINS_OPS if dataset == "proteins" else OPS
        path = _data_dir() / f"{dataset}.bench"
        with open(path, "rb") as file:
            raw = _DataOnlyUnpickler(file).load()
        self._records: Dict[int, BenchRecord] = {
            int(key): BenchRecord(int(key), float(entry["valid_perf"]), float(entry["perf"]),
                                  float(entry["latency"]), float(entry["para"]))
            for key, entry in raw.items()}
        from nas_bench_graph.architecture import Arch  # the benchmark's own key function (pure Python)
        self._arch = Arch

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[BenchRecord]:
        return iter(self._records.values())

    def key(self, links: Sequence[int], ops: Sequence[str]) -> int:
        """The table key of an architecture (isomorphic architectures share it)."""
        links, ops = [int(x) for x in links], [str(x) for x in ops]
        if len(links) != NUM_NODES or len(ops) != NUM_NODES:
            raise ValueError(f"an architecture has {NUM_NODES} links and {NUM_NODES} ops, got {links} and {ops}")
        for i, link in enumerate(links):
            if not 0 <= link <= i:
                raise ValueError(f"node {i} can read the input (0) or an earlier node (1..{i}), got link {link}")
        unknown = [op for op in ops if op not in self.ops]
        if unknown:
            raise ValueError(f"unknown operation(s) {unknown} for data set {self.dataset!r}; choose from "
                             f"{', '.join(self.ops)}")
        if all(op == "skip" for op in ops):
            raise ValueError("an architecture of only 'skip' operations computes nothing and is not in the table")
        return int(self._arch(links, ops).valid_hash())

    def query(self, links: Sequence[int], ops: Sequence[str]) -> BenchRecord:
        """The record of an architecture."""
        key = self.key(links, ops)
        record = self._records.get(key)
        if record is None:
            raise KeyError(f"architecture links={list(links)} ops={list(ops)} (key {key}) is not in the "
                           f"{self.dataset} table")
        return record

    def query_sample(self, sample: Mapping[str, Any]) -> BenchRecord:
        """The record of a sample of :class:`NasBenchGraphSpace`."""
        return self.query(*sample_architecture(sample))

    @functools.cached_property
    def optimum(self) -> BenchRecord:
        """The architecture with the best validation accuracy (ties: the first in table order)."""
        return max(self._records.values(), key=lambda r: r.valid_accuracy)

    def regret(self, valid_accuracy: float) -> float:
        """Points (percent) of validation accuracy below the table's optimum."""
        if math.isnan(valid_accuracy):
            raise ValueError("regret of NaN: the model has no validation accuracy")
        return 100.0 * (self.optimum.valid_accuracy - valid_accuracy)


@functools.lru_cache(maxsize=None)
def load_table(dataset: str) -> NasBenchGraph:
    """The table of ``dataset`` (read once per process: about 0.1 s and 10 MB each)."""
    return NasBenchGraph(dataset)
