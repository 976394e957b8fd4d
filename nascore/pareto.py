"""Pareto arithmetic over score vectors: dominance, non-dominated sorting, crowding distance, hypervolume.

Every function here takes *scores*: one tuple per point, each entry oriented so that **higher is better**
(:meth:`nascore.objectives.Objective.score` turns a minimised metric into its negative). Keeping one
orientation keeps the maths free of direction flags.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

__all__ = ["dominates", "non_dominated_sort", "pareto_indices", "crowding_distance", "hypervolume"]

Scores = Sequence[float]


def dominates(a: Scores, b: Scores) -> bool:
    """``a`` is at least as good as ``b`` everywhere and better somewhere."""
    better = False
    for x, y in zip(a, b):
        if x < y:
            return False
        better = better or x > y
    return better


def non_dominated_sort(points: Sequence[Scores]) -> List[List[int]]:
    """Indices of ``points`` grouped into fronts (NSGA-II's fast non-dominated sort): front 0 is the Pareto
    front, front 1 the front once front 0 is removed, and so on. Equal points share a front."""
    n = len(points)
    dominated_by: List[List[int]] = [[] for _ in range(n)]  # i dominates each j in dominated_by[i]
    count = [0] * n                                         # how many points dominate i
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(points[i], points[j]):
                dominated_by[i].append(j)
                count[j] += 1
            elif dominates(points[j], points[i]):
                dominated_by[j].append(i)
                count[i] += 1
    fronts: List[List[int]] = []
    current = [i for i in range(n) if count[i] == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in dominated_by[i]:
                count[j] -= 1
                if count[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def pareto_indices(points: Sequence[Scores]) -> List[int]:
    """Indices of the non-dominated points, in input order."""
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)]


def crowding_distance(points: Sequence[Scores], front: Optional[Sequence[int]] = None) -> Dict[int, float]:
    """NSGA-II crowding distance of each index of ``front`` (default: every point): the sum over objectives of
    the normalised gap between its neighbours. Boundary points get infinity so they are always kept."""
    front = list(range(len(points))) if front is None else list(front)
    distance = {i: 0.0 for i in front}
    if len(front) <= 2:
        return {i: math.inf for i in front}
    for k in range(len(points[front[0]])):
        ordered = sorted(front, key=lambda i: points[i][k])
        low, high = points[ordered[0]][k], points[ordered[-1]][k]
        distance[ordered[0]] = distance[ordered[-1]] = math.inf
        if high == low:
            continue
        for before, i, after in zip(ordered, ordered[1:], ordered[2:]):
            distance[i] += (points[after][k] - points[before][k]) / (high - low)
    return distance


def hypervolume(points: Sequence[Scores], reference: Scores) -> float:
    """The volume dominated by ``points`` and bounded below by ``reference`` (exact).

    Points that do not strictly beat the reference in every objective add nothing. Two objectives: a sweep,
    O(n log n); more: slicing along the last objective (fine for fronts of a few hundred points).
    """
    m = len(reference)
    kept = [tuple(float(x) for x in p) for p in points if len(p) == m and all(x > r for x, r in zip(p, reference))]
    if not kept:
        return 0.0
    front = [kept[i] for i in pareto_indices(kept)]
    return _hv(front, tuple(float(r) for r in reference))


def _hv(front: List[tuple], reference: tuple) -> float:
    if len(reference) == 1:
        return max(p[0] for p in front) - reference[0]
    if len(reference) == 2:
        volume, height = 0.0, reference[1]
        for x, y in sorted(front, key=lambda p: (-p[0], -p[1])):  # best first in objective 0
            if y > height:
                volume += (x - reference[0]) * (y - height)
                height = y
        return volume
    # slice along the last objective: between consecutive levels, the points at or above the level form an
    # (m-1)-dimensional front whose volume is constant over the slab
    levels = sorted({p[-1] for p in front}, reverse=True)
    volume = 0.0
    for upper, lower in zip(levels, levels[1:] + [reference[-1]]):
        above = [p[:-1] for p in front if p[-1] >= upper]
        sub = [above[i] for i in pareto_indices(above)]
        volume += _hv(sub, reference[:-1]) * (upper - lower)
    return volume
