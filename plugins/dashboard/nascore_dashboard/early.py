"""Early-stopped trials on the pages: how far each got and its best intermediate metric (what strategies rank it
by: it has no final metric), and the compute early stopping saved, counted as ``nascore view`` counts it."""
from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Dict, Iterable, List, Optional

__all__ = ["with_early", "early_stopping", "stopped_points"]


def _best(objective: Any, curve: Iterable[Any]) -> Optional[float]:
    values = [v for v in map(objective.value, curve)
              if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]
    return max(values, key=objective.score) if values else None


def with_early(reader: Any, rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """``rows`` where each early-stopped one gets ``early``: ``{"steps": reports before it was stopped, "best":
    its best intermediate value of the objective, "metric": the metric column that value belongs in}``."""
    stopped = [row for row in rows if row["status"] == "early_stopped"]
    if stopped:
        objective = reader.objective_spec()
        column = "metric" if objective.name == "default" else objective.name  # the trials table's column
        curves = reader.curves(row["id"] for row in stopped)
        for row in stopped:
            row["early"] = {"steps": len(curves[row["id"]]), "best": _best(objective, curves[row["id"]]),
                            "metric": column}
    return rows


def early_stopping(reader: Any) -> Optional[Dict[str, Any]]:
    """The compute early stopping saved: :func:`nascore.early_stopping.compute_saved` over the store's trained and
    early-stopped trials (the numbers ``nascore view`` prints); None when no trial was stopped."""
    from nascore.early_stopping import compute_saved
    if not reader.counts().get("early_stopped"):
        return None
    steps = reader.report_counts()
    return compute_saved(SimpleNamespace(status=status, intermediates=range(steps.get(i, 0)), duration=duration)
                         for i, status, duration in reader.timings("trained", "early_stopped"))


def stopped_points(reader: Any) -> Dict[str, List[Any]]:
    """Early-stopped models' best intermediate values, ``{"ids": [...], "values": [...]}`` (the overview's chart
    draws them apart from the trained models' final metrics)."""
    ids = reader.ids_with_status("early_stopped")
    objective = reader.objective_spec()
    points = [(i, _best(objective, curve)) for i, curve in reader.curves(ids).items()]
    return {"ids": [i for i, v in points if v is not None], "values": [v for _, v in points if v is not None]}
