"""OBEC's reports: the national summary PDF of a round for all 245 offices (target ≤ 10 s),
then the dashboard's heaviest query at 20 concurrent clients (p95 ≤ 100 ms, bench/dashboard.py).

A throwaway PostGIS cluster is set up by `pinmap setup` as `make run` does (bench/load.py's
setup_database), every office is given a report on every FY2567 item of round 1 (a mix of
approved, submitted and draft), and the PDF is fetched through the app's test client as a
reader would. Baseline in the same run: the same document as XLSX (the same read models, no
layout), so the ratio shows what the PDF layout costs. Prints the load average: the machine is
shared.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import _root  # noqa: E402,F401  (bench/load.py's imports need it loaded first)
from sqlalchemy import text  # noqa: E402

from bench.load import setup_database  # noqa: E402

FISCAL_YEAR = 2567
ROUND = 1
RUNS = 3
TARGET_S = 10.0


def seed(url: str) -> int:
    """One report per office and item of the round: 7 in 10 approved, 2 submitted, 1 draft."""
    from pinmap.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO workflow_reports
                  (kind, office_id, fiscal_year, subject, subject_id, period)
                SELECT 'progress', o.id, :fy, 'item:' || i.id || ':round:' || :r, i.id, :r
                FROM offices o CROSS JOIN policy_items i WHERE i.fiscal_year = :fy
                """
            ),
            {"fy": FISCAL_YEAR, "r": ROUND},
        )
        conn.execute(
            text(
                """
                INSERT INTO workflow_revisions
                  (report_id, revision_no, state, level, data, approved_at, source, version)
                SELECT id, 1,
                  CASE WHEN id % 10 < 7 THEN 'approved' WHEN id % 10 < 9 THEN 'submitted'
                       ELSE 'draft' END,
                  CASE WHEN id % 10 < 7 THEN 2 WHEN id % 10 < 9 THEN 1 ELSE 0 END,
                  jsonb_build_object('status', (ARRAY['on_plan','plan_adjusted','output_achieved',
                    'not_started'])[1 + id % 4], 'what', 'อบรมครูเพื่อพัฒนาการเรียนรู้'),
                  CASE WHEN id % 10 < 7 THEN now() END, 'manual', 1
                FROM workflow_reports WHERE kind = 'progress'
                """
            )
        )
        conn.execute(
            text(
                """
                UPDATE workflow_reports r SET current_revision_id = v.id,
                  approved_revision_id = CASE WHEN v.state = 'approved' THEN v.id END
                FROM workflow_revisions v WHERE v.report_id = r.id AND r.kind = 'progress'
                """
            )
        )
        count = conn.execute(text("SELECT count(*) FROM workflow_reports")).scalar_one()
    engine.dispose()
    return int(count)


CPU: list[float] = []


def timed(client: object, url: str) -> tuple[float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    r = client.get(url)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    CPU.append(time.process_time() - cpu)  # this process's CPU: the app and WeasyPrint
    assert r.status_code == 200, (url, r.status_code, r.get_data(as_text=True)[:300])
    return elapsed, len(r.data)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="pinmap-bench-reports-") as tmp:
        started = time.monotonic()
        cluster, url = setup_database(Path(tmp))
        try:
            reports = seed(url)
            took = time.monotonic() - started
            print(f"cluster + pinmap setup + {reports} reports {took:.1f} s")
            os.environ["DATABASE_URL"] = url
            from pinmap import create_app

            app = create_app()
            client = app.test_client()
            base = f"/reports/national/{FISCAL_YEAR}/{ROUND}"
            timed(client, base + ".pdf")  # warm: fonts, basemap projection, templates
            xlsx = [timed(client, base + ".xlsx") for _ in range(RUNS)]
            CPU.clear()
            pdf = [timed(client, base + ".pdf") for _ in range(RUNS)]
            pdf_cpu = statistics.median(CPU)
            load = os.getloadavg()
        finally:
            cluster.stop()
    x = statistics.median(t for t, _ in xlsx)
    p = statistics.median(t for t, _ in pdf)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    print(f"baseline: national XLSX   median {x * 1000:7.0f} ms ({xlsx[0][1]:,} bytes)")
    print(
        f"national PDF, 245 offices  median {p * 1000:7.0f} ms ({pdf[0][1]:,} bytes)"
        f"  max {max(t for t, _ in pdf) * 1000:.0f} ms"
    )
    print(f"PDF CPU time of this process, median {pdf_cpu * 1000:.0f} ms (the rest is waiting)")
    verdict = "ok" if p <= TARGET_S else "MISSED"
    print(f"ratio PDF / XLSX {p / x:.1f}x; target <= {TARGET_S:.0f} s: {verdict}")
    print()
    from bench import dashboard

    dashboard_failed = dashboard.main([])
    return 0 if p <= TARGET_S and not dashboard_failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
