"""Benchmark of the dashboard read-model's triggers in a national sync: per row vs per statement.

The same two syncs (a full national sync of the demo feed into an empty database, then a sync
of a changed feed that replaces every report's content) run on fresh clones of one template,
alternating between the triggers at head (statement triggers with transition tables, migration
a4d6e8f0b2c1) and, as the baseline measured in the same run, the row triggers they replaced
(f2c8d4a6b190's, put back by that migration's own downgrade on the baseline's clone). Prints
wall time and PostgreSQL's CPU for each, their ratios, and checks that both leave exactly the
same `dashboard_cells` rows, equal to the status rule recomputed from the workflow tables.

    .venv/bin/python bench/dashboard_triggers.py [--runs 3] [--fsync-off]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/ingest.py is named like the `ingest` package: keep this directory off sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from alembic.operations import Operations  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from psycopg import sql  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from ingest.jobs import run_source  # noqa: E402
from ingest.sources import upsert  # noqa: E402
from pinmap.db import make_engine  # noqa: E402
from pinmap.localdb import Cluster, free_port  # noqa: E402
from tools.devdb import prepared_database  # noqa: E402
from tools.readmodel import CELL_RULE, CELLS  # noqa: E402
from tools.reference_endpoint import serve  # noqa: E402

TEMPLATE = "pinmap_bench_cells"
MIGRATION = ROOT / "alembic" / "versions" / "20261130_a4d6e8f0b2c1_dashboard_cells_per_statement.py"
RECORDS = 245 * 21  # offices × FY2567 items, round 1


def postgres_cpu(cluster: Cluster) -> float:
    """CPU seconds of the cluster's processes so far: the postmaster, the backends it has reaped
    (counted in its children's time) and those still running."""
    pid = int((cluster.datadir / "postmaster.pid").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")

    def fields(p: int) -> list[str]:
        return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()

    own = fields(pid)
    total = sum(int(own[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        try:
            f = fields(int(child))
        except OSError:
            continue  # ended meanwhile: already in the postmaster's children's time
        total += int(f[11]) + int(f[12])
    return total / ticks


def row_triggers(url: str) -> None:
    """Put back f2c8d4a6b190's row triggers, exactly as a4d6e8f0b2c1's downgrade does."""
    spec = importlib.util.spec_from_file_location("cells_per_statement", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    engine = make_engine(url)
    try:
        with engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
            module.downgrade()
    finally:
        engine.dispose()


def superuser(cluster: Cluster, statement: sql.Composable) -> None:
    with psycopg.connect(cluster.superuser_url(), autocommit=True) as conn:
        conn.execute(statement)


def one_run(
    cluster: Cluster, base_url: str, endpoints: tuple[str, str], name: str, baseline: bool
) -> dict[str, Any]:
    superuser(
        cluster,
        sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER pinmap").format(
            sql.Identifier(name), sql.Identifier(TEMPLATE)
        ),
    )
    url = f"{base_url}/{name}"
    if baseline:
        row_triggers(url)
    engine = make_engine(url)
    try:
        factory = sessionmaker(bind=engine, expire_on_commit=False)
        out: dict[str, Any] = {}
        for phase, endpoint, expect in (
            ("full", endpoints[0], "inserted"),
            ("changed", endpoints[1], "updated"),
        ):
            with factory.begin() as session:
                upsert(
                    session,
                    "demo-progress",
                    {
                        "kind": "progress-json",
                        "url": f"{endpoint}/progress",
                        "interval_seconds": 3600,
                        "timeout_seconds": 300,
                        "options": {"demo": True},
                    },
                )
            cpu0, t0 = postgres_cpu(cluster), time.perf_counter()
            result = run_source(factory, "demo-progress")
            out[f"{phase}_s"] = time.perf_counter() - t0
            out[f"{phase}_db_cpu_s"] = postgres_cpu(cluster) - cpu0
            if result.outcome != "ok" or result.counts[expect] != RECORDS:
                raise SystemExit(f"{name} {phase}: {result.outcome} {result.counts} {result.error}")
        with engine.connect() as conn:
            out["cells"] = [tuple(r) for r in conn.execute(text(CELLS))]
            out["rule"] = [tuple(r) for r in conn.execute(text(CELL_RULE))]
        return out
    finally:
        engine.dispose()
        superuser(cluster, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (median reported)")
    parser.add_argument("--fsync-off", action="store_true", help="throwaway-cluster settings")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.fsync_off:
        os.environ["PINMAP_PG_FSYNC"] = "off"
    else:
        os.environ.pop("PINMAP_PG_FSYNC", None)
    tmp = Path(tempfile.mkdtemp(prefix="pinmap-bench-cells-"))
    cluster = Cluster(tmp / "data", free_port())
    servers = []
    results: dict[str, list[dict[str, Any]]] = {"row": [], "statement": []}
    try:
        base_url = prepared_database(cluster, TEMPLATE).rsplit("/", 1)[0]
        first, url1 = serve()
        second, url2 = serve(seed=7, updated_at="2024-03-26T09:00:00+07:00")
        servers = [first, second]
        for n in range(args.runs):
            # Alternate which goes first, so neither always meets a warmer machine.
            order = ("row", "statement") if n % 2 == 0 else ("statement", "row")
            for kind in order:
                r = one_run(
                    cluster, base_url, (url1, url2), f"bench_cells_{kind}_{n}", kind == "row"
                )
                results[kind].append(r)
                print(
                    f"run {n + 1} {kind:>9} triggers: full {r['full_s']:.2f} s"
                    f" (PostgreSQL CPU {r['full_db_cpu_s']:.2f} s), changed {r['changed_s']:.2f} s"
                    f" (PostgreSQL CPU {r['changed_db_cpu_s']:.2f} s)",
                    flush=True,
                )
    finally:
        for server in servers:
            server.shutdown()
        cluster.destroy()
        shutil.rmtree(tmp, ignore_errors=True)

    problems = []
    for kind, runs in results.items():
        for n, r in enumerate(runs):
            if r["cells"] != r["rule"]:
                problems.append(f"{kind} run {n + 1}: dashboard_cells differ from the rule")
            if r["cells"] != results["row"][n]["cells"]:
                problems.append(
                    f"{kind} run {n + 1}: dashboard_cells differ from the row triggers'"
                )
    print(f"\n{RECORDS} progress reports per sync; medians of {args.runs} run(s) each, alternating")
    print(f"{'':<34}{'row (before)':>14}{'statement':>12}{'ratio':>8}")
    for key, label in (
        ("full_s", "full sync, wall s"),
        ("full_db_cpu_s", "full sync, PostgreSQL CPU s"),
        ("changed_s", "changed-feed sync, wall s"),
        ("changed_db_cpu_s", "changed-feed sync, PostgreSQL CPU s"),
    ):
        before = statistics.median(r[key] for r in results["row"])
        after = statistics.median(r[key] for r in results["statement"])
        print(f"{label:<34}{before:>14.2f}{after:>12.2f}{before / after:>7.2f}×")
    cells = len(results["statement"][0]["cells"])
    print(
        f"dashboard_cells: {cells} rows, identical under both and equal to the rule: "
        + ("yes" if not problems else "NO")
    )
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
