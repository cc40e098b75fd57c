"""The planner's geometry on hand-made cases with known optima, and region validity."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from shapely.geometry import Point, Polygon

from geo.planner import (
    EARTH_RADIUS_KM,
    EXACT,
    EXACT_MAX_VISITS,
    HEURISTIC,
    MANUAL,
    best_host,
    brute_force_path,
    distance_matrix,
    haversine_km,
    held_karp_path,
    heuristic_path,
    k_nearest,
    mst_lower_bound,
    nearest_neighbour_path,
    order_method,
    order_visits,
    path_length,
    route_for_order,
    within_radius,
)
from geo.regions import hull_of_points, union_of

KM_PER_DEG = math.pi * EARTH_RADIUS_KM / 180  # along a meridian or the equator


def test_haversine_one_degree_on_the_equator_and_lon_lat_order() -> None:
    assert haversine_km((100.0, 0.0), (101.0, 0.0)) == pytest.approx(KM_PER_DEG, rel=1e-12)
    assert haversine_km((100.0, 13.0), (100.0, 14.0)) == pytest.approx(KM_PER_DEG, rel=1e-12)
    # Shapely points work the same as (lon, lat) tuples.
    assert haversine_km(Point(100.5, 13.75), Point(98.98, 18.79)) == pytest.approx(
        haversine_km((100.5, 13.75), (98.98, 18.79))
    )
    assert haversine_km((0.0, 0.0), (180.0, 0.0)) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_points_on_a_line_are_visited_in_order_from_an_end() -> None:
    line = [(100.0 + 0.1 * i, 0.0) for i in (3, 0, 4, 1, 2)]
    start = 1  # lon 100.0, the west end
    route = order_visits(line, start=start)
    assert [line[i][0] for i in route.order] == pytest.approx([100.0, 100.1, 100.2, 100.3, 100.4])
    assert route.method == "held-karp"
    assert route.total_km == pytest.approx(0.4 * KM_PER_DEG, rel=1e-9)
    assert sum(route.legs_km) == pytest.approx(route.total_km)


def test_line_started_in_the_middle_goes_to_the_near_end_first() -> None:
    pts = [(100.0, 0.0), (100.1, 0.0), (100.3, 0.0), (100.6, 0.0)]
    route = order_visits(pts, start=1)
    # 100.1 → 100.0 → 100.3 → 100.6 = 0.1 + 0.3 + 0.3 = 0.7°, shorter than going east first (0.5 + 0.6).
    assert route.order == [1, 0, 2, 3]
    assert route.total_km == pytest.approx(0.7 * KM_PER_DEG, rel=1e-9)


def test_square_open_path_is_three_sides() -> None:
    sq = [(100.0, 0.0), (100.1, 0.0), (100.1, 0.1), (100.0, 0.1)]
    route = order_visits(sq, start=0)
    assert route.order in ([0, 1, 2, 3], [0, 3, 2, 1])
    assert route.total_km == pytest.approx(3 * 0.1 * KM_PER_DEG, rel=1e-3)


def test_nearest_neighbour_is_beaten_by_held_karp() -> None:
    # From 0 the nearest is 1 (east); NN then has to cross back west to 2 and east again to 3.
    pts = [(100.0, 0.0), (100.1, 0.0), (99.85, 0.0), (100.5, 0.0)]
    d = distance_matrix(pts)
    nn = nearest_neighbour_path(d, 0)
    exact = held_karp_path(d, 0)
    assert nn == [0, 1, 2, 3]
    assert exact == [0, 2, 1, 3]
    assert path_length(exact, d) < path_length(nn, d) - 1
    assert path_length(exact, d) == pytest.approx(path_length(brute_force_path(d, 0), d))


def test_held_karp_matches_brute_force_on_random_seven_point_sets() -> None:
    rng = random.Random(20240)  # noqa: S311 - fixed test data
    for _ in range(25):
        pts = [(98 + 5 * rng.random(), 6 + 13 * rng.random()) for _ in range(7)]
        d = distance_matrix(pts)
        start = rng.randrange(7)
        exact = held_karp_path(d, start)
        assert exact[0] == start and sorted(exact) == list(range(7))
        assert path_length(exact, d) == pytest.approx(path_length(brute_force_path(d, start), d))


def test_heuristic_is_a_valid_open_path_and_never_below_the_optimum_or_mst() -> None:
    rng = random.Random(7)  # noqa: S311 - fixed test data
    pts = [(100 + 2 * rng.random(), 14 + 2 * rng.random()) for _ in range(12)]
    d = distance_matrix(pts)
    h = heuristic_path(d, 3)
    assert h[0] == 3 and sorted(h) == list(range(12))
    opt = path_length(held_karp_path(d, 3), d)
    assert mst_lower_bound(d) <= opt + 1e-9
    assert opt - 1e-9 <= path_length(h, d) <= 1.05 * opt
    big = order_visits(pts, start=3, exact_max=10)
    assert big.method != "held-karp"


def _random_points(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)  # noqa: S311 - fixed test data
    return [(99 + 2 * rng.random(), 14 + 2 * rng.random()) for _ in range(n)]


def test_ten_visits_besides_the_host_are_ordered_exactly() -> None:
    assert EXACT_MAX_VISITS == 10
    pts = _random_points(1 + 10, seed=11)
    route = order_visits(pts, start=0)
    assert route.method == EXACT
    d = distance_matrix(pts)
    assert route.total_km == pytest.approx(path_length(held_karp_path(d, 0), d))
    assert order_visits(_random_points(1 + 11, seed=11), start=0).method == HEURISTIC


def test_order_method_says_whether_an_order_is_proven_shortest() -> None:
    pts = _random_points(1 + 8, seed=3)
    best = order_visits(pts, start=0)
    in_best_order = [pts[i] for i in best.order]
    assert order_method(in_best_order) == EXACT
    # Any other order that is longer is the team's own, with no claim about its length.
    worse = route_for_order(pts, range(len(pts)))
    assert worse.total_km > best.total_km
    assert order_method(pts) == MANUAL
    many = _random_points(1 + 14, seed=5)
    heuristic = order_visits(many, start=0)
    assert heuristic.method == HEURISTIC
    assert order_method([many[i] for i in heuristic.order]) == HEURISTIC
    assert order_method(pts[:2]) == EXACT


def test_manual_order_keeps_the_order_and_sums_legs() -> None:
    pts = [(100.0, 0.0), (100.2, 0.0), (100.1, 0.0)]
    r = route_for_order(pts, [0, 1, 2])
    assert r.order == [0, 1, 2]
    assert r.legs_km == pytest.approx([0.2 * KM_PER_DEG, 0.1 * KM_PER_DEG], rel=1e-9)


def test_host_is_the_discrete_median() -> None:
    # Four offices in a cluster of towns and one far away: the host sits among the towns,
    # on the far office's side (it minimises the sum, not the maximum).
    pts = [(100.0, 14.0), (100.2, 14.0), (100.1, 14.1), (100.1, 13.9), (102.0, 14.0)]
    host = best_host(pts)
    totals = [sum(haversine_km(p, q) for q in pts) for p in pts]
    assert host == totals.index(min(totals))
    assert host in (1, 2, 3)
    for i, j in itertools.permutations(range(5), 2):
        assert haversine_km(pts[i], pts[j]) == pytest.approx(haversine_km(pts[j], pts[i]))
    # Symmetric case: the centre of a plus sign.
    plus = [(100.0, 0.0), (100.1, 0.0), (99.9, 0.0), (100.0, 0.1), (100.0, -0.1)]
    assert best_host(plus) == 0


def test_radius_and_k_nearest() -> None:
    host = (100.0, 0.0)
    pts = [(100.0 + 0.1 * i, 0.0) for i in range(6)]
    inside = within_radius(host, pts, 0.25 * KM_PER_DEG)
    assert [i for i, _ in inside] == [0, 1, 2]
    assert [i for i, _ in k_nearest(host, pts, 2)] == [0, 1]
    assert [km for _, km in k_nearest(host, pts, 3)] == sorted(
        km for _, km in k_nearest(host, pts, 3)
    )


def test_cluster_hull_and_union_are_valid() -> None:
    pts = [Point(100 + 0.3 * math.cos(a / 3), 14 + 0.3 * math.sin(a / 3)) for a in range(20)]
    hull = hull_of_points(pts)
    assert hull.is_valid and not hull.is_empty
    assert all(hull.contains(p) for p in pts)
    label = hull.representative_point()
    assert hull.contains(label)
    # Two overlapping provinces and a detached island: union stays valid, label inside.
    a = Polygon([(100, 14), (101, 14), (101, 15), (100, 15)])
    b = Polygon([(100.5, 14.5), (101.5, 14.5), (101.5, 15.5), (100.5, 15.5)])
    island = Polygon([(103, 10), (103.2, 10), (103.2, 10.2), (103, 10.2)])
    region = union_of([a, b, island])
    assert region.is_valid and len(region.geoms) == 2
    assert region.contains(region.representative_point())
