"""Entry point of nascore-cgo. Light on purpose: torch and Lightning load only when CGO is used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import MiddlewareSpec, OptimizerSpec
from nascore_cgo.config import CgoConfig


@hookimpl
def nascore_middlewares() -> List[MiddlewareSpec]:
    return [MiddlewareSpec(
        name="cgo",
        factory="nascore_cgo.middleware:CgoMiddleware",
        config_model=CgoConfig,
        requires_format="graph",
        engine="ts",
        description="merges up to max_concurrency_cgo graph models into one multi-model trial",
    )]


@hookimpl
def nascore_optimizers() -> List[OptimizerSpec]:
    return [OptimizerSpec(
        name="dedup_input",
        factory="nascore_cgo.dedup:DedupInputOptimizer",
        description="models trained on the same data read and preprocess each batch once",
    )]
