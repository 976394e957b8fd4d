"""Entry point of nascore-dashboard. Light on purpose: Starlette and uvicorn are imported only when a dashboard
is started; the observer hooks only note which models belong to the experiment a dashboard serves."""
from __future__ import annotations

from typing import Any, List

from nascore import hookimpl
from nascore.specs import DashboardSpec


@hookimpl
def nascore_dashboards() -> List[DashboardSpec]:
    return [DashboardSpec(name="dashboard", factory="nascore_dashboard.server:DashboardServer",
                          description="live web dashboard: experiments, overview, trials, trial detail, compare")]


@hookimpl
def nascore_experiment_started(experiment: Any) -> None:
    from nascore_dashboard.live import LIVE
    LIVE.started(experiment)


@hookimpl
def nascore_model_submitted(model: Any) -> None:
    from nascore_dashboard.live import LIVE
    LIVE.model(model)


@hookimpl
def nascore_experiment_finished(experiment: Any) -> None:
    from nascore_dashboard.live import LIVE
    LIVE.finished(experiment)
