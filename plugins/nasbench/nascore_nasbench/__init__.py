"""nascore-nasbench: the NAS-Bench-Graph tabular benchmark as a nascore model space and evaluator.

``NasBenchGraphSpace`` is the benchmark's architecture space written with nascore mutables (so every
strategy samples it like any space), ``NasBenchGraphEvaluator(dataset)`` looks a frozen model up in the
table instead of training it, and ``load_table(dataset)`` gives direct access to the table (optimum,
records, architecture keys) for benchmarks of strategies.
"""
from __future__ import annotations

from nascore.lazy import lazy_exports

__all__ = ["DATASETS", "BenchRecord", "NasBenchGraph", "load_table", "NasBenchGraphSpace",
           "NasBenchGraphEvaluator", "evaluate_sample"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "DATASETS": ".table", "BenchRecord": ".table", "NasBenchGraph": ".table", "load_table": ".table",
    "NasBenchGraphSpace": ".space", "NasBenchGraphEvaluator": ".evaluator", "evaluate_sample": ".evaluator",
})
