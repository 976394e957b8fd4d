"""nascore's performance harness: ``python -m benchmarks NAME [NAME ...]`` or ``python -m benchmarks all``.

Each ``benchmarks/bench_<name>.py`` defines ``run() -> list[dict]``; every dict is printed as one JSON line.
Timings are ratios measured side by side in one run, since these machines are shared and noisy.
"""
