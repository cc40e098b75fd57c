"""Jobs against the reference endpoint with every fault switch: nothing lost, nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from ingest.jobs import run_source
from pinmap.config import PROJECT_ROOT
from pinmap.models import Office
from tools.reference_endpoint import PROGRESS_ROUTE, ReferenceServer

from ..support.ingest import (
    ALL,
    FixedServer,
    IngestDB,
    Routes,
    exact_cells,
    page,
    progress_record,
)
from ..support.progress_sql import ENTRIES, REVISIONS


def _entries(db: IngestDB) -> int:
    return db.scalar(f"SELECT count(*) FROM {ENTRIES}")  # type: ignore[return-value]  # noqa: S608 (a fixed row source, no input)


def test_full_sync_then_replay_changes_nothing(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint()
    rollback_db.add_source("demo-progress", url=f"{url}/progress", options={"demo": True})
    first = run_source(rollback_db.factory, "demo-progress")
    assert first.outcome == "ok", first
    assert first.counts["inserted"] == ALL and first.counts["fetched"] == ALL
    assert _entries(rollback_db) == ALL
    assert len(exact_cells(rollback_db)) == ALL  # the dashboard's read-model, kept by triggers
    assert rollback_db.scalar(f"SELECT count(DISTINCT state) FROM {REVISIONS}") == 1  # noqa: S608 (a fixed row source, no input)
    assert rollback_db.scalar(f"SELECT min(state) FROM {REVISIONS}") == "submitted"  # noqa: S608 (a fixed row source, no input)
    revisions = rollback_db.scalar(f"SELECT count(*) FROM {REVISIONS}")  # noqa: S608 (a fixed row source, no input)
    audit = rollback_db.scalar("SELECT count(*) FROM audit_log")
    again = run_source(rollback_db.factory, "demo-progress")
    assert again.outcome == "ok"
    assert again.counts["unchanged"] == ALL and again.counts["inserted"] == 0
    assert again.counts["updated"] == 0
    assert rollback_db.scalar(f"SELECT count(*) FROM {REVISIONS}") == revisions  # noqa: S608 (a fixed row source, no input)
    assert rollback_db.scalar("SELECT count(*) FROM audit_log") == audit
    runs = rollback_db.scalar("SELECT count(*) FROM ingest_runs WHERE outcome = 'ok'")
    assert runs == 2


@pytest.mark.parametrize(
    ("faults", "retries"),
    [
        ({"http500_every": 3}, True),
        ({"http500_first": 2}, True),
        ({"timeout_first": 1, "timeout_sleep_s": 3.0, "request_timeout": 0.5}, True),
        ({"malformed_first": 2}, True),
        ({"truncated_first": 2}, True),
        ({"latency_ms": 50}, False),
    ],
)
def test_transient_faults_lose_nothing(  # type: ignore[no-untyped-def]
    rollback_db: IngestDB, reference_server, faults, retries
) -> None:
    # A shorter request timeout where the upstream hangs: the client still waits it out once.
    faults = dict(faults)
    request_timeout = faults.pop("request_timeout", 1.0)
    server = reference_server(**faults)
    rollback_db.add_source(
        "demo-p",
        url=f"{server.url}/progress",
        timeout_seconds=60,
        # The shortest back-off a source may have: the retries, not the waits, are tested.
        options={"demo": True, "request_timeout": request_timeout, "retry_delay": 0.01},
    )
    result = run_source(rollback_db.factory, "demo-p")
    assert result.outcome == "ok", result
    assert result.counts["inserted"] == ALL
    assert _entries(rollback_db) == ALL
    # The faults were really served (so the run really retried), and only where expected.
    served = server.stats()[PROGRESS_ROUTE]
    injected = sum(served[k] for k in ("http500", "timeouts", "malformed", "truncated"))
    assert (injected > 0) == retries, served


def test_duplicates_across_pages_land_once(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint(duplicates=True)
    rollback_db.add_source("demo-p", url=f"{url}/progress", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-p")
    assert result.counts["inserted"] == ALL
    assert (
        result.counts["fetched"] > ALL
        and result.counts["unchanged"] == result.counts["fetched"] - ALL
    )
    assert rollback_db.scalar(f"SELECT count(*) FROM {REVISIONS}") == ALL  # noqa: S608 (a fixed row source, no input)


def test_an_older_version_never_overwrites_a_newer_one(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint(out_of_order=True)
    rollback_db.add_source("demo-p", url=f"{url}/progress", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-p")
    assert result.outcome == "ok"
    assert _entries(rollback_db) == ALL
    # Every stored record is the newest version the feed carried.
    stale = rollback_db.scalar(
        "SELECT count(*) FROM ingest_records r WHERE r.source_updated_at < "
        "(SELECT max(source_updated_at) FROM ingest_records)"
        " AND r.source_record_id IN (SELECT source_record_id FROM ingest_records"
        "  WHERE source_updated_at > '2024-03-25T09:00:00+07:00')"
    )
    assert stale == 0
    newer = rollback_db.scalar(
        "SELECT count(*) FROM ingest_records WHERE source_updated_at > '2024-03-25T09:00:00+07:00'"
    )
    assert newer and newer > 0


def test_bad_records_are_quarantined_with_reasons_and_the_rest_land(
    rollback_db: IngestDB, endpoint
) -> None:  # type: ignore[no-untyped-def]
    url = endpoint(unknown_refs=True)
    rollback_db.add_source("demo-p", url=f"{url}/progress", options={"demo": True})
    result = run_source(rollback_db.factory, "demo-p")
    assert result.outcome == "partial"
    assert result.counts["inserted"] == ALL
    q = result.counts["quarantined"]
    assert q > 0 and result.counts["fetched"] == ALL + q
    reasons = {
        r for (r,) in _rows(rollback_db, "SELECT field || ': ' || reason FROM ingest_quarantine")
    }
    assert any(r.startswith("office_code: unknown office 'spp-atlantis'") for r in reasons), reasons
    assert any(r.startswith("item: no item policy 42") for r in reasons), reasons
    assert any(r.startswith("round: Not a valid integer") for r in reasons), reasons
    assert rollback_db.scalar("SELECT quarantined FROM ingest_runs") == q


def _rows(db: IngestDB, query: str) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    with db.factory() as s:
        return [tuple(r) for r in s.execute(text(query))]


def test_a_dead_upstream_fails_within_the_run_timeout(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint(fail_always=True)
    # The shortest run timeout a source may have; the same second of slack as with three.
    rollback_db.add_source(
        "demo-p", url=f"{url}/progress", timeout_seconds=1, options={"demo": True}
    )
    started = time.monotonic()
    result = run_source(rollback_db.factory, "demo-p")
    assert time.monotonic() - started < 2.0
    assert result.outcome == "failed" and "HTTP 500" in result.error
    assert rollback_db.scalar("SELECT outcome FROM ingest_runs") == "failed"


def test_a_hung_upstream_cannot_hang_the_run(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint(timeout_first=100, timeout_sleep_s=30.0)
    rollback_db.add_source(
        "demo-p",
        url=f"{url}/progress",
        timeout_seconds=1,  # the shortest allowed; the same 1.5 s of slack as with two
        options={"demo": True, "request_timeout": 30},
    )
    started = time.monotonic()
    result = run_source(rollback_db.factory, "demo-p")
    assert time.monotonic() - started < 2.5
    assert result.outcome == "failed"


def test_stats_and_quarterly_sources(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint()
    rollback_db.add_source(
        "demo-stats", kind="stats-csv", url=f"{url}/stats.csv", options={"demo": True}
    )
    rollback_db.add_source(
        "demo-q", kind="quarterly-json", url=f"{url}/quarterly", options={"demo": True}
    )
    stats = run_source(rollback_db.factory, "demo-stats")
    assert stats.outcome == "ok" and stats.counts["inserted"] == 245
    quarterly = run_source(rollback_db.factory, "demo-q")
    assert quarterly.outcome == "ok" and quarterly.counts["inserted"] == 245 * 8
    assert run_source(rollback_db.factory, "demo-q").counts["unchanged"] == 245 * 8
    assert rollback_db.scalar("SELECT count(*) FROM office_stats") == 245


def test_pre_approved_source_publishes_and_announces(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    url = endpoint()
    rollback_db.add_source(
        "demo-p", url=f"{url}/progress", pre_approved=True, options={"demo": True}
    )
    run_source(rollback_db.factory, "demo-p")
    unapproved = f"SELECT count(*) FROM {ENTRIES} WHERE approved_revision_id IS NULL"  # noqa: S608 (a fixed row source, no input)
    assert rollback_db.scalar(unapproved) == 0
    public = rollback_db.scalar(
        "SELECT count(DISTINCT office_code) FROM change_events WHERE audience = 'public'"
    )
    assert public == 245


def test_one_source_never_runs_twice_at_once(
    ingest_db: IngestDB, fixed_server: Callable[[Routes], FixedServer]
) -> None:
    # The first run's page is held until the second run has tried: they surely overlap, so a
    # one-record feed does (a national one only made the run long enough, most of the time).
    server = fixed_server({"/p": page(progress_record())})
    server.hold.arm("/p", 1)
    ingest_db.add_source("demo-p", url=f"{server.url}/p", options={"demo": True})
    results = []
    first = threading.Thread(target=lambda: results.append(run_source(ingest_db.factory, "demo-p")))
    first.start()
    try:
        _wait_until_held(server, first.is_alive)
        results.append(run_source(ingest_db.factory, "demo-p"))
    finally:
        server.hold.release()
        first.join()
    assert sorted(r.outcome for r in results) == ["ok", "skipped"]


def _wait_until_held(server: ReferenceServer | FixedServer, alive: Callable[[], bool]) -> None:
    """Until the run (still `alive`) waits on a held page."""
    deadline = time.monotonic() + 30
    while not server.hold.wait_held(timeout=0.05):
        assert alive(), "the run ended before it asked for the held page"
        assert time.monotonic() < deadline, "the run never asked for the held page"


def _env(db: IngestDB) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": db.url, "SECRET_KEY": "test", "PINMAP_INGEST_POLL": "0.1"}


def test_a_run_killed_mid_way_leaves_the_database_consistent(
    ingest_db: IngestDB, reference_server: Callable[..., ReferenceServer]
) -> None:
    server = reference_server(page_size=500)
    # Page 1 lands (a run asks for a page only once the one before committed); page 2 is held
    # until the process is dead, so the kill lands mid-way, every time.
    server.hold.arm(PROGRESS_ROUTE, 2)
    ingest_db.add_source("demo-p", url=f"{server.url}/progress", options={"demo": True})
    proc = subprocess.Popen(
        [sys.executable, "-m", "pinmap.cli", "ingest", "once", "demo-p"],
        cwd=PROJECT_ROOT,
        env=_env(ingest_db),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_held(server, lambda: proc.poll() is None)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _wait_until_locks_released(ingest_db)
    landed = ingest_db.scalar(f"SELECT count(*) FROM {ENTRIES}")  # noqa: S608 (a fixed row source, no input)
    assert 0 < landed < ALL  # type: ignore[operator]
    # The run's counters committed with the pages they count.
    assert ingest_db.scalar("SELECT inserted FROM ingest_runs") == landed
    assert ingest_db.scalar("SELECT outcome FROM ingest_runs") == "running"
    # The same feed, no longer held.
    server.hold.release()
    resumed = run_source(ingest_db.factory, "demo-p")
    assert resumed.outcome == "ok"
    assert resumed.counts["inserted"] + resumed.counts["unchanged"] == ALL
    assert _entries(ingest_db) == ALL
    outcomes = [
        r
        for (r,) in _rows(ingest_db, "SELECT outcome || ':' || error FROM ingest_runs ORDER BY id")
    ]
    assert outcomes[0].startswith("failed:interrupted") and outcomes[1] == "ok:"


def _wait_until_locks_released(db: IngestDB, timeout: float = 30.0) -> None:
    """Until the server has ended a killed process's session and so freed its advisory locks:
    it notices the closed socket only when that backend next reads, later on a busy machine."""
    deadline = time.monotonic() + timeout
    while db.scalar("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"):
        assert time.monotonic() < deadline, "a killed process's advisory lock was never freed"
        time.sleep(0.05)


def test_two_scheduler_processes_elect_one_leader_and_fail_over(
    ingest_db: IngestDB, fixed_feed: Callable[[Routes], str]
) -> None:
    # Election is what is tested, not the sync: a one-record feed spares two national syncs.
    url = fixed_feed({"/p": page(progress_record())})
    ingest_db.add_source("demo-p", url=f"{url}/p", interval_seconds=3600, options={"demo": True})
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "ingest"],
            cwd=PROJECT_ROOT,
            env=_env(ingest_db),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and ingest_db.scalar("SELECT count(*) FROM ingest_runs WHERE outcome = 'ok'") == 0
        ):
            time.sleep(0.05)
        assert ingest_db.scalar("SELECT count(*) FROM ingest_runs") == 1  # one leader ran it
        leader = next(p for p in procs if _is_leader(ingest_db, p))
        follower = next(p for p in procs if p is not leader)
        leader.send_signal(signal.SIGKILL)
        leader.wait()
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline
            and ingest_db.scalar("SELECT count(*) FROM ingest_runs WHERE outcome <> 'running'") < 2
        ):
            time.sleep(0.05)
        assert ingest_db.scalar("SELECT count(*) FROM ingest_runs") == 2
        assert follower.poll() is None
        # Runs never overlapped: each started after the previous one finished.
        overlap = ingest_db.scalar(
            "SELECT count(*) FROM ingest_runs a JOIN ingest_runs b ON a.id < b.id "
            "WHERE b.started_at < coalesce(a.finished_at, now())"
        )
        assert overlap == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if p.stdout:
                p.stdout.close()


def _is_leader(db: IngestDB, proc: subprocess.Popen[str]) -> bool:
    holder = db.scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.objid = :key AND l.granted",
        key=0x696E6701,
    )
    return holder == f"pinmap-ingest:{proc.pid}"


def test_counts_that_disagree_between_sources_are_listed(rollback_db: IngestDB, endpoint) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from pinmap.models import OfficeStats
    from pinmap.services.ingest_status import disagreements

    url = endpoint()
    rollback_db.add_source(
        "demo-stats", kind="stats-csv", url=f"{url}/stats.csv", options={"demo": True}
    )
    run_source(rollback_db.factory, "demo-stats")
    with rollback_db.factory.begin() as s:
        office = s.scalars(select(Office).filter_by(code="spp-krabi")).one()
        theirs = s.scalars(select(OfficeStats).filter_by(office_id=office.id)).one()
        s.add(
            OfficeStats(
                office_id=office.id,
                source="manual",
                as_of=dt.date(2024, 6, 1),
                schools=theirs.schools,
                students=(theirs.students or 0) + 10,
            )
        )
    with rollback_db.factory() as s:
        found = disagreements(s)
    assert [(d.office_code, d.measure) for d in found] == [("spp-krabi", "students")]
