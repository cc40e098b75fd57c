"""Great-circle geometry for the coaching visit planner: host choice, invitees, visit order.

Pure functions on (lon, lat) tuples in degrees (EPSG:4326 axis order) or shapely points; no
Flask, no database. Distances are great-circle (haversine, mean Earth radius R = 6371.0088 km),
i.e. straight-line, not road distances.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

EARTH_RADIUS_KM = 6371.0088
# Held–Karp is O(n² 2ⁿ) in the stops after the start: 10 visits (11 points with the host) take
# about 5 ms in pure Python, 16 take seconds. Counted without the host, because "exact up to 10
# visits" is what the page promises the coaching team.
EXACT_MAX_VISITS = 10
EXACT = "held-karp"
HEURISTIC = "nn+2opt+oropt+ils"
MANUAL = "manual"

LonLat = tuple[float, float]


class _PointLike(Protocol):
    x: float
    y: float


def as_lonlat(p: LonLat | _PointLike) -> LonLat:
    """A (lon, lat) tuple from a tuple or a shapely Point."""
    if isinstance(p, tuple):
        return (float(p[0]), float(p[1]))
    return (float(p.x), float(p.y))


def haversine_km(a: LonLat | _PointLike, b: LonLat | _PointLike) -> float:
    """Great-circle distance in km between two (lon, lat) points."""
    lon1, lat1 = as_lonlat(a)
    lon2, lat2 = as_lonlat(b)
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    # min() guards asin against rounding just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_matrix(points: Sequence[LonLat | _PointLike]) -> list[list[float]]:
    """Symmetric matrix of great-circle distances (km)."""
    pts = [as_lonlat(p) for p in points]
    n = len(pts)
    d = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            d[i][j] = d[j][i] = haversine_km(pts[i], pts[j])
    return d


def best_host(points: Sequence[LonLat | _PointLike]) -> int:
    """Index of the point minimising the total distance to all others (exact discrete 1-median).

    The host must be one of the offices, so trying each candidate is exact; ties go to the
    lowest index so the proposal is stable.
    """
    if not points:
        raise ValueError("no points")
    d = distance_matrix(points)
    totals = [sum(row) for row in d]
    return min(range(len(points)), key=lambda i: (totals[i], i))


def total_distance_from(host: LonLat | _PointLike, points: Sequence[LonLat | _PointLike]) -> float:
    return sum(haversine_km(host, p) for p in points)


def within_radius(
    host: LonLat | _PointLike, points: Sequence[LonLat | _PointLike], radius_km: float
) -> list[tuple[int, float]]:
    """(index, km) of points within `radius_km` of `host`, nearest first."""
    found = [(i, haversine_km(host, p)) for i, p in enumerate(points)]
    return sorted(((i, km) for i, km in found if km <= radius_km), key=lambda t: (t[1], t[0]))


def k_nearest(
    host: LonLat | _PointLike, points: Sequence[LonLat | _PointLike], k: int
) -> list[tuple[int, float]]:
    """(index, km) of the `k` points nearest to `host`, nearest first."""
    found = sorted(
        ((i, haversine_km(host, p)) for i, p in enumerate(points)), key=lambda t: (t[1], t[0])
    )
    return found[:k]


# --- Visit order: open paths starting at the host ------------------------------------------


def path_length(order: Sequence[int], d: Sequence[Sequence[float]]) -> float:
    return sum(d[a][b] for a, b in itertools.pairwise(order))


def held_karp_path(d: Sequence[Sequence[float]], start: int = 0) -> list[int]:
    """Exact shortest open path that starts at `start` and visits every node once.

    Dynamic programming over subsets (Held–Karp): best[mask][j] is the shortest path from
    `start` through the nodes in `mask`, ending at j. O(n² 2ⁿ) time, O(n 2ⁿ) memory.
    """
    n = len(d)
    if n <= 2:
        return [start] + [i for i in range(n) if i != start]
    others = [i for i in range(n) if i != start]
    m = len(others)
    full = (1 << m) - 1
    inf = math.inf
    best = [[inf] * m for _ in range(1 << m)]
    parent = [[-1] * m for _ in range(1 << m)]
    for j in range(m):
        best[1 << j][j] = d[start][others[j]]
    for mask in range(1, full + 1):
        row = best[mask]
        for j in range(m):
            cost = row[j]
            if cost == inf or not mask >> j & 1:
                continue
            dj = d[others[j]]
            for k in range(m):
                if mask >> k & 1:
                    continue
                nxt = mask | 1 << k
                c = cost + dj[others[k]]
                if c < best[nxt][k]:
                    best[nxt][k] = c
                    parent[nxt][k] = j
    last = min(range(m), key=lambda j: best[full][j])
    order: list[int] = []
    mask = full
    while last != -1:
        order.append(others[last])
        prev = parent[mask][last]
        mask ^= 1 << last
        last = prev
    return [start, *reversed(order)]


def brute_force_path(d: Sequence[Sequence[float]], start: int = 0) -> list[int]:
    """Exact by trying every order (tests only: n! grows fast)."""
    others = [i for i in range(len(d)) if i != start]
    best = min(itertools.permutations(others), key=lambda p: path_length([start, *p], d))
    return [start, *best]


def nearest_neighbour_path(d: Sequence[Sequence[float]], start: int = 0) -> list[int]:
    order = [start]
    left = set(range(len(d))) - {start}
    while left:
        here = order[-1]
        nxt = min(left, key=lambda j: (d[here][j], j))
        order.append(nxt)
        left.remove(nxt)
    return order


def two_opt(order: list[int], d: Sequence[Sequence[float]]) -> list[int]:
    """Reverse segments while that shortens the open path (start stays first)."""
    route = list(order)
    n = len(route)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            a, b = route[i - 1], route[i]
            for j in range(i + 1, n):
                c = route[j]
                after = route[j + 1] if j + 1 < n else None
                # Reversing route[i..j]: edges (a,b) and (c,after) become (a,c) and (b,after);
                # at the open end there is no `after` edge.
                delta = d[a][c] - d[a][b]
                if after is not None:
                    delta += d[b][after] - d[c][after]
                if delta < -1e-9:
                    route[i : j + 1] = reversed(route[i : j + 1])
                    improved = True
                    a, b = route[i - 1], route[i]
    return route


def or_opt(order: list[int], d: Sequence[Sequence[float]]) -> list[int]:
    """Move segments of 1–3 stops to a better place (either direction) while that helps."""
    route = list(order)
    improved = True
    while improved:
        improved = False
        n = len(route)
        for seg_len in (1, 2, 3):
            for i in range(1, n - seg_len + 1):
                first, last = route[i], route[i + seg_len - 1]
                prev = route[i - 1]
                nxt = route[i + seg_len] if i + seg_len < n else None
                gain = d[prev][first]
                if nxt is not None:
                    gain += d[last][nxt] - d[prev][nxt]
                rest = route[:i] + route[i + seg_len :]
                best_delta, best_move = -1e-9, None
                for pos in range(1, len(rest) + 1):
                    u = rest[pos - 1]
                    v = rest[pos] if pos < len(rest) else None
                    for s0, s1, rev in ((first, last, False), (last, first, True)):
                        add = d[u][s0] + (d[s1][v] - d[u][v] if v is not None else 0.0)
                        if add - gain < best_delta:
                            best_delta, best_move = add - gain, (pos, rev)
                if best_move is not None:
                    pos, rev = best_move
                    seg = route[i : i + seg_len]
                    route = rest[:pos] + (seg[::-1] if rev else seg) + rest[pos:]
                    improved = True
                    break
            if improved:
                break
    return route


def _double_bridge(route: list[int], rng: random.Random) -> list[int]:
    n = len(route)
    a, b, c = sorted(rng.sample(range(2, n), 3))
    return route[:1] + route[1:a] + route[b:c] + route[a:b] + route[c:]


def heuristic_path(
    d: Sequence[Sequence[float]], start: int = 0, kicks: int = 60, seed: int = 2567
) -> list[int]:
    """Open path from `start`: nearest neighbour, then 2-opt and Or-opt to a local optimum,
    then `kicks` rounds of iterated local search (a seeded double-bridge perturbation followed
    by 2-opt + Or-opt, kept when shorter). Deterministic for a given seed; not guaranteed
    optimal.
    """
    route = or_opt(two_opt(nearest_neighbour_path(d, start), d), d)
    if len(route) < 6:
        return route
    rng = random.Random(seed)  # noqa: S311 - reproducible kicks, not security
    best, best_len = route, path_length(route, d)
    for _ in range(kicks):
        cand = or_opt(two_opt(_double_bridge(best, rng), d), d)
        length = path_length(cand, d)
        if length < best_len - 1e-9:
            best, best_len = cand, length
    return best


@dataclass(frozen=True)
class Route:
    """A visit order over the input indices, with leg distances (km) and the method used."""

    order: list[int]
    legs_km: list[float]
    total_km: float
    method: str  # EXACT (Held–Karp), HEURISTIC or MANUAL


def order_visits(
    points: Sequence[LonLat | _PointLike], start: int = 0, exact_max: int = EXACT_MAX_VISITS
) -> Route:
    """Order a multi-office trip as an open path starting at `points[start]` (the host).

    Exact (Held–Karp) when there are at most `exact_max` stops besides the start, else
    `heuristic_path`. Legs are great-circle.
    """
    if not points:
        return Route([], [], 0.0, EXACT)
    d = distance_matrix(points)
    if len(points) - 1 <= exact_max:
        order, method = held_karp_path(d, start), EXACT
    else:
        order, method = heuristic_path(d, start), HEURISTIC
    legs = [d[a][b] for a, b in itertools.pairwise(order)]
    return Route(order, legs, sum(legs), method)


def order_method(points: Sequence[LonLat | _PointLike], tolerance_km: float = 1e-6) -> str:
    """How good the path through `points` in the given order (from `points[0]`) is known to be.

    EXACT when no order is shorter (proven by Held–Karp, so this holds for an order typed by
    hand too), HEURISTIC when it is at least as short as the heuristic's (above
    EXACT_MAX_VISITS), else MANUAL. Stored plans keep only their order, so this is derived.
    """
    if len(points) <= 2:
        return EXACT
    best = order_visits(points, start=0)
    given = route_for_order(points, range(len(points)))
    if given.total_km <= best.total_km + tolerance_km:
        return best.method
    return MANUAL


def route_for_order(points: Sequence[LonLat | _PointLike], order: Sequence[int]) -> Route:
    """Legs and total of an order the team chose by hand."""
    pts = [as_lonlat(points[i]) for i in order]
    legs = [haversine_km(a, b) for a, b in itertools.pairwise(pts)]
    return Route(list(order), legs, sum(legs), MANUAL)


def mst_lower_bound(d: Sequence[Sequence[float]]) -> float:
    """Weight of a minimum spanning tree (Prim): an open Hamiltonian path is a spanning tree,
    so no visit order can be shorter than this."""
    n = len(d)
    if n < 2:
        return 0.0
    in_tree = [False] * n
    key = [math.inf] * n
    key[0] = 0.0
    total = 0.0
    for _ in range(n):
        u = min((i for i in range(n) if not in_tree[i]), key=lambda i: key[i])
        in_tree[u] = True
        total += key[u]
        for v in range(n):
            if not in_tree[v] and d[u][v] < key[v]:
                key[v] = d[u][v]
    return total
