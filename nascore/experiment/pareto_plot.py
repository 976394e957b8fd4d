"""``nascore plot --pareto``: every trained model in objective space, the Pareto front highlighted, each point
labelled by its trial id. Two objectives: one chart; three or more: one chart per pair of objectives."""
from __future__ import annotations

import itertools
import math
from typing import Any, List, Sequence

from nascore.experiment.model_record import ModelRecord
from nascore.metric import Objective
from nascore.objectives import objective_values

__all__ = ["plot_pareto"]


def plot_pareto(records: Sequence[ModelRecord], front: Sequence[ModelRecord], objectives: Sequence[Objective],
                metric_name: str, output: str, title: str) -> int:
    """Write the chart to ``output``; returns how many models it shows."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [(r.id, v) for r in records if r.status == "trained"
              for v in [objective_values(objectives, r.named_metrics(metric_name))] if v is not None]
    on_front = {r.id for r in front}
    pairs = list(itertools.combinations(range(len(objectives)), 2))
    columns = min(3, len(pairs))
    rows = math.ceil(len(pairs) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.5 * columns, 4.5 * rows), squeeze=False)
    for (i, j), ax in zip(pairs, axes.flat):
        _scatter(ax, points, on_front, objectives, i, j)
    for ax in list(axes.flat)[len(pairs):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}: {len(points)} trained model(s), {len(on_front)} on the Pareto front")
    fig.tight_layout()
    fig.savefig(output)
    plt.close(fig)
    return len(points)


def _scatter(ax: Any, points: List[Any], on_front: set, objectives: Sequence[Objective], i: int, j: int) -> None:
    rest = [p for p in points if p[0] not in on_front]
    best = sorted((p for p in points if p[0] in on_front), key=lambda p: p[1][i])
    ax.scatter([p[1][i] for p in rest], [p[1][j] for p in rest], s=18, color="tab:blue", label="trial")
    ax.scatter([p[1][i] for p in best], [p[1][j] for p in best], s=36, color="tab:red", zorder=3,
               label="Pareto front")
    if len(objectives) == 2 and best:  # the 2-D front as a staircase between its points
        ax.step([p[1][i] for p in best], [p[1][j] for p in best], where="post", color="tab:red", alpha=0.5)
    for model_id, values in points:
        ax.annotate(str(model_id), (values[i], values[j]), textcoords="offset points", xytext=(3, 3), fontsize=7)
    ax.set_xlabel(_axis(objectives[i]))
    ax.set_ylabel(_axis(objectives[j]))
    ax.legend(loc="best", fontsize=8)


def _axis(objective: Objective) -> str:
    name = "metric" if objective.name == "default" else objective.name
    return f"{name} ({'higher' if objective.higher_is_better else 'lower'} is better)"
