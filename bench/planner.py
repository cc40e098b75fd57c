"""Benchmark of the visit planner on the largest cluster: time of a full plan, tour vs optimum."""

from __future__ import annotations

import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.planner import (  # noqa: E402
    EXACT,
    EXACT_MAX_VISITS,
    best_host,
    distance_matrix,
    held_karp_path,
    heuristic_path,
    mst_lower_bound,
    order_visits,
    path_length,
    within_radius,
)

CLUSTER = 13
RADIUS_KM = 100.0
RUNS = 7
TIME_TARGET_MS = 200.0
GAP_TARGET = 0.05


def read_offices(cluster: int | None = None) -> list[dict[str, Any]]:
    with (ROOT / "data" / "offices.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [
        {
            "code": r["code"],
            "lonlat": (float(r["lon"]), float(r["lat"])),
            "cluster": int(r["cluster_no"]),
        }
        for r in rows
        if cluster is None or int(r["cluster_no"]) == cluster
    ]


def full_plan(members: list[dict[str, Any]], everyone: list[dict[str, Any]]) -> dict[str, Any]:
    """What the planner page does: host, invitees within RADIUS_KM (any cluster), visit order."""
    points = [m["lonlat"] for m in members]
    host = best_host(points)
    invited = within_radius(points[host], [o["lonlat"] for o in everyone], RADIUS_KM)
    route = order_visits(points, start=host)
    return {"host": members[host]["code"], "invited": len(invited) - 1, "route": route}


def exact_path_numpy(d: np.ndarray, start: int) -> float:
    """Held–Karp over bitmasks, vectorised per subset size (exact; ~2^(n-1)·(n-1) floats)."""
    others = [i for i in range(len(d)) if i != start]
    m = len(others)
    dd = d[np.ix_(others, others)].astype(np.float64)
    size = 1 << m
    best = np.full((size, m), np.inf)
    for j in range(m):
        best[1 << j, j] = d[start, others[j]]
    masks = np.arange(size, dtype=np.int64)
    pop = np.zeros(size, dtype=np.int64)
    for j in range(m):
        pop += (masks >> j) & 1
    for k in range(2, m + 1):
        level = masks[pop == k]
        for j in range(m):
            sel = level[(level >> j) & 1 == 1]
            prev = sel ^ (1 << j)
            # Ending at j: came from some i in prev (best[prev, i] is inf for i not in prev).
            best[sel, j] = np.min(best[prev] + dd[:, j], axis=1)
    return float(best[size - 1].min())


def main() -> int:
    everyone = read_offices()
    members = [o for o in everyone if o["cluster"] == CLUSTER]
    points = [m["lonlat"] for m in members]
    full_plan(members, everyone)  # warm-up
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        plan = full_plan(members, everyone)
        times.append((time.perf_counter() - t0) * 1000)
    median_ms = statistics.median(times)
    route = plan["route"]
    d = np.array(distance_matrix(points))
    host = points.index(members[[m["code"] for m in members].index(plan["host"])]["lonlat"])

    t0 = time.perf_counter()
    optimum = exact_path_numpy(d, host)
    exact_s = time.perf_counter() - t0
    lower = mst_lower_bound(d.tolist())
    full_ratio = route.total_km / optimum

    # Pure-Python Held–Karp on random subsets, to check the heuristic where both are cheap.
    rng = random.Random(2567)  # noqa: S311 - reproducible subsets
    subsets = []
    for size in (12, 15):
        for _ in range(3):
            idx = sorted(rng.sample(range(len(points)), size))
            sub = [points[i] for i in idx]
            sd = distance_matrix(sub)
            t1 = time.perf_counter()
            opt = path_length(held_karp_path(sd, 0), sd)
            hk_s = time.perf_counter() - t1
            heur = path_length(heuristic_path(sd, 0), sd)
            subsets.append(
                {
                    "size": size,
                    "optimal_km": round(opt, 3),
                    "heuristic_km": round(heur, 3),
                    "ratio": round(heur / opt, 5),
                    "held_karp_s": round(hk_s, 3),
                }
            )

    # The largest trip still ordered exactly: the host and EXACT_MAX_VISITS of its cluster.
    trip = [points[host]] + [p for i, p in enumerate(points) if i != host][:EXACT_MAX_VISITS]
    order_visits(trip, start=0)  # warm-up
    exact_times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        exact_route = order_visits(trip, start=0)
        exact_times.append((time.perf_counter() - t0) * 1000)
    exact_ms = statistics.median(exact_times)
    assert exact_route.method == EXACT

    time_ok = median_ms <= TIME_TARGET_MS and exact_ms <= TIME_TARGET_MS
    gap_ok = full_ratio <= 1 + GAP_TARGET and all(s["ratio"] <= 1 + GAP_TARGET for s in subsets)
    out = {
        "cluster": CLUSTER,
        "offices": len(members),
        "host": plan["host"],
        "invited_within_km": RADIUS_KM,
        "invited": plan["invited"],
        "method": route.method,
        "runs": RUNS,
        "plan_ms_median": round(median_ms, 2),
        "plan_ms_all": [round(t, 2) for t in times],
        "exact_trip_visits": EXACT_MAX_VISITS,
        "exact_trip_ms_median": round(exact_ms, 2),
        "exact_trip_ms_all": [round(t, 2) for t in exact_times],
        "tour_km": round(route.total_km, 3),
        "optimal_km": round(optimum, 3),
        "optimal_method": "Held-Karp (numpy bitmask DP), exact",
        "optimal_s": round(exact_s, 2),
        "ratio_vs_optimal": round(full_ratio, 5),
        "mst_lower_bound_km": round(lower, 3),
        "ratio_vs_mst_bound": round(route.total_km / lower, 5),
        "subsets": subsets,
        "targets": {"plan_ms": TIME_TARGET_MS, "max_gap": GAP_TARGET},
        "time": "PASS" if time_ok else "FAIL",
        "quality": "PASS" if gap_ok else "FAIL",
        "distances": "great-circle (haversine, R=6371.0088 km), not road distances",
    }
    print(
        f"cluster {CLUSTER}: {len(members)} offices, host {plan['host']}, "
        f"{plan['invited']} offices within {RADIUS_KM:.0f} km"
    )
    print(
        f"full plan median {median_ms:.1f} ms over {RUNS} runs "
        f"(target ≤ {TIME_TARGET_MS:.0f} ms): {out['time']}"
    )
    print(
        f"exact order of host + {EXACT_MAX_VISITS} visits (Held-Karp) median {exact_ms:.1f} ms "
        f"(target ≤ {TIME_TARGET_MS:.0f} ms)"
    )
    print(
        f"tour {route.total_km:.1f} km ({route.method}); exact optimum {optimum:.1f} km "
        f"(numpy Held-Karp, {exact_s:.1f} s); ratio {full_ratio:.4f}; "
        f"MST lower bound {lower:.1f} km"
    )
    for s in subsets:
        print(
            f"  subset of {s['size']}: heuristic/optimal = {s['ratio']:.4f} "
            f"(Held-Karp {s['held_karp_s']:.2f} s)"
        )
    print(f"quality (≤ {GAP_TARGET:.0%} over optimal): {out['quality']}")
    dest = ROOT / "bench" / "out" / "planner.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {dest.relative_to(ROOT)}")
    return 0 if time_ok and gap_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
