"""A generated experiment store (for the browser tests, the benchmark and trying the dashboard out).

The schema comes from :class:`~nascore.experiment.store.ExperimentStore` itself; rows are inserted in one
transaction because 10,000 trials x 100 intermediate metrics through the per-event API would take minutes.
"""
from __future__ import annotations

import json
import math
import random
import sqlite3
import time
from pathlib import Path
from typing import Union

from nascore.experiment.store import ExperimentStore, sample_key

__all__ = ["make_store"]

_OPS = ["conv3x3", "conv5x5", "maxpool", "identity", "sepconv"]


def make_store(directory: Union[str, Path], trials: int = 100, intermediates: int = 10, seed: int = 0,
               status: str = "done", two_objectives: bool = False) -> Path:
    """Write a finished experiment of ``trials`` models with ``intermediates`` reports each; about 5% fail.
    ``two_objectives``: the metric (max) and a profiled parameter count (min), as a multi-objective run."""
    directory = Path(directory)
    rng = random.Random(seed)
    with ExperimentStore.create(directory) as store:
        store.set_meta("id", directory.name)
        store.save_config({"experiment_name": None, "max_trial_number": trials, "trial_concurrency": 4,
                           "execution_engine": {"name": "ts"}, "model_format": {"name": "simplified"},
                           "training_service": {"name": "local"}, "metric_direction": "maximize"})
        store.set_meta("metric_direction", "maximize")
        store.set_meta("model_format", "simplified")
        store.set_meta("strategy_class", "nascore.strategy:RegularizedEvolution")
        store.set_meta("sessions", 1)
        if two_objectives:
            store.set_meta("objectives", [{"name": "default", "mode": "max"}, {"name": "params", "mode": "min"}])
    start = time.time() - trials * 2.0
    conn = sqlite3.connect(str(directory / "nascore.db"))
    with conn:
        models, events = [], []
        for i in range(1, trials + 1):
            sample = {"width": rng.choice([16, 32, 64]), "depth": rng.randint(1, 4), "op": rng.choice(_OPS),
                      "lr": rng.choice([0.1, 0.01, 0.001])}
            quality = 0.5 + 0.1 * math.log2(sample["width"] / 8) + 0.02 * sample["depth"] + rng.gauss(0, 0.03)
            t0, failed = start + i * 2.0, rng.random() < 0.05
            if two_objectives:
                params = sample["width"] * sample["width"] * sample["depth"] * 9
                events.append((i, t0, "profile", json.dumps({"params": params})))
            curve = [quality * (1 - math.exp(-3 * (k + 1) / intermediates)) for k in range(intermediates)]
            t_end = t0 + 1.5
            for k, value in enumerate(curve[: intermediates // 2 if failed else intermediates]):
                events.append((i, t0 + 1.5 * (k + 1) / intermediates, "intermediate", json.dumps(value)))
            final = None if failed else curve[-1]
            if final is not None:
                events.append((i, t_end, "final", json.dumps(final)))
            end_status = "failed" if failed else "trained"
            reason = "RuntimeError: CUDA out of memory (generated)" if failed else None
            events.append((i, t_end, "end", json.dumps({"status": end_status, "reason": reason})))
            models.append((i, 1, json.dumps(sample), sample_key(sample), end_status,
                           None if final is None else json.dumps(final), final, reason, t0, t0, t_end,
                           None, f"gpu{i % 4}@node{i % 3}:22"))
        conn.executemany("INSERT INTO models (id, session, sample, sample_key, status, final, final_value, "
                         "failure_reason, submit_time, start_time, end_time, log_path, worker) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", models)
        conn.executemany("INSERT INTO events (model_id, time, type, value) VALUES (?, ?, ?, ?)", events)
        conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                         [("status", json.dumps(status)), ("start_time", json.dumps(start)),
                          ("end_time", json.dumps(start + trials * 2.0 + 2))])
    conn.close()
    return directory
