"""The experiment store: one SQLite file (``nascore.db``) per experiment directory.

Written as things happen (every submission and every model event is committed at once), so a crash loses at
most the trials in flight, and readable after the experiment's process is gone (``ExperimentStore.open``).
Engines dispatch events from worker threads: the store holds one connection guarded by a lock.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from nascore.experiment.lock import lock_owner
from nascore.experiment.model_record import ModelRecord
from nascore.experiment.scrub import scrub_secrets
from nascore.metric import Objective, rank
from nascore.space import ModelStatus, metric_value

__all__ = ["ExperimentStore", "ModelRecord", "DB_NAME", "scrub_secrets", "sample_key", "StoreError"]

DB_NAME = "nascore.db"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session INTEGER NOT NULL,
    sample TEXT NOT NULL,
    sample_key TEXT NOT NULL,
    payload TEXT,
    status TEXT NOT NULL,
    final TEXT,
    final_value REAL,
    failure_reason TEXT,
    submit_time REAL,
    start_time REAL,
    end_time REAL,
    log_path TEXT,
    worker TEXT
);
CREATE INDEX IF NOT EXISTS models_key ON models (sample_key);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id INTEGER NOT NULL,
    time REAL NOT NULL,
    type TEXT NOT NULL,
    value TEXT,
    attempt INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS events_model ON events (model_id);
"""

_logger = logging.getLogger(__name__)


def _is_condition(text: str) -> bool:
    from nascore.constraints import Constraint, ConstraintError
    try:
        Constraint(text)
    except ConstraintError:
        return False
    return True


class StoreError(RuntimeError):
    """The directory holds no experiment store, or the store cannot be read."""


def _dumps(value: Any) -> str:
    # key order kept: a graph payload's module order is the generated code's attribute order
    return json.dumps(value)


def _loads(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


class _Rows(list):
    """The rows of one statement, read eagerly (``fetchone``/``fetchall``/iteration, ``lastrowid``)."""

    def __init__(self, rows: List[sqlite3.Row], lastrowid: Optional[int]):
        super().__init__(rows)
        self.lastrowid = lastrowid

    def fetchone(self) -> Optional[sqlite3.Row]:
        return self[0] if self else None

    def fetchall(self) -> List[sqlite3.Row]:
        return list(self)


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """Read-write, or truly read-only (``mode=ro``: never changes the file); storage that does not even let
    SQLite create its shared-memory file (a read-only mount, a copy without write access) is read as
    immutable, which cannot see a write-ahead log left by a crash (said in a warning)."""
    def connect(target: str, uri: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(target, uri=uri, check_same_thread=False, timeout=30.0,
                               isolation_level=None)  # autocommit: each write is durable at once
        conn.row_factory = sqlite3.Row
        return conn

    if not readonly:
        return connect(str(path), False)
    quoted = urllib.parse.quote(str(path.resolve()))
    conn = connect(f"file:{quoted}?mode=ro", True)
    try:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if "unable to open" not in str(exc) and "readonly" not in str(exc):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        _logger.warning("%s is on read-only storage and its write-ahead log %s cannot be read there; the newest "
                        "records may be missing (copy both files to writable storage to see them)", path, wal)
    return connect(f"file:{quoted}?immutable=1", True)


def damage_message(path: Path, exc: BaseException) -> str:
    """What is wrong with a store that SQLite cannot read, and what of it can still be read."""
    readable, unreadable = [], []
    try:
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(Path(path).resolve()))}?mode=ro", uri=True)
        try:
            for table in ("meta", "models", "events"):
                try:
                    count = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    readable.append(f"{table} ({count} rows)")
                except sqlite3.DatabaseError:
                    unreadable.append(table)
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        unreadable = ["meta", "models", "events"]
    size = Path(path).stat().st_size if Path(path).exists() else 0
    still = (f"still readable: {', '.join(readable)}; " if readable else "nothing in it can be read; ")
    lost = f"unreadable: {', '.join(unreadable)}. " if unreadable else ""
    return (f"experiment store {path} ({size} bytes) is damaged: {exc} ({type(exc).__name__}); {still}{lost}"
            f"SQLite may salvage the rest: `sqlite3 {path} .recover | sqlite3 recovered.db`, then point nascore "
            "at a directory holding recovered.db as nascore.db")


def sample_key(sample: Dict[str, Any]) -> str:
    """A canonical string for a sample (the same sample means the same model in every format)."""
    return json.dumps(sample, sort_keys=True, default=repr)


class ExperimentStore:
    """Read and write one experiment's ``nascore.db``. Use :meth:`create` or :meth:`open`."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        try:
            self._conn = _connect(self.path, readonly)
            if not readonly:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.executescript(_SCHEMA)
                columns = {r[1] for r in self._conn.execute("PRAGMA table_info(events)")}
                if "attempt" not in columns:  # a store written before attempts were numbered
                    self._conn.execute("ALTER TABLE events ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0")
                if "worker" not in {r[1] for r in self._conn.execute("PRAGMA table_info(models)")}:
                    self._conn.execute("ALTER TABLE models ADD COLUMN worker TEXT")  # written before workers were
        except sqlite3.DatabaseError as exc:
            raise StoreError(damage_message(self.path, exc)) from exc

    # ---- opening --------------------------------------------------------------------------------------
    @classmethod
    def create(cls, directory: Union[str, Path]) -> "ExperimentStore":
        """Open (creating if needed) the store of the experiment directory ``directory`` for writing."""
        directory = Path(directory).expanduser()
        directory.mkdir(parents=True, exist_ok=True)
        store = cls(directory / DB_NAME)
        if store.get_meta("schema_version") is None:
            store.set_meta("schema_version", SCHEMA_VERSION)
        return store

    @classmethod
    def open(cls, directory: Union[str, Path], readonly: bool = True) -> "ExperimentStore":
        """Open an existing experiment's store (read-only by default)."""
        directory = Path(directory).expanduser()
        path = directory / DB_NAME if directory.is_dir() else directory
        if not path.is_file():
            raise StoreError(f"no experiment store at {directory} (expected {DB_NAME} there); pass the directory "
                             "printed when the experiment ran, e.g. ~/nascore-experiments/<id>")
        store = cls(path, readonly=readonly)
        try:
            row = store._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            store.close()
            if "no such table" in str(exc):
                raise StoreError(f"{path} is an SQLite database but not a nascore experiment store "
                                 f"(no meta table)") from exc
            raise StoreError(damage_message(path, exc)) from exc
        if row is None:
            store.close()
            raise StoreError(f"{path} is not a nascore experiment store (no schema_version in its meta table)")
        return store

    @property
    def directory(self) -> Path:
        return self.path.parent

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "ExperimentStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _execute(self, sql: str, params: tuple = ()) -> "_Rows":
        """Run ``sql``; every row is read here, so a damaged page surfaces as a :class:`StoreError` naming the
        file (not as a bare sqlite3 error later, while the caller iterates)."""
        with self._lock:
            try:
                cursor = self._conn.execute(sql, params)
                return _Rows(cursor.fetchall(), cursor.lastrowid)
            except sqlite3.OperationalError as exc:
                if "full" in str(exc) or "disk I/O" in str(exc):
                    raise StoreError(f"experiment store {self.path}: {exc}; nothing stored before is lost "
                                     "(free some space, then `nascore resume` the experiment)") from exc
                raise StoreError(f"experiment store {self.path}: {exc}") from exc
            except sqlite3.DatabaseError as exc:
                raise StoreError(damage_message(self.path, exc)) from exc

    def checkpoint(self) -> None:
        """Move what the write-ahead log holds into ``nascore.db`` itself (a copy of that file alone is then
        complete). Best effort: a reader that holds an old snapshot only delays it."""
        if self.readonly:
            return
        try:
            with self._lock:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError:
            pass

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        if self.readonly:
            raise StoreError(f"experiment store {self.path} was opened read-only")
        return self._execute(sql, params)

    # ---- experiment-level records -------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, _dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else _loads(row["value"])

    def save_config(self, config: Dict[str, Any]) -> None:
        """Record the experiment config; credentials are dropped first and never reach the disk."""
        self.set_meta("config", scrub_secrets(config))

    def config(self) -> Dict[str, Any]:
        return self.get_meta("config", {}) or {}

    def set_status(self, status: str) -> None:
        now = time.time()
        with self._lock:
            self.set_meta("status", status)
            if status == "running":
                if self.get_meta("start_time") is None:
                    self.set_meta("start_time", now)
                self.set_meta("end_time", None)
            else:
                self.set_meta("end_time", now)

    def status(self) -> Optional[str]:
        """The experiment's status. A store left "running" by a process that is gone (killed, machine
        rebooted: nobody holds its lock) reads as "interrupted"."""
        status = self.get_meta("status")
        if status == "running" and self.owner() is None:
            return "interrupted"
        return status

    def owner(self) -> Optional[Dict[str, Any]]:
        """The live process that owns the experiment (``{"pid", "host", "since"}``), or None."""
        return lock_owner(self.directory)

    def save_strategy_state(self, state: Any) -> None:
        """Store the strategy's ``state_dict()`` as JSON. A store is data: nothing in it is ever unpickled, so
        opening someone else's store runs none of their code. Non-JSON state is refused with a TypeError."""
        try:
            value: Any = {"json": json.loads(json.dumps(state, allow_nan=True))}
        except (TypeError, ValueError) as exc:
            raise TypeError(f"the strategy state must be JSON data (dicts, lists, str, numbers, bool, None), "
                            f"got something else ({exc}); convert it in state_dict() and back in "
                            f"load_state_dict()") from None
        self.set_meta("strategy_state", value)

    def strategy_state(self) -> Any:
        """The saved strategy state (JSON data), or None. A state in another form (an older store that pickled
        it, or a planted payload) is ignored with a warning and never decoded: the strategy starts afresh and
        finished models are still answered from the store."""
        value = self.get_meta("strategy_state")
        if not value:
            return None
        if isinstance(value, dict) and set(value) == {"json"}:
            return value["json"]
        _logger.warning("%s: the saved strategy state is not JSON data (keys %s); it is ignored, never "
                        "unpickled. The strategy starts afresh; finished models are not re-run",
                        self.path, sorted(value) if isinstance(value, dict) else type(value).__name__)
        return None

    # ---- models -----------------------------------------------------------------------------------------
    def add_model(self, sample: Dict[str, Any], payload: Optional[Dict[str, Any]] = None, session: int = 0,
                  status: str = "training", log_path: Optional[str] = None) -> int:
        now = time.time()
        cursor = self._write(
            "INSERT INTO models (session, sample, sample_key, payload, status, submit_time, start_time, log_path) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (session, json.dumps(sample), sample_key(sample), None if payload is None else _dumps(payload), status,
             now, now, log_path))
        return int(cursor.lastrowid)

    def restart_model(self, model_id: int, session: int) -> None:
        """A model re-run after its process died: clear what the dead run left (its profile stays)."""
        with self._lock:
            self._write("DELETE FROM events WHERE model_id = ? AND type != 'profile'", (model_id,))
            now = time.time()
            self._write("UPDATE models SET status = 'training', final = NULL, final_value = NULL, "
                        "failure_reason = NULL, end_time = NULL, worker = NULL, submit_time = ?, start_time = ?, "
                        "session = ? WHERE id = ?", (now, now, session, model_id))

    def set_profile(self, model_id: int, profile: Dict[str, float]) -> None:
        """Record a model's profile (costs measured before training); a later call replaces it."""
        with self._lock:
            self._write("DELETE FROM events WHERE model_id = ? AND type = 'profile'", (model_id,))
            self._write("INSERT INTO events (model_id, time, type, value) VALUES (?, ?, 'profile', ?)",
                        (model_id, time.time(), _dumps(profile)))

    def _profiles(self, model_id: Optional[int] = None) -> Dict[int, Dict[str, float]]:
        where, params = ("AND model_id = ?", (model_id,)) if model_id is not None else ("", ())
        return {row["model_id"]: _loads(row["value"]) for row in self._execute(
            f"SELECT model_id, value FROM events WHERE type = 'profile' {where} ORDER BY seq", params)}

    def add_intermediate(self, model_id: int, metric: Any, attempt: int = 0) -> None:
        """Record an intermediate metric of ``attempt`` (a trial re-run after its machine died counts up; the
        model's curve is its last attempt's, earlier ones stay in the events table)."""
        self._write("INSERT INTO events (model_id, time, type, value, attempt) VALUES (?, ?, 'intermediate', ?, ?)",
                    (model_id, time.time(), _dumps(metric), int(attempt)))

    def _attempt_column(self) -> str:
        """``attempt``, or ``0`` for a read-only store written before attempts were numbered."""
        if not hasattr(self, "_has_attempt"):
            self._has_attempt = any(r[1] == "attempt" for r in self._execute("PRAGMA table_info(events)"))
        return "attempt" if self._has_attempt else "0"

    @staticmethod
    def _last_attempt(rows: List[Any]) -> Dict[int, List[Any]]:
        """``{model_id: intermediates of its last attempt}`` from rows (model_id, value, attempt) in order."""
        result: Dict[int, List[Any]] = {}
        attempts: Dict[int, int] = {}
        for row in rows:
            model_id, attempt = row["model_id"], row["attempt"]
            if attempt > attempts.get(model_id, -1):
                attempts[model_id], result[model_id] = attempt, []
            if attempt == attempts[model_id]:
                result[model_id].append(_loads(row["value"]))
        return result

    def set_final(self, model_id: int, metric: Any) -> None:
        try:
            value = metric_value(metric)
        except (TypeError, ValueError):
            value = None
        with self._lock:
            self._write("UPDATE models SET final = ?, final_value = ? WHERE id = ?",
                        (_dumps(metric), value, model_id))
            self._write("INSERT INTO events (model_id, time, type, value) VALUES (?, ?, 'final', ?)",
                        (model_id, time.time(), _dumps(metric)))

    def set_worker(self, model_id: int, worker: str) -> None:
        """Record where the model's trial runs (``"local (pid 1234)"``, ``"alice@gpu1:22"``, a Ray node...)."""
        self._write("UPDATE models SET worker = ? WHERE id = ?", (str(worker), model_id))

    def end_model(self, model_id: int, status: str, reason: Optional[str] = None,
                  start_time: Optional[float] = None, end_time: Optional[float] = None,
                  log_path: Optional[str] = None, worker: Optional[str] = None) -> None:
        """The model ended with ``status``; ``worker``: where its trial ran (kept when None)."""
        end_time = end_time or time.time()
        with self._lock:
            self._write("UPDATE models SET status = ?, failure_reason = ?, end_time = ?, "
                        "start_time = COALESCE(?, start_time), log_path = COALESCE(?, log_path), "
                        "worker = COALESCE(?, worker) WHERE id = ?",
                        (status, reason, end_time, start_time, log_path, worker, model_id))
            self._write("INSERT INTO events (model_id, time, type, value) VALUES (?, ?, 'end', ?)",
                        (model_id, end_time, _dumps({"status": status, "reason": reason})))

    def interrupt_running(self, reason: str) -> List[int]:
        """Mark every model still training as Interrupted (the experiment stopped under them)."""
        with self._lock:
            ids = [r["id"] for r in self._execute("SELECT id FROM models WHERE status IN ('training', 'frozen')")]
            for model_id in ids:
                self.end_model(model_id, "interrupted", reason)
        return ids

    def _intermediates(self) -> Dict[int, List[Any]]:
        return self._last_attempt(self._execute(
            f"SELECT model_id, value, {self._attempt_column()} AS attempt FROM events "
            "WHERE type = 'intermediate' ORDER BY seq"))

    def models(self, status: Optional[str] = None) -> List[ModelRecord]:
        """Every model in submission order (optionally only those with ``status``)."""
        status = getattr(status, "value", status)
        if status is None:
            rows = self._execute("SELECT * FROM models ORDER BY id").fetchall()
        else:
            rows = self._execute("SELECT * FROM models WHERE status = ? ORDER BY id", (status,)).fetchall()
        intermediates, profiles = self._intermediates(), self._profiles()
        return [self._record(row, intermediates.get(row["id"], []), profiles.get(row["id"])) for row in rows]

    def model(self, model_id: int) -> ModelRecord:
        row = self._execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()
        if row is None:
            raise StoreError(f"no model #{model_id} in {self.path}")
        values = self._last_attempt(self._execute(
            f"SELECT model_id, value, {self._attempt_column()} AS attempt FROM events "
            "WHERE model_id = ? AND type = 'intermediate' ORDER BY seq", (model_id,))).get(model_id, [])
        return self._record(row, values, self._profiles(model_id).get(model_id))

    @staticmethod
    def _record(row: sqlite3.Row, intermediates: List[Any], profile: Optional[Dict[str, float]] = None) -> ModelRecord:
        return ModelRecord(id=row["id"], sample=_loads(row["sample"]), status=row["status"], profile=profile or {},
                           final=_loads(row["final"]), intermediates=intermediates,
                           failure_reason=row["failure_reason"], payload=_loads(row["payload"]),
                           submit_time=row["submit_time"], start_time=row["start_time"], end_time=row["end_time"],
                           log_path=row["log_path"], session=row["session"],
                           worker=row["worker"] if "worker" in row.keys() else None)  # older stores: none

    def counts(self) -> Dict[str, int]:
        return {r["status"]: r["n"] for r in self._execute("SELECT status, COUNT(*) AS n FROM models GROUP BY status")}

    def objective(self) -> Objective:
        """The experiment's objective as recorded (older stores: their ``metric_direction``)."""
        saved = self.get_meta("objective")
        if saved:
            return Objective.parse(saved)
        return Objective("default", self.get_meta("metric_direction") or "maximize")

    def objectives(self) -> List[Objective]:
        """Every objective the experiment declared (one: its :meth:`objective`, when it declared none)."""
        saved = self.get_meta("objectives")
        return [Objective.parse(o) for o in saved] if saved else [self.objective()]

    def constraints(self) -> List[Any]:
        """The experiment's constraints as :class:`~nascore.constraints.Constraint` (string ones: a function
        constraint cannot be read back from the store, and is skipped)."""
        from nascore.constraints import Constraint
        return [Constraint(text) for text in self.get_meta("constraints") or [] if _is_condition(text)]

    def top_models(self, top_k: Optional[int] = 1, objective: Union[None, str, Objective] = None
                   ) -> List[ModelRecord]:
        """The ``top_k`` (None: all) best *trained* models by ``objective`` (default: the recorded one; a
        direction string is accepted). Failed models and metrics that are NaN or infinite are never ranked;
        ties keep submission order."""
        objective = self.objective() if objective is None else Objective.parse(objective)
        rows = [(r["id"], _loads(r["final"])) for r in self._execute(
            "SELECT id, final FROM models WHERE status = ? ORDER BY id", (ModelStatus.Trained.value,))]
        ranked = rank(rows, objective, lambda row: objective.value(row[1]))
        return [self.model(i) for i, _ in (ranked if top_k is None else ranked[:int(top_k)])]

    def count_failed(self, reason_prefix: str) -> int:
        """How many failed models have a failure reason starting with ``reason_prefix``."""
        row = self._execute("SELECT COUNT(*) AS n FROM models WHERE status = 'failed' AND substr(failure_reason, 1, "
                            "?) = ?", (len(reason_prefix), reason_prefix)).fetchone()
        return int(row["n"]) if row else 0

    def iter_meta(self) -> Iterator[tuple]:
        for row in self._execute("SELECT key, value FROM meta ORDER BY key"):
            yield row["key"], _loads(row["value"])
