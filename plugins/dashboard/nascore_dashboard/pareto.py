"""The Pareto view of an experiment with several objectives: every trained model's objective values and the
front (models no other one beats on every objective, among those meeting the config's constraints), computed
with nascore's own objective and Pareto helpers from the store's final metrics and profiles."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from nascore.constraints import ConstraintError, parse_constraints
from nascore.metric import Objective
from nascore.objectives import named_metrics, objective_scores, objective_values
from nascore.pareto import pareto_indices

from nascore_dashboard.reader import StoreReader

__all__ = ["pareto_view"]


def pareto_view(reader: StoreReader) -> Optional[Dict[str, Any]]:
    """``{"objectives", "points": [[id, v1, v2, ...]], "front": [ids]}``, or None for a single objective."""
    meta = reader.meta("objectives", "config")
    saved = meta.get("objectives") or []
    if len(saved) < 2:
        return None
    objectives = [Objective.parse(o) for o in saved]
    constraints = [c for c in ((meta.get("config") or {}).get("constraints") or []) if isinstance(c, str)]
    rules = parse_constraints(constraints)
    default_name = reader.objective()[0]
    profiles = reader.profiles()
    points: List[List[Any]] = []
    scores = []
    for model_id, sample, final in reader.trained_finals():
        metrics = named_metrics(final, profiles.get(model_id), default_name)
        values = objective_values(objectives, metrics)
        if values is None:
            continue
        try:
            if any(rule.violation({**sample, **metrics}) is not None for rule in rules):
                continue
        except ConstraintError:
            continue  # a value the constraint needs was never reported for this model: it cannot be on the front
        points.append([model_id, *values])
        scores.append(objective_scores(objectives, metrics))
    front = sorted((points[i] for i in pareto_indices(scores)), key=lambda p: p[1])
    return {"objectives": [o.to_json() for o in objectives], "points": points, "front": [p[0] for p in front],
            "constraints": constraints}
