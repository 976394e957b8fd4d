"""One page of the trials table as SQL over the store's ``models`` table: sort, status, ``label=value`` filters,
free-text search, paging."""
from __future__ import annotations

import json
from typing import Any, Iterable, List, Tuple

__all__ = ["TrialQuery", "label_path"]

_SORTABLE = {"id": "id", "status": "status", "metric": "final_value", "duration": "(end_time - start_time)",
             "start": "start_time", "worker": "log_path"}


class TrialQuery:
    """One page of the trials table: ``sort`` (a column or ``label:NAME``), ``status``, ``label=value``
    filters, a free-text ``search``, ``offset`` and ``limit``."""

    def __init__(self, sort: str = "id", descending: bool = False, status: Optional[str] = None,
                 filters: Iterable[str] = (), search: str = "", offset: int = 0, limit: int = 50) -> None:
        self.sort, self.descending, self.status = sort, descending, status or None
        self.filters = [f for f in filters if f]
        self.search = search.strip()
        self.offset, self.limit = max(0, int(offset)), max(1, min(500, int(limit)))

    def where(self) -> Tuple[str, List[Any]]:
        clauses: List[str] = []
        params: List[Any] = []
        if self.status:
            clauses.append("status = ?")
            params.append(self.status)
        for text in self.filters:
            label, sep, value = text.partition("=")
            if not sep or not label.strip():
                raise ValueError(f"filter {text!r} is not label=value (e.g. width=16)")
            clauses.append("json_extract(sample, ?) = json_extract(?, '$')")
            params += [label_path(label.strip()), _json_literal(value.strip())]
        if self.search:
            clauses.append("(sample LIKE ? OR IFNULL(failure_reason, '') LIKE ? OR CAST(id AS TEXT) = ?)")
            pattern = "%" + self.search.replace("%", "").replace("_", "") + "%"
            params += [pattern, pattern, self.search]
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def order(self, metric_sql: str = "final_value", worker_sql: str = "log_path") -> Tuple[str, List[Any]]:
        """ORDER BY for the page; ``worker_sql``: the worker column (a store older than it: the trial folder)."""
        direction = "DESC" if self.descending else "ASC"
        if self.sort.startswith("label:"):
            return f" ORDER BY json_extract(sample, ?) {direction}, id", [label_path(self.sort[6:])]
        if self.sort.startswith("metric:"):
            return f" ORDER BY json_extract(final, ?) {direction}, id", [label_path(self.sort[7:])]
        if self.sort not in _SORTABLE:
            raise ValueError(f"cannot sort by {self.sort!r}; use one of {', '.join(_SORTABLE)}, label:NAME or "
                             "metric:NAME")
        if self.sort == "id":  # the primary key: no sort at all
            return f" ORDER BY id {direction}", []
        nulls = "IS NULL" + (" DESC" if not self.descending else "")  # missing values last either way
        column = {"metric": metric_sql, "worker": worker_sql}.get(self.sort, _SORTABLE[self.sort])
        return f" ORDER BY {column} {nulls}, {column} {direction}, id {direction}", []


def label_path(label: str) -> str:
    """The JSON path of a sample's label (any characters) for SQLite's ``json_extract``."""
    return '$."' + label.replace('"', '\\"') + '"'


def _json_literal(value: str) -> str:
    """``16`` → number, ``true`` → bool, anything else → the string itself (as JSON)."""
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return json.dumps(parsed)
