"""nascore-ray against Ray Tune and against the local service, side by side in one run.

On one local 2-CPU Ray instance (a head node started with ``ray start``, token authentication on), in one run:

* 200 no-op trials through nascore-ray (ts engine, warm actors, 1 CPU per trial, so 2 at a time) and the same
  200 trials through Ray Tune itself (``reuse_actors=True``, ``max_concurrent_trials=2``, no result loggers,
  ``verbose=0``). Targets: nascore-ray's trials/s (from the first result to the last) >= 3x Ray Tune's; its
  start-up (from the call, connecting included, until the first trial's result arrives) no slower than Ray
  Tune's. End-to-end seconds are reported too. Each side runs twice (Tune, nascore-ray, nascore-ray, Tune); the
  best run of each counts.
* A 1-second trial (sleep) on nascore-ray vs the local training service, 2 at a time, warm: per-trial time on
  Ray <= 1.05x local.
* Memory (RSS, MB) of the Ray processes: the instance (GCS, raylet, agents) and the trial actors nascore-ray
  started.

Needs ``ray[tune]`` (``pip install 'nascore-ray[bench]'``; the project's set-up installs it).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

from nascore.trial import report_final_result

ROOT = str(Path(__file__).resolve().parents[1])
NOOP_TRIALS = 200
SLEEP_TRIALS = 6  # per service: three rounds of two
SLEEP_SECONDS = 1.0


def sleep_trial(sample: Dict[str, Any]) -> None:
    time.sleep(sample["seconds"])
    report_final_result(sample["i"])


def tune_noop(config: Dict[str, Any]) -> None:
    from ray import tune
    tune.report({"score": config["i"]})


def _models(function: str, n: int, **sample):
    from nascore.conformance import ConformanceModel
    return [ConformanceModel(dict(sample, i=i), function) for i in range(n)]


def _engine(directory: Path, service: str, address: str = None, concurrency: int = None, code: str = ROOT):
    from nascore.experiment.config import NasExperimentConfig
    from nascore_training_service.engine import TrainingServiceEngine
    settings = {"trial_concurrency": concurrency} if concurrency else {}
    config = NasExperimentConfig("ts", None, service, experiment_working_directory=str(directory), **settings)
    config.training_service.preload = []  # neither side's trials import torch
    if service == "ray":
        config.training_service.address = address
        config.training_service.trial_code_directory = code  # benchmarks/ travels to the node
    engine = TrainingServiceEngine(config)
    engine.log_directory = directory / f"{service}-{time.monotonic_ns()}"
    return engine


def _run(engine, models) -> float:
    started = time.perf_counter()
    engine.submit_models(*models)
    assert engine.wait_models(*models, timeout=900), "benchmark trials did not finish"
    failed = [m for m in models if m.metrics.final is None]
    assert not failed, f"{len(failed)} trial(s) failed: {failed[0].failure_reason}"
    return time.perf_counter() - started


def _rss_mb(pids: List[int]) -> float:
    import psutil
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.Error:
            pass
    return round(total / 2**20, 1)


def bench_nascore_ray(directory: Path, cluster) -> Dict[str, Any]:
    from nascore.engine import ModelEventType
    code = directory / "no-code"  # the no-op trial is nascore's own (installed); Tune ships no code either
    code.mkdir(exist_ok=True)
    engine = _engine(directory, "ray", cluster.address, code=str(code))
    first, last = [], []
    engine.register_model_event_callback(ModelEventType.FinalMetric, lambda event: (
        first or first.append(time.perf_counter()), last.append(time.perf_counter())))
    models = _models("nascore.conformance:returning_trial", NOOP_TRIALS, x=0)
    started = time.perf_counter()
    try:
        elapsed = _run(engine, models)
        actors = [info["pid"] for info in engine.service.actor_info() if info]
        memory = {"actors_mb": _rss_mb(actors), "instance_mb": _rss_mb([p for p in cluster.pids() if p not in actors])}
    finally:
        engine.shutdown()
    return {"seconds": elapsed, "startup_s": first[0] - started, "steady_s": last[-1] - first[0], **memory,
            "actors": len(actors)}


def bench_tune(directory: Path, cluster) -> Dict[str, Any]:
    import ray
    from ray import tune
    os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] = "1"  # Tune at its fastest: no CSV/JSON/TensorBoard loggers
    first, last = [], []

    class First(tune.Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info):
            first or first.append(time.perf_counter())
            last.append(time.perf_counter())

    started = time.perf_counter()
    ray.init(address=cluster.address, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": ROOT}})
    try:
        tuner = tune.Tuner(tune_noop, param_space={"i": tune.grid_search(list(range(NOOP_TRIALS)))},
                           tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=2),
                           run_config=tune.RunConfig(storage_path=str(directory / "tune"), verbose=0,
                                                     callbacks=[First()]))
        results = tuner.fit()
        elapsed = time.perf_counter() - started
        assert len(results) == NOOP_TRIALS and not results.errors, results.errors
    finally:
        ray.shutdown()
    return {"seconds": elapsed, "startup_s": first[0] - started, "steady_s": last[-1] - first[0]}


def bench_throughput(directory: Path, cluster) -> Dict[str, Any]:
    # Both run twice, in the order Tune, nascore-ray, nascore-ray, Tune (neither gets the fresh cluster alone);
    # each side's best run counts.
    runs = {"tune": [], "ours": []}
    for side in ("tune", "ours", "ours", "tune"):
        runs[side].append(bench_tune(directory, cluster) if side == "tune" else bench_nascore_ray(directory, cluster))
    ours = min(runs["ours"], key=lambda r: r["steady_s"])
    tune = min(runs["tune"], key=lambda r: r["steady_s"])
    ours_startup = min(r["startup_s"] for r in runs["ours"])
    tune_startup = min(r["startup_s"] for r in runs["tune"])
    # trials/s once the first result is in (start-up is its own figure), and end to end including start-up
    ours_rate, tune_rate = (NOOP_TRIALS - 1) / ours["steady_s"], (NOOP_TRIALS - 1) / tune["steady_s"]
    return {"name": "ray_vs_tune_noop_trials", "trials": NOOP_TRIALS, "cpus": 2,
            "nascore_ray_trials_per_s": round(ours_rate, 1), "tune_trials_per_s": round(tune_rate, 1),
            "ratio": round(ours_rate / tune_rate, 2), "target_ratio": 3.0,
            "nascore_ray_end_to_end_s": round(min(r["seconds"] for r in runs["ours"]), 2),
            "tune_end_to_end_s": round(min(r["seconds"] for r in runs["tune"]), 2),
            "nascore_ray_startup_s": round(ours_startup, 2), "tune_startup_s": round(tune_startup, 2),
            "ray_instance_rss_mb": ours["instance_mb"], "nascore_ray_actors_rss_mb": ours["actors_mb"],
            "nascore_ray_actors": ours["actors"],
            "ok": ours_rate >= 3 * tune_rate and ours_startup <= tune_startup}


def bench_one_second_trials(directory: Path, cluster) -> Dict[str, Any]:
    times: Dict[str, List[float]] = {"ray": [], "local": []}
    engines = {"ray": _engine(directory, "ray", cluster.address), "local": _engine(directory, "local",
                                                                                  concurrency=2)}
    try:
        for name, engine in engines.items():  # warm: actors / workers started, the trial module imported
            _run(engine, _models("benchmarks.bench_ray:sleep_trial", 2, seconds=0.0))
        for _ in range(SLEEP_TRIALS // 2):  # alternate, so both see the same machine load
            for name, engine in engines.items():
                times[name].append(_run(engine, _models("benchmarks.bench_ray:sleep_trial", 2,
                                                        seconds=SLEEP_SECONDS)))
    finally:
        for engine in engines.values():
            engine.shutdown()
    ray_s, local_s = sum(times["ray"]) / len(times["ray"]), sum(times["local"]) / len(times["local"])
    ratio = ray_s / local_s
    return {"name": "ray_vs_local_one_second_trial", "trials_each": SLEEP_TRIALS, "trial_concurrency": 2,
            "ray_trial_s": round(ray_s, 3), "local_trial_s": round(local_s, 3), "ratio": round(ratio, 3),
            "target_ratio": 1.05, "ok": ratio <= 1.05}


def run() -> List[Dict[str, Any]]:
    from nascore_ray.testing import LocalRayCluster
    cluster = LocalRayCluster(fast_failure_detection=False)
    try:
        cluster.start(head_cpus=2)
        with cluster.driver(), tempfile.TemporaryDirectory(prefix="nascore-bench-ray-") as tmp:
            directory = Path(tmp)
            return [bench_throughput(directory, cluster), bench_one_second_trials(directory, cluster)]
    finally:
        cluster.stop()

if __name__ == "__main__":
    for result in run():
        print(json.dumps(result))
