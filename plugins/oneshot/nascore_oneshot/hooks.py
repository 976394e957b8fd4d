"""Entry point of nascore-oneshot. Light on purpose: the strategies (torch) are imported only when used."""
from __future__ import annotations

from typing import List

from nascore import hookimpl
from nascore.specs import StrategySpec


@hookimpl
def nascore_strategies() -> List[StrategySpec]:
    return [
        StrategySpec(name="darts", factory="nascore_oneshot.darts:DARTS", kind="one-shot",
                     description="DARTS: differentiable architecture weights, bi-level optimisation"),
        StrategySpec(name="random_oneshot", factory="nascore_oneshot.random_oneshot:RandomOneShot",
                     kind="one-shot", description="single-path uniform sampling supernet (SPOS-style)"),
    ]
