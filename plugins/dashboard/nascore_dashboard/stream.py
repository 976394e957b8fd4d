"""Server-sent events: what changed in an experiment's store since the page loaded, as increments.

Each open page has one stream. It reads the store's ``events`` after the last sequence number it sent, the
models added after the last id, and the experiment's status, every ``POLL`` seconds (a new metric reaches the
page well within a second), and sends only what is new. The store is the single source, so the same stream
follows an experiment run by this process and one run by another process on this machine.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from nascore_dashboard.catalog import summarize
from nascore_dashboard.reader import StoreReader

__all__ = ["event_stream", "POLL"]

POLL = 0.25  # seconds between looks at the store
_KEEPALIVE = 15.0  # a comment line now and then so proxies keep the connection open
_STATUS_EVERY = 4  # polls between looks at the status when nothing happened (once a second)


def _changes(dashboard: Any, reader: StoreReader, seq: int, model_id: int, last_status: Any,
             look_at_status: bool) -> dict:
    """New events and models; the summary when something changed, or (``look_at_status``) now and then, to
    catch a status change that comes without an event (the run stopped, its process died)."""
    events = reader.events_since(seq)
    models = reader.models_since(model_id)
    changed_ids = {e["id"] for e in events if e["type"] == "end"} - {m["id"] for m in models}
    update = {"events": events, "models": models, "rows": reader.rows_by_id(sorted(changed_ids)),
              "_key": last_status}
    if not (models or look_at_status or any(e["type"] != "intermediate" for e in events)):
        return update  # intermediate metrics change no count, best or status
    live = dashboard.live_for(reader.directory.name)
    summary = summarize(reader, live=live is not None and live.running)
    key = (summary["status"], summary["trials"], summary["finished"], (summary.get("best") or {}).get("id"))
    if key != last_status or models:
        update["summary"] = summary
    update["_key"] = key
    return update


def event_stream(request: Request, dashboard: Any, reader: StoreReader, seq: int, model_id: int) -> StreamingResponse:
    """A server-sent-events response streaming new store rows after event ``seq`` and model ``model_id``."""
    async def generate() -> AsyncIterator[str]:
        nonlocal seq, model_id
        last_key: Any = None
        quiet = 0.0
        yield "retry: 1000\n\n"
        polls = 0
        while not dashboard.closing and not await request.is_disconnected():
            update = await run_in_threadpool(_changes, dashboard, reader, seq, model_id, last_key,
                                             polls % _STATUS_EVERY == 0)
            polls += 1
            last_key = update.pop("_key")
            if update["events"]:
                seq = update["events"][-1]["seq"]
            if update["models"]:
                model_id = update["models"][-1]["id"]
            if update["events"] or update["models"] or "summary" in update:
                quiet = 0.0
                yield f"data: {json.dumps(update)}\n\n"
            elif quiet >= _KEEPALIVE:
                quiet = 0.0
                yield ": keepalive\n\n"
            await asyncio.sleep(POLL)
            quiet += POLL

    return StreamingResponse(generate(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
