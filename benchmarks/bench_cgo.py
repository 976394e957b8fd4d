"""CGO speed-up: K small models merged into one trial vs. the same K models as separate trials.

Both runs use the ``ts`` engine on the ``local`` service with one trial slot (the same resources), warm
workers with torch and Lightning preloaded, and are measured side by side in one process.

* input-bound: every sample is preprocessed expensively in the dataset (a stack of matrix products), the
  models are tiny. With ``dedup_input`` the merged trial preprocesses each batch once for all K models, so the
  limit is K x; the target for K = 4 is a CGO wall time <= 1/3 of the separate trials'.
* compute-bound: plain digits, wide models: merging saves little, and must not cost more than 1.1 x.
"""
from __future__ import annotations

import json
import tempfile
import time
from typing import Any, Dict, List

import torch
from torch.utils.data import DataLoader, Dataset

import nascore.nn as nn
from nascore.trace import trace

INPUT_BOUND_TARGET = 1 / 3
COMPUTE_BOUND_LIMIT = 1.1


class SlowDigits(Dataset):
    """Digits whose every item costs ``work`` matrix products of preprocessing (an augmentation stand-in)."""

    def __init__(self, split: str, work: int) -> None:
        from nascore.evaluator import digits_dataset
        self.inner = digits_dataset(split, image=False)
        self.work = work
        self.mix = torch.linalg.qr(torch.randn(64, 64, generator=torch.Generator().manual_seed(0)))[0]

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        x, y = self.inner[index]
        for _ in range(self.work):
            x = torch.tanh(self.mix @ x)
        return x, y


class Mlp(nn.ModelSpace):
    def __init__(self, width: int = 16, depth: int = 1) -> None:
        super().__init__()
        import torch.nn as tnn
        self.act = nn.LayerChoice([tnn.ReLU(), tnn.Tanh(), tnn.GELU(), tnn.SiLU()], label="act")
        self.body = tnn.Sequential(tnn.Linear(64, width), *[tnn.Sequential(tnn.ReLU(), tnn.Linear(width, width))
                                                            for _ in range(depth - 1)])
        self.head = tnn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.body(x)))


def _evaluator(work: int, epochs: int):
    from nascore.evaluator import Classification, digits_dataset
    if work:
        train = trace(DataLoader)(trace(SlowDigits)("train", work), batch_size=64)
    else:
        train = trace(DataLoader)(trace(digits_dataset)("train", image=False), batch_size=64)
    val = trace(DataLoader)(trace(digits_dataset)("val", image=False), batch_size=256)
    return Classification(train_dataloaders=train, val_dataloaders=val, max_epochs=epochs)


def _models(k: int, width: int, depth: int, work: int, epochs: int) -> List[Any]:
    from nascore_graph.space import GraphModelSpace
    space = GraphModelSpace.from_model(Mlp(width, depth), _evaluator(work, epochs))
    return [space.freeze({"act": i % 4}) for i in range(k)]


def _config(engine: str, directory: str, k: int):
    from nascore.experiment.config import NasExperimentConfig
    config = NasExperimentConfig(engine, "graph", "local", experiment_working_directory=directory,
                                 trial_concurrency=1)
    config.training_service.preload = ["torch", "pytorch_lightning"]
    if engine == "cgo":
        config.max_concurrency_cgo = k
        config.batch_waiting_time = 600  # the batch goes because it is full, never by timer
    return config


def _timed(engine_name: str, models: List[Any], directory: str) -> float:
    from nascore.plugins import get_plugin_manager
    from nascore_training_service.engine import TrainingServiceEngine
    config = _config(engine_name, directory, len(models))
    inner = TrainingServiceEngine(config)
    engine = inner
    if engine_name == "cgo":
        engine = get_plugin_manager().get_middleware("cgo").load()(config)
        engine.set_engine(inner)
    warm = _models(1, 16, 1, 0, 1)[0]  # a warm-up trial: imports done, worker ready, for both runs alike
    inner.submit_models(warm)
    inner.wait_models(warm, timeout=300)
    try:
        started = time.perf_counter()
        engine.submit_models(*models)
        if not engine.wait_models(*models, timeout=600):
            raise RuntimeError(f"{engine_name}: models did not finish in 600 s")
        seconds = time.perf_counter() - started
    finally:
        engine.shutdown()
    failed = [m for m in models if m.metric is None]
    if failed:
        raise RuntimeError(f"{engine_name}: {failed[0]!r} has no metric ({failed[0].failure_reason})")
    return seconds


def _case(name: str, k: int, width: int, depth: int, work: int, epochs: int,
          repeats: int = 2) -> Dict[str, Any]:
    # Interleaved repeats, best of each: the machine is shared, so one slow moment must not decide.
    separate, merged = [], []
    with tempfile.TemporaryDirectory(prefix="nascore-bench-cgo-") as directory:
        for _ in range(repeats):
            separate.append(_timed("ts", _models(k, width, depth, work, epochs), directory))
            merged.append(_timed("cgo", _models(k, width, depth, work, epochs), directory))
    best_separate, best_merged = min(separate), min(merged)
    ratio = best_merged / best_separate
    result: Dict[str, Any] = {"case": name, "k": k, "separate_s": round(best_separate, 2),
                              "cgo_s": round(best_merged, 2), "cgo_over_separate": round(ratio, 3),
                              "speedup": round(best_separate / best_merged, 2),
                              "all_separate_s": [round(t, 2) for t in separate],
                              "all_cgo_s": [round(t, 2) for t in merged]}
    if name == "input_bound" and k == 4:
        result.update(target=round(INPUT_BOUND_TARGET, 3), ok=ratio <= INPUT_BOUND_TARGET)
    if name == "compute_bound":
        result.update(limit=COMPUTE_BOUND_LIMIT, ok=ratio <= COMPUTE_BOUND_LIMIT)
    return result


def run() -> List[Dict[str, Any]]:
    return [
        _case("input_bound", 4, width=16, depth=1, work=400, epochs=1),
        _case("input_bound", 2, width=16, depth=1, work=400, epochs=1),
        _case("compute_bound", 4, width=512, depth=4, work=0, epochs=4),
    ]


if __name__ == "__main__":
    # Run the module imported by name: trial processes must import SlowDigits/Mlp from it, not from __main__.
    from benchmarks import bench_cgo
    for row in bench_cgo.run():
        print(json.dumps({"benchmark": "cgo", **row}), flush=True)
