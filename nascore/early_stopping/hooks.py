"""The built-in plugin ``nascore.early_stopping``: registers the early stoppers shipped with the core."""
from __future__ import annotations

from typing import List

from nascore.plugins import hookimpl
from nascore.specs import EarlyStopperSpec


@hookimpl
def nascore_early_stoppers() -> List[EarlyStopperSpec]:
    return [
        EarlyStopperSpec(name="median", factory="nascore.early_stopping.median:MedianStop",
                         description="stop a trial below the median of finished trials at the same step"),
        EarlyStopperSpec(name="asha", factory="nascore.early_stopping.asha:ASHA",
                         description="asynchronous successive halving: keep the top 1/reduction_factor per rung"),
    ]
