"""Read-only queries over one experiment's store (``nascore.db``), shaped for the pages.

The dashboard never writes, creates or locks anything in an experiment directory: while no process has the
store open (no ``-wal`` file), it is read as immutable, which creates no side files; once a writer appears the
connection is reopened with ``mode=ro`` over the writer's own log, so a running experiment is seen live.
Queries go to the store's public schema (tables ``meta``, ``models``, ``events``) directly rather than through
:class:`~nascore.experiment.store.ExperimentStore`, so a page of 50 trials out of 10,000 costs a slice of a
cached ordering, not a load of every model with its curve. Columns added to the schema later are
passed through untouched (``extra`` of a trial) rather than guessed at.
"""
from __future__ import annotations

import json
import math
import sqlite3
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from nascore.experiment.store import DB_NAME

from nascore_dashboard.early import with_early
from nascore_dashboard.query import TrialQuery, label_path

__all__ = ["StoreReader", "TrialQuery", "metric_columns"]

_KNOWN_COLUMNS = {"id", "session", "sample", "sample_key", "payload", "status", "final", "final_value",
                  "failure_reason", "submit_time", "start_time", "end_time", "log_path", "worker"}
_ROW_COLUMNS = ("id, session, sample, status, final, final_value, failure_reason, submit_time, start_time, end_time, "
                "log_path")  # and ``worker`` where the store has it (stores written before it was recorded do not)
_CACHED_ORDERS = 8  # table orderings kept (sort x filters); 10,000 trials: 80 kB each


def _loads(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


def _number(value: Any) -> Optional[float]:
    """A finite float, else None (NaN and inf are never plotted or ranked)."""
    if isinstance(value, dict):
        value = value.get("default")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def metric_columns(final: Any) -> Dict[str, Optional[float]]:
    """``{"metric": v}`` for a plain number, ``{name: v, ...}`` for a dict of named metrics."""
    if isinstance(final, dict):
        return {("metric" if k == "default" else str(k)): _number(v) for k, v in final.items()}
    return {"metric": _number(final)}


class StoreReader:
    """Read-only access to one experiment directory's store. Thread-safe; one connection."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._path = (self.directory / DB_NAME).resolve()
        self._wal = self._path.with_name(self._path.name + "-wal")
        self._lock = threading.Lock()
        self._immutable = False
        self._conn = self._connect()
        self._orders: Dict[Tuple[str, tuple], Tuple[Tuple[int, int], List[int]]] = {}

    def _connect(self) -> sqlite3.Connection:
        self._immutable = not self._wal.exists()
        mode = "immutable=1" if self._immutable else "mode=ro"
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(self._path))}?{mode}", uri=True,
                               check_same_thread=False, timeout=5.0)
        conn.row_factory = sqlite3.Row
        has_worker = any(r[1] == "worker" for r in conn.execute("PRAGMA table_info(models)"))
        self._row_columns = _ROW_COLUMNS + (", worker" if has_worker else "")
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _rows(self, sql: str, params: Iterable[Any] = (), plain: bool = False) -> List[Any]:
        """Rows as ``sqlite3.Row`` (or plain tuples, faster for thousands of rows)."""
        with self._lock:
            if self._immutable and self._wal.exists():  # a writer opened the store: follow its log from now on
                self._conn.close()
                self._conn = self._connect()
            cursor = self._conn.cursor()
            if plain:
                cursor.row_factory = None
            return cursor.execute(sql, tuple(params)).fetchall()

    # ---- experiment ------------------------------------------------------------------------------------
    def meta(self, *keys: str) -> Dict[str, Any]:
        if keys:
            marks = ",".join("?" * len(keys))
            rows = self._rows(f"SELECT key, value FROM meta WHERE key IN ({marks})", keys)
        else:
            rows = self._rows("SELECT key, value FROM meta")
        return {r["key"]: _loads(r["value"]) for r in rows}

    def objective(self) -> Tuple[str, str]:
        """The recorded objective: (metric name, "maximize" | "minimize"); older stores: their direction."""
        objective = self.objective_spec()
        return objective.name, objective.direction

    def objective_spec(self) -> Any:
        """The recorded :class:`~nascore.metric.Objective`."""
        from nascore.metric import Objective
        meta = self.meta("objective", "metric_direction")
        saved = meta.get("objective")
        return Objective.parse(saved) if saved else Objective("default", meta.get("metric_direction") or "max")

    def direction(self, meta: Dict[str, Any]) -> str:
        return self.objective()[1]

    def _metric_sql(self) -> str:
        """SQL for the objective's value of a model: the stored number, or the named entry of its metrics."""
        name = self.objective()[0]
        if name == "default":
            return "final_value"
        return "json_extract(final, '" + label_path(name).replace("'", "''") + "')"

    def counts(self) -> Dict[str, int]:
        return {r["status"]: r["n"] for r in self._rows("SELECT status, COUNT(*) AS n FROM models GROUP BY status")}

    def best(self, direction: str) -> Optional[Dict[str, Any]]:
        order = "DESC" if direction == "maximize" else "ASC"
        value = self._metric_sql()
        rows = self._rows(f"SELECT id, {value} AS v FROM models WHERE status = 'trained' AND typeof({value}) IN "
                          f"('integer', 'real') AND abs({value}) < 1e308 ORDER BY v {order}, id LIMIT 1")
        return {"id": rows[0]["id"], "metric": rows[0]["v"]} if rows else None

    def finals(self) -> Dict[str, List[Any]]:
        """Trained models' objective values as two columns, ``{"ids": [...], "values": [...]}`` (the overview's
        chart: compact for 10,000 trials)."""
        value = self._metric_sql()
        rows = self._rows(f"SELECT id, {value} FROM models WHERE status = 'trained' AND {value} IS NOT NULL "
                          "ORDER BY id", plain=True)
        finite = [(i, v) for i, v in rows if _number(v) is not None]
        return {"ids": [i for i, _ in finite], "values": [v for _, v in finite]}

    def last_seq(self) -> int:
        return int(self._rows("SELECT IFNULL(MAX(seq), 0) AS s FROM events")[0]["s"])

    def labels(self) -> List[str]:
        """Labels in first-seen order, from a sample of the trials (every trial of a space has the same ones)."""
        seen: Dict[str, None] = {}
        for row in self._rows("SELECT sample FROM models ORDER BY id LIMIT 200"):
            for label in _loads(row["sample"]) or {}:
                seen.setdefault(label, None)
        return list(seen)

    # ---- trials -----------------------------------------------------------------------------------------
    def trials(self, query: TrialQuery) -> Dict[str, Any]:
        where, params = query.where()
        order, order_params = query.order(self._metric_sql(),
                                          "worker" if self._row_columns.endswith("worker") else "log_path")
        ordered = self._ordered_ids(f"SELECT id FROM models{where}{order}", [*params, *order_params])
        ids = ordered[query.offset:query.offset + query.limit]
        by_id = {row["id"]: row for row in self.rows_by_id(ids)}
        return {"total": len(ordered), "offset": query.offset, "rows": [by_id[i] for i in ids]}

    def _ordered_ids(self, sql: str, params: List[Any]) -> List[int]:
        """Every matching id in order, cached until the store records something new (an event or a model), so
        paging, and a live page asking again, cost a slice instead of a sort of every trial."""
        version = (self.last_seq(), self.last_model_id())
        key = (sql, tuple(params))
        cached = self._orders.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        ids = [r[0] for r in self._rows(sql, params, plain=True)]  # one integer per trial through the sorter
        self._orders[key] = (version, ids)
        while len(self._orders) > _CACHED_ORDERS:
            self._orders.pop(next(iter(self._orders)))
        return ids

    @staticmethod
    def row(r: sqlite3.Row) -> Dict[str, Any]:
        start = r["start_time"] or r["submit_time"]
        end = r["end_time"]
        log_path = r["log_path"]
        return {"id": r["id"], "status": r["status"], "sample": _loads(r["sample"]) or {},
                "metrics": metric_columns(_loads(r["final"])), "reason": r["failure_reason"],
                "start": start, "end": end, "duration": None if start is None or end is None else end - start,
                "trial": Path(log_path).name if log_path else None, "session": r["session"],
                "worker": r["worker"] if "worker" in r.keys() else None}

    def rows_by_id(self, ids: Iterable[int]) -> List[Dict[str, Any]]:
        ids = [int(i) for i in ids]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._with_profiles(
            [self.row(r) for r in self._rows(f"SELECT {self._row_columns} FROM models WHERE id IN ({marks})", ids)])

    def _with_profiles(self, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """``rows`` with each model's profile and, for early-stopped ones, how far they got (``early``)."""
        return with_early(self, self._with_cost(rows))

    def _with_cost(self, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        """``rows`` with each model's profile (parameter count and other costs, when recorded)."""
        if rows:
            marks = ",".join("?" * len(rows))
            profiles = {i: _loads(v) for i, v in self._rows(
                f"SELECT model_id, value FROM events WHERE type = 'profile' AND model_id IN ({marks}) ORDER BY seq",
                [row["id"] for row in rows], plain=True)}
            for row in rows:
                row["profile"] = profiles.get(row["id"])
        return rows

    def trial(self, model_id: int) -> Optional[Dict[str, Any]]:
        rows = self._rows("SELECT * FROM models WHERE id = ?", (int(model_id),))
        if not rows:
            return None
        r = rows[0]
        detail = self.row(r)
        detail.update(final=_loads(r["final"]), payload=_loads(r["payload"]), log_path=r["log_path"],
                      intermediates=self.curves([model_id])[int(model_id)], profile=self._profile(model_id),
                      extra={k: r[k] for k in r.keys() if k not in _KNOWN_COLUMNS})
        if r["log_path"]:  # models merged into one trial (CGO) share its log folder
            detail["merged_with"] = [x["id"] for x in self._rows(
                "SELECT id FROM models WHERE log_path = ? AND id != ? ORDER BY id", (r["log_path"], r["id"]))]
        return detail

    def profiles(self) -> Dict[int, Any]:
        """Every model's latest profile (costs measured before training), by id."""
        return {i: _loads(v) for i, v in self._rows(
            "SELECT model_id, value FROM events WHERE type = 'profile' ORDER BY seq", plain=True)}

    def trained_finals(self) -> List[Tuple[int, Dict[str, Any], Any]]:
        """``(id, sample, final metrics)`` of every trained model."""
        return [(i, _loads(s) or {}, _loads(f)) for i, s, f in self._rows(
            "SELECT id, sample, final FROM models WHERE status = 'trained' ORDER BY id", plain=True)]

    def _columns(self, table: str) -> List[str]:
        return [r["name"] for r in self._rows(f"PRAGMA table_info({table})")]

    def _profile(self, model_id: int) -> Any:
        """The model's latest profile (parameter count, FLOPs... recorded before training), if any."""
        rows = self._rows("SELECT value FROM events WHERE model_id = ? AND type = 'profile' ORDER BY seq DESC LIMIT 1",
                          (int(model_id),))
        return _loads(rows[0]["value"]) if rows else None

    def curves(self, ids: Iterable[int]) -> Dict[int, List[Any]]:
        ids = [int(i) for i in ids]
        result: Dict[int, List[Any]] = {i: [] for i in ids}
        if not ids:
            return result
        marks = ",".join("?" * len(ids))
        for row in self._rows(f"SELECT model_id, value FROM events WHERE type = 'intermediate' AND model_id IN "
                              f"({marks}){self._last_attempt()} ORDER BY seq", ids):
            result[row["model_id"]].append(_loads(row["value"]))
        return result

    def _last_attempt(self) -> str:
        """SQL keeping a trial re-run after its machine died to its last attempt's curve (stores that number
        attempts)."""
        return " AND attempt = (SELECT MAX(attempt) FROM events AS e WHERE e.model_id = events.model_id)" \
            if "attempt" in self._columns("events") else ""

    def report_counts(self) -> Dict[int, int]:
        """Intermediate reports of each model's last attempt, by id (one grouped scan, ascending attempts)."""
        attempt = "attempt" if "attempt" in self._columns("events") else "0"
        counts: Dict[int, int] = {}
        for model_id, _, n in self._rows(f"SELECT model_id, {attempt} AS a, COUNT(*) FROM events WHERE type = "
                                         "'intermediate' GROUP BY model_id, a ORDER BY model_id, a", plain=True):
            counts[model_id] = n  # a later attempt replaces an earlier one
        return counts

    def ids_with_status(self, status: str) -> List[int]:
        """Ids of the models with ``status``, in order."""
        return [r[0] for r in self._rows("SELECT id FROM models WHERE status = ? ORDER BY id", (status,), plain=True)]

    def timings(self, *statuses: str) -> List[Tuple[int, str, Optional[float]]]:
        """``(id, status, duration)`` of the models with one of ``statuses`` (duration as ``nascore view`` counts
        it: end minus start, or minus submission when the start is unknown)."""
        marks = ",".join("?" * len(statuses))
        return [(i, status, None if (start or submit) is None or end is None else end - (start or submit))
                for i, status, submit, start, end in self._rows(
                    f"SELECT id, status, submit_time, start_time, end_time FROM models WHERE status IN ({marks})",
                    statuses, plain=True)]

    def parallel(self) -> List[List[Any]]:
        """``[id, sample, metric]`` of every model with a final metric (the parallel-coordinates view)."""
        value = self._metric_sql()
        return [[i, _loads(sample), _number(v)] for i, sample, v in self._rows(
            f"SELECT id, sample, {value} FROM models WHERE {value} IS NOT NULL ORDER BY id", plain=True)]

    # ---- increments for live pages --------------------------------------------------------------------------
    def events_since(self, seq: int, limit: int = 2000) -> List[Dict[str, Any]]:
        return [{"seq": r["seq"], "id": r["model_id"], "time": r["time"], "type": r["type"],
                 "value": _loads(r["value"])} for r in self._rows(
            "SELECT seq, model_id, time, type, value FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (int(seq), int(limit)))]

    def models_since(self, model_id: int, limit: int = 500) -> List[Dict[str, Any]]:
        return self._with_profiles([self.row(r) for r in self._rows(
            f"SELECT {self._row_columns} FROM models WHERE id > ? ORDER BY id LIMIT ?", (int(model_id), int(limit)))])

    def last_model_id(self) -> int:
        return int(self._rows("SELECT IFNULL(MAX(id), 0) AS m FROM models")[0]["m"])
