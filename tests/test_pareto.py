import itertools
import math
import random

import pytest

from nascore.pareto import crowding_distance, dominates, hypervolume, non_dominated_sort, pareto_indices


def _brute_front(points):
    return [i for i, p in enumerate(points) if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]


def test_dominance_needs_strictly_better_somewhere():
    assert dominates((1, 2), (1, 1)) and not dominates((1, 1), (1, 1)) and not dominates((2, 0), (1, 1))


@pytest.mark.parametrize("seed", range(5))
def test_fronts_partition_points_and_each_front_is_the_front_of_what_is_left(seed):
    rng = random.Random(seed)
    points = [tuple(rng.randint(0, 6) for _ in range(3)) for _ in range(40)]
    fronts = non_dominated_sort(points)
    assert sorted(i for f in fronts for i in f) == list(range(len(points)))
    left = list(range(len(points)))
    for front in fronts:
        sub = [points[i] for i in left]
        assert sorted(front) == sorted(left[k] for k in _brute_front(sub))
        left = [i for i in left if i not in front]
    assert pareto_indices(points) == sorted(fronts[0])


def test_crowding_keeps_boundaries_and_ranks_isolated_points_higher():
    points = [(0, 10), (1, 9), (1.1, 8.9), (5, 5), (10, 0)]
    d = crowding_distance(points)
    assert d[0] == d[4] == math.inf
    assert d[3] > d[1] and d[3] > d[2]


def test_hypervolume_by_hand_and_reference_handling():
    # staircase (1,3) (2,2) (3,1) above (0,0): 3 + 2 + 1 = 6
    assert hypervolume([(1, 3), (2, 2), (3, 1)], (0, 0)) == pytest.approx(6)
    assert hypervolume([(1, 3), (2, 2), (3, 1), (1, 1)], (0, 0)) == pytest.approx(6)  # dominated adds nothing
    assert hypervolume([(-1, 5)], (0, 0)) == 0.0  # not beyond the reference
    assert hypervolume([], (0, 0)) == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_hypervolume_in_three_objectives_matches_a_grid_count(seed):
    rng = random.Random(seed)
    points = [tuple(rng.randint(1, 5) for _ in range(3)) for _ in range(8)]
    # integer points: count unit cells [x, x+1) dominated by some point
    cells = sum(1 for c in itertools.product(range(5), repeat=3)
                if any(all(c[k] + 1 <= p[k] for k in range(3)) for p in points))
    assert hypervolume(points, (0, 0, 0)) == pytest.approx(cells)
    flat = [(x, y) for x, y, _ in points]
    assert hypervolume([(x, y, 1.0) for x, y in flat], (0, 0, 0)) == pytest.approx(hypervolume(flat, (0, 0)))
