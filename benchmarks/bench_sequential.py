"""Sequential engine overhead per trial, beyond the evaluator's own time (target: <= 2 ms).

500 trials of a no-op evaluator on raw-format models whose modules are built beforehand, so what is left is
the engine: budget checks, status changes, the trial context, the three events and their default handling.
The same evaluator called in a bare loop is measured side by side as the baseline.
"""
from __future__ import annotations

import json
import time
from typing import Dict, List

TRIALS = 500
TARGET_MS = 2.0


def _space():
    import torch.nn as tnn

    import nascore.nn as nn

    class Tiny(nn.ModelSpace):
        def __init__(self):
            super().__init__()
            self.op = nn.LayerChoice([tnn.Linear(2, 2), tnn.Identity()], label="op")

    return Tiny()


class _NoOpEvaluator:
    """Reports one final metric and does nothing else; counts its own time."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def evaluate(self, model) -> None:
        from nascore.trial import report_final_result
        started = time.perf_counter()
        report_final_result(1.0)
        self.seconds += time.perf_counter() - started


def run() -> List[Dict]:
    from nascore.space import ModelStatus
    from nascore_raw.space import RawModelSpace
    from nascore_sequential.engine import SequentialExecutionEngine

    evaluator = _NoOpEvaluator()
    space = RawModelSpace.from_model(_space(), evaluator)
    models = [space.freeze({"op": i % 2}) for i in range(TRIALS)]
    for model in models:
        model.executable_model()  # build now: module construction is the format's cost, not the engine's

    # baseline: the evaluator alone, as many times
    baseline = _NoOpEvaluator()
    started = time.perf_counter()
    for model in models:
        baseline.evaluate(model.executable_model())
    bare = time.perf_counter() - started

    engine = SequentialExecutionEngine()
    started = time.perf_counter()
    for model in models:
        engine.submit_models(model)
    total = time.perf_counter() - started
    assert all(m.status is ModelStatus.Trained and m.metrics.final == 1.0 for m in models)

    overhead_ms = (total - evaluator.seconds) / TRIALS * 1e3
    return [{
        "name": "sequential_overhead_per_trial",
        "trials": TRIALS,
        "overhead_ms": round(overhead_ms, 4),
        "target_ms": TARGET_MS,
        "ok": overhead_ms <= TARGET_MS,
        "engine_total_s": round(total, 4),
        "bare_evaluator_loop_s": round(bare, 4),
        "ratio_engine_to_bare_loop": round(total / bare, 1) if bare else None,
    }]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result))
