"""The OBEC dashboard's heaviest query under 20 concurrent clients: p95 <= 100 ms.

A throwaway PostGIS cluster is set up by `pinmap setup` as `make run` does, then filled with
progress reports (tests/support/dashboard_seed.py): every office, item and round of the
framework year (245 x 21 x 2, 97 % filed, states spread), plus the same volume again under four
other fiscal years, so the query must find its year among five. Each client is a thread with
its own database connection running the query back to back for `--seconds`; latencies are
per call, wall-clock. Measured in the same run, one after the other:

  - before: the old dashboard's heaviest query (reported_keys: every reported cell as a row);
  - the new counts (per office/round/status and item/round/status, one GROUPING SETS query)
    read from the workflow tables: every report joined to its current revision;
  - the same counts from the read-model dashboard_cells (migration f2c8d4a6b190, kept by
    triggers): status_counts as the dashboard runs it, the one the target is judged on;
  - the whole dashboard service (all its queries and the Python around them), for context.

First, the floor: `SELECT 1` under the same 20 clients, what the machine's load and the
driver leave at that moment. Printed per case: calls, calls/s, p50/p95/p99 and the load
average (the machine is shared); ratios against the old query, the same counts from the
workflow tables and the floor. Results go to bench/out/dashboard.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
sys.path.append(str(HERE))

import _root  # noqa: E402,F401  (before bench.load, which drops bench/ from sys.path)
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.load import setup_database  # noqa: E402
from pinmap.db import make_engine  # noqa: E402
from pinmap.services.coaching import dashboard as dsvc  # noqa: E402
from tests.support.dashboard_seed import seed_progress  # noqa: E402

OUT = ROOT / "bench" / "out" / "dashboard.json"
CLIENTS = 20
TARGET_P95_MS = 100.0
# The old dashboard's heaviest query (reported_keys before the read-model), as it was.
OLD_KEYS = text(
    """
    SELECT r.office_id, r.subject_id, r.period
    FROM workflow_reports r
    LEFT JOIN workflow_revisions v ON v.id = r.current_revision_id
    WHERE r.kind = 'progress' AND r.fiscal_year = :fy
      AND (r.approved_revision_id IS NOT NULL OR v.state IN ('submitted', 'approved'))
    """
)
# The same counts read from the workflow tables, as the dashboard did before the read-model.
JOINED = text(
    """
    SELECT r.office_id, r.subject_id, r.period,
           count(*) FILTER (WHERE s.status = 'draft'),
           count(*) FILTER (WHERE s.status = 'returned'),
           count(*) FILTER (WHERE s.status = 'submitted'),
           count(*) FILTER (WHERE s.status = 'approved')
    FROM workflow_reports r
    JOIN offices o ON o.id = r.office_id
    LEFT JOIN workflow_revisions v ON v.id = r.current_revision_id
    CROSS JOIN LATERAL (SELECT CASE WHEN r.approved_revision_id IS NOT NULL THEN 'approved'
                                    ELSE coalesce(v.state, 'draft') END AS status) s
    WHERE r.kind = 'progress' AND r.fiscal_year = :fy
      AND r.subject_id IN (SELECT id FROM policy_items WHERE fiscal_year = :fy)
    GROUP BY GROUPING SETS ((r.office_id, r.period), (r.subject_id, r.period))
    """
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--seconds", type=float, default=15.0, help="per case")
    p.add_argument("--clients", type=int, default=CLIENTS)
    return p.parse_args(argv)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run_case(
    url: str, work: Callable[[Session], Any], clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` threads, each with its own connection, calling `work` until time is up."""
    engine = make_engine(url, pool_size=clients, max_overflow=0)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    ready = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(n: int) -> None:
        with engine.connect() as conn, Session(bind=conn) as session:
            work(session)  # warm: plans cached, pages in memory
            session.rollback()
            ready.wait()
            while time.perf_counter() < stop_at[0]:
                t0 = time.perf_counter()
                work(session)
                session.rollback()
                latencies[n].append((time.perf_counter() - t0) * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    load_before = os.getloadavg()[0]
    stop_at[0] = time.perf_counter() + seconds + 0.5
    ready.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    took = time.perf_counter() - started
    engine.dispose()
    flat = [x for per in latencies for x in per]
    return {
        "calls": len(flat),
        "calls_per_s": len(flat) / took if took else 0.0,
        "p50_ms": percentile(flat, 50),
        "p95_ms": percentile(flat, 95),
        "p99_ms": percentile(flat, 99),
        "max_ms": max(flat, default=float("nan")),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pinmap-bench-dash-") as tmp:
        cluster, url = setup_database(Path(tmp))
        try:
            return measure(url, args)
        finally:
            cluster.stop()


def measure(url: str, args: argparse.Namespace) -> int:
    engine = make_engine(url)
    with engine.begin() as conn:
        fy = int(conn.scalar(text("SELECT max(fiscal_year) FROM reporting_windows")))
        added = seed_progress(conn, fy)
        for other in range(fy - 4, fy):
            added += seed_progress(conn, fy, report_year=other)
        cells = int(conn.scalar(text("SELECT count(*) FROM dashboard_cells")))
    # What autovacuum does soon after a bulk load: statistics, and the visibility map an
    # index-only scan needs.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"fiscal year {fy}: {added:,} progress reports, {cells:,} read-model rows")
    today = dt.date(fy - 543, 9, 1)
    nation = dsvc.Filters(fy)

    cases: dict[str, dict[str, Any]] = {}

    def case(label: str, work: Callable[[Session], Any]) -> None:
        result = run_case(url, work, args.clients, args.seconds)
        cases[label] = result
        print(
            f"{label:<44} {result['calls']:>6} calls {result['calls_per_s']:>7.1f}/s"
            f"  p50 {result['p50_ms']:>7.1f}  p95 {result['p95_ms']:>7.1f}"
            f"  p99 {result['p99_ms']:>7.1f} ms  load {result['load_before']:.1f}"
            f"→{result['load_after']:.1f}",
            flush=True,
        )

    print(f"{args.clients} clients, {args.seconds:g} s per case, {os.cpu_count()} cores")
    case("floor: SELECT 1 (machine and driver)", lambda s: s.execute(text("SELECT 1")).all())
    case(
        "before: reported_keys (old dashboard)",
        lambda s: {(o, int(i or 0), int(r or 0)) for o, i, r in s.execute(OLD_KEYS, {"fy": fy})},
    )
    case("same counts from the workflow tables", lambda s: s.execute(JOINED, {"fy": fy}).all())
    with engine.connect() as conn:
        items = list(
            conn.scalars(text("SELECT id FROM policy_items WHERE fiscal_year = :y"), {"y": fy})
        )
    # As the dashboard runs it: the year's items are already read for the page.
    case("status_counts on the read-model", lambda s: dsvc.status_counts(s, nation, items))
    case("whole dashboard service (nation)", lambda s: dsvc.dashboard(s, nation, today))
    engine.dispose()

    old = cases["before: reported_keys (old dashboard)"]["p95_ms"]
    floor = cases["floor: SELECT 1 (machine and driver)"]["p95_ms"]
    joined = cases["same counts from the workflow tables"]["p95_ms"]
    new = cases["status_counts on the read-model"]["p95_ms"]
    print(
        f"p95 ratio new query / old dashboard's: {new / old:.2f}; "
        f"read-model / workflow tables: {new / joined:.2f}; read-model / floor: {new / floor:.1f}"
    )
    ok = new <= TARGET_P95_MS
    print(
        f"target p95 <= {TARGET_P95_MS:g} ms at {args.clients} clients: {'met' if ok else 'MISSED'}"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {"clients": args.clients, "seconds": args.seconds, "reports": added, "cases": cases},
            indent=2,
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
