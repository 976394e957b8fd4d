"""The experiments a dashboard serves: one experiment directory, or every one found under a root folder."""
from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from nascore.experiment.lock import lock_owner
from nascore.experiment.store import DB_NAME

from nascore_dashboard.early import early_stopping
from nascore_dashboard.reader import StoreReader

__all__ = ["Catalog", "UnknownExperiment", "summarize", "effective_status"]

_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class UnknownExperiment(LookupError):
    """No experiment of that id is served here."""


def effective_status(status: Optional[str], directory: Path, live: bool = False) -> str:
    """The stored status, except that a "running" experiment whose process is gone reads "interrupted"."""
    status = status or "created"
    # the run lock (held by the owner for the run's life, dropped by the kernel when it dies) is only probed
    if status == "running" and not live and lock_owner(directory) is None:
        return "interrupted"
    return status


def summarize(reader: StoreReader, live: bool = False) -> Dict[str, Any]:
    """One line of the experiments page: id, status, progress against the budget, best metric, times."""
    meta = reader.meta("id", "status", "start_time", "end_time", "config", "metric_direction", "objective",
                       "model_format", "strategy_class")
    config = meta.get("config") or {}
    counts = reader.counts()
    metric, direction = reader.objective()
    start, end = meta.get("start_time"), meta.get("end_time")
    status = effective_status(meta.get("status"), reader.directory, live)
    finished = sum(n for s, n in counts.items() if s not in ("training", "frozen"))
    elapsed = None if start is None else (end if end and status != "running" else time.time()) - start
    return {"id": reader.directory.name, "name": config.get("experiment_name") or meta.get("id"),
            "status": status, "counts": counts, "trials": sum(counts.values()), "finished": finished,
            "max_trials": config.get("max_trial_number"), "max_duration": config.get("max_experiment_duration"),
            "best": reader.best(direction), "direction": direction, "metric": metric, "start_time": start, "end_time": end,
            "elapsed": elapsed, "live": live, "early_stopping": early_stopping(reader),
            "strategy": (meta.get("strategy_class") or "").rpartition(":")[2] or None,
            "engine": _name(config.get("execution_engine")), "format": _name(config.get("model_format")),
            "training_service": _name(config.get("training_service"))}


def _name(component: Any) -> Optional[str]:
    return component.get("name") if isinstance(component, dict) else component


class Catalog:
    """Experiments under ``path``: the directory itself when it holds a store, else its sub-folders that do."""

    def __init__(self, path: Path, live_id: Optional[str] = None) -> None:
        self.path = Path(path).expanduser().resolve()
        self.single = (self.path / DB_NAME).is_file()
        self.root = self.path.parent if self.single else self.path
        self.live_id = live_id
        self._readers: Dict[str, StoreReader] = {}
        self._lock = threading.Lock()

    def ids(self) -> List[str]:
        if self.single:
            return [self.path.name]
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if _ID.match(p.name) and (p / DB_NAME).is_file())

    def reader(self, experiment_id: str) -> StoreReader:
        """The reader of one experiment; the id must name a served experiment (no paths, no dot files)."""
        if not _ID.match(experiment_id) or experiment_id not in self.ids():
            raise UnknownExperiment(f"no experiment {experiment_id!r} under {self.root}")
        with self._lock:
            reader = self._readers.get(experiment_id)
            if reader is None:
                reader = self._readers[experiment_id] = StoreReader(self.root / experiment_id)
            return reader

    def experiments(self) -> List[Dict[str, Any]]:
        result = []
        for experiment_id in self.ids():
            try:
                result.append(summarize(self.reader(experiment_id), live=experiment_id == self.live_id))
            except (sqlite3.DatabaseError, UnknownExperiment) as exc:  # one bad store must not hide the others
                result.append({"id": experiment_id, "status": "unreadable", "error": str(exc)})
        return result

    def close(self) -> None:
        with self._lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()
