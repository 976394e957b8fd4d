"""The Starlette application: JSON routes over the catalog, the event stream, the two control actions, the page.

Access rule (as Jupyter's): the token printed at start is needed for every control action (header
``X-Nascore-Token``, which another site's page cannot send); when the server listens on anything but loopback,
every ``/api`` route needs it too (header, or ``?token=`` for the event stream). On loopback the ``Host`` header
must name loopback, so a page of another site cannot reach the API through DNS rebinding.
"""
from __future__ import annotations

import hmac
import time
from pathlib import Path
from typing import Any, Dict, Optional

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from nascore_dashboard import architecture
from nascore_dashboard.catalog import Catalog, UnknownExperiment, summarize
from nascore_dashboard.early import early_stopping, stopped_points, with_early
from nascore_dashboard.live import LiveExperiment
from nascore_dashboard.pareto import pareto_view
from nascore_dashboard.reader import TrialQuery
from nascore_dashboard.stream import event_stream

__all__ = ["build_app", "LOOPBACK"]

STATIC = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
_LOG_TAIL = 16 * 1024


class Dashboard:
    """What the routes share: the catalog, the token, and the experiment this process runs (if any)."""

    def __init__(self, catalog: Catalog, token: str, host: str, live: Optional[LiveExperiment] = None) -> None:
        self.catalog, self.token, self.host, self.live = catalog, token, host, live
        self.loopback = host in LOOPBACK
        self.closing = False

    def token_ok(self, given: Optional[str]) -> bool:
        return bool(given) and hmac.compare_digest(str(given), self.token)

    def live_for(self, experiment_id: str) -> Optional[LiveExperiment]:
        return self.live if self.live is not None and self.live.id == experiment_id else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class Guard:
    """ASGI middleware enforcing the access rule above."""

    def __init__(self, app: Any, dashboard: Dashboard) -> None:
        self.app, self.dashboard = app, dashboard

    async def __call__(self, scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            response = self.refuse(Request(scope))
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refuse(self, request: Request) -> Optional[Response]:
        d = self.dashboard
        if d.loopback and request.url.hostname not in LOOPBACK:
            return _error(400, f"unexpected Host {request.url.hostname!r}: this dashboard answers on loopback only")
        header = request.headers.get("x-nascore-token")
        if request.method not in ("GET", "HEAD"):
            if not d.token_ok(header):
                return _error(403, "this action needs the access token printed in the console when the dashboard "
                                   "started (open the printed URL, which carries it)")
        elif request.url.path.startswith("/api/") and not d.loopback:
            if not d.token_ok(header or request.query_params.get("token")):
                return _error(401, "this dashboard listens beyond loopback: open the URL printed in the console, "
                                   "which carries the access token")
        return None


def _reader(request: Request):
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard, dashboard.catalog.reader(request.path_params["eid"])


def experiments(request: Request) -> JSONResponse:
    dashboard: Dashboard = request.app.state.dashboard
    return JSONResponse({"experiments": dashboard.catalog.experiments(),
                         "control": dashboard.live.id if dashboard.live else None})


def overview(request: Request) -> JSONResponse:
    dashboard, reader = _reader(request)
    live = dashboard.live_for(request.path_params["eid"])
    summary = summarize(reader, live=live is not None and live.running)
    meta = reader.meta("config", "strategy_recipe", "strategy_class")
    summary.update(config=meta.get("config"), strategy_detail=meta.get("strategy_recipe"),
                   finals=reader.finals(), stopped=stopped_points(reader), labels=reader.labels(), seq=reader.last_seq(),
                   last_model=reader.last_model_id(), eta=_eta(summary), control=live is not None,
                   now=time.time())
    return JSONResponse(summary)


def _eta(s: Dict[str, Any]) -> Optional[float]:
    """Seconds left: from the trial budget at the pace so far, capped by the duration budget."""
    if s["status"] != "running" or not s.get("elapsed"):
        return None
    left = []
    if s.get("max_trials") and s["finished"]:
        left.append(s["elapsed"] / s["finished"] * max(0, s["max_trials"] - s["finished"]))
    if s.get("max_duration"):
        left.append(max(0.0, float(s["max_duration"]) - s["elapsed"]))
    return min(left) if left else None


def trials(request: Request) -> JSONResponse:
    _, reader = _reader(request)
    q = request.query_params
    try:
        query = TrialQuery(sort=q.get("sort", "id"), descending=q.get("desc") in ("1", "true"),
                           status=q.get("status"), filters=q.getlist("filter"), search=q.get("q", ""),
                           offset=int(q.get("offset", 0)), limit=int(q.get("limit", 50)))
        page = reader.trials(query)
    except ValueError as exc:
        return _error(400, str(exc))
    page["labels"] = reader.labels()
    page["counts"] = reader.counts()
    return JSONResponse(page)


def trial(request: Request) -> JSONResponse:
    dashboard, reader = _reader(request)
    model_id = int(request.path_params["mid"])
    detail = reader.trial(model_id)
    if detail is None:
        return _error(404, f"no trial #{model_id} in experiment {request.path_params['eid']}")
    meta = reader.meta("model_format", "config")
    engine = ((meta.get("config") or {}).get("execution_engine") or {})
    engine = engine.get("name") if isinstance(engine, dict) else engine
    payload = detail.pop("payload")
    if with_early(reader, [detail])[0].get("early"):  # how far it got, against a full trial's reports
        detail["early"]["full_steps"] = (early_stopping(reader) or {}).get("full_steps")
    detail["merged_with"] = architecture.merged_models(detail, engine)
    detail["graph"] = architecture.graph_of(payload)
    detail["code"] = architecture.code_of(payload, meta.get("model_format")) if detail["graph"] else None
    detail["logs"] = _logs(reader.directory, detail.pop("log_path"))
    live = dashboard.live_for(request.path_params["eid"])
    model = live.model(model_id) if live is not None else None
    if model is not None:
        detail["architecture"] = architecture.describe_model(model)
    else:
        detail["architecture"] = {"tree": None, "params": None,
                                  "error": "the module tree is built from the experiment's own code, which a viewer "
                                           "never runs; it is shown while the experiment runs with its dashboard"}
    detail["control"] = live is not None and detail["status"] in ("training", "frozen")
    return JSONResponse(detail)


def _logs(directory: Path, log_path: Optional[str]) -> Dict[str, Optional[str]]:
    """The tails of the trial's stdout/stderr; only files inside the experiment directory are read."""
    result: Dict[str, Optional[str]] = {"stdout": None, "stderr": None}
    if not log_path:
        return result
    root, folder = directory.resolve(), Path(log_path)
    for name in result:
        path = (folder / f"{name}.log").resolve()  # links included: a store cannot point the viewer elsewhere
        if root in path.parents and path.is_file():
            with open(path, "rb") as f:
                f.seek(max(0, path.stat().st_size - _LOG_TAIL))
                result[name] = f.read().decode("utf-8", "replace")
    return result


def curves(request: Request) -> JSONResponse:
    _, reader = _reader(request)
    try:
        ids = [int(x) for x in request.query_params.get("ids", "").split(",") if x.strip()][:50]
    except ValueError:
        return _error(400, "ids must be trial ids separated by commas, e.g. ids=1,4,7")
    return JSONResponse({"curves": {str(k): v for k, v in reader.curves(ids).items()},
                         "rows": reader.rows_by_id(ids)})


def parallel(request: Request) -> JSONResponse:
    _, reader = _reader(request)
    return JSONResponse({"labels": reader.labels(), "points": reader.parallel()})


def pareto(request: Request) -> JSONResponse:
    _, reader = _reader(request)
    return JSONResponse({"pareto": pareto_view(reader)})


async def stream(request: Request) -> Response:
    dashboard, reader = _reader(request)
    q = request.query_params
    return event_stream(request, dashboard, reader, int(q.get("seq", 0)), int(q.get("model", 0)))


def stop(request: Request) -> JSONResponse:
    live = _controllable(request)
    if isinstance(live, JSONResponse):
        return live
    if not live.stop():
        return _error(409, f"experiment {live.id} is not running")
    return JSONResponse({"stopping": live.id})


def cancel(request: Request) -> JSONResponse:
    live = _controllable(request)
    if isinstance(live, JSONResponse):
        return live
    model_id = int(request.path_params["mid"])
    if not live.cancel(model_id):
        return _error(409, f"trial #{model_id} is not running, or this engine cannot stop a single trial")
    return JSONResponse({"cancelled": model_id})


def _controllable(request: Request):
    dashboard: Dashboard = request.app.state.dashboard
    live = dashboard.live_for(request.path_params["eid"])
    if live is None:
        return _error(409, f"experiment {request.path_params['eid']} is not run by this dashboard's process; "
                           "stop it where it runs")
    return live


def index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html")


def build_app(dashboard: Dashboard) -> Starlette:
    """The Starlette application serving ``dashboard``'s pages, JSON API and event stream."""
    async def unknown(request: Request, exc: Exception) -> JSONResponse:
        return _error(404, str(exc))

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/experiments", experiments),
        Route("/api/experiments/{eid}", overview),
        Route("/api/experiments/{eid}/trials", trials),
        Route("/api/experiments/{eid}/trials/{mid:int}", trial),
        Route("/api/experiments/{eid}/curves", curves),
        Route("/api/experiments/{eid}/parallel", parallel),
        Route("/api/experiments/{eid}/pareto", pareto),
        Route("/api/experiments/{eid}/stream", stream),
        Route("/api/experiments/{eid}/stop", stop, methods=["POST"]),
        Route("/api/experiments/{eid}/trials/{mid:int}/cancel", cancel, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], exception_handlers={UnknownExperiment: unknown})
    app.state.dashboard = dashboard
    app.add_middleware(Guard, dashboard=dashboard)
    return app
