"""The ingestion scheduler: one leader process cluster-wide runs every enabled source on time.

Run it as its own process (`python -m ingest`). A process becomes leader by holding a
PostgreSQL advisory lock on a dedicated connection for its whole life; the others wait and
take over within `poll` seconds if the leader dies (its connection, and so its lock, goes with
it). Each run also takes its source's own lock (ingest.jobs), so `pinmap ingest once` and the
scheduler never run one source twice at the same time either.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from pinmap.config import from_env
from pinmap.models import IngestSource

from .jobs import run_source
from .notify_jobs import schedule as schedule_notifications
from .sources import enabled_sources

log = logging.getLogger("ingest.scheduler")
LEADER_KEY = 0x696E6701  # "ing" + 1


def _trigger(source: IngestSource) -> Any:
    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone="Asia/Bangkok")
    return IntervalTrigger(seconds=source.interval_seconds or 3600)


def _signature(source: IngestSource) -> tuple[Any, ...]:
    return (source.kind, source.url, source.cron, source.interval_seconds)


class Leader:
    """Holds the leader lock on its own connection (never a pooled one)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn: psycopg.Connection[Any] | None = None

    def try_acquire(self) -> bool:
        try:
            if self.conn is None or self.conn.closed:
                # The name shows operators (pg_stat_activity) which process leads.
                self.conn = psycopg.connect(
                    self.dsn, autocommit=True, application_name=f"pinmap-ingest:{os.getpid()}"
                )
            got = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_KEY]).fetchone()
            return bool(got and got[0])
        except psycopg.Error as exc:
            log.warning("cannot reach the database for the leader lock: %s", exc)
            self.release()
            return False

    def alive(self) -> bool:
        try:
            assert self.conn is not None  # noqa: S101 (only called while leading)
            self.conn.execute("SELECT 1")
            return True
        except (psycopg.Error, AssertionError):
            return False

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()  # closing the session releases the lock
            except psycopg.Error:
                pass
        self.conn = None


def run(
    factory: sessionmaker[Session],
    dsn: str,
    *,
    poll: float = 5.0,
    reload_every: float = 30.0,
    stop: threading.Event | None = None,
) -> None:
    """Wait to lead, then schedule every enabled source until stopped or the lock is lost."""
    stop = stop or threading.Event()
    leader = Leader(dsn)
    try:
        while not stop.is_set():
            if not leader.try_acquire():
                stop.wait(poll)
                continue
            log.info("leader: this process runs the ingestion schedule")
            try:
                _lead(factory, leader, stop, reload_every)
            finally:
                leader.release()
            if not stop.is_set():
                log.warning("lost the leader lock; waiting to lead again")
    finally:
        # A follower keeps its connection open between tries; stopping must not leak it.
        leader.release()


def _lead(
    factory: sessionmaker[Session], leader: Leader, stop: threading.Event, reload_every: float
) -> None:
    scheduler = BackgroundScheduler(
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": 300},
        timezone="Asia/Bangkok",
    )
    scheduler.start()
    # The outbox and reminders run only here, under the leader lock (see ingest.notify_jobs).
    schedule_notifications(scheduler, factory, from_env())
    scheduled: dict[str, tuple[Any, ...]] = {}
    try:
        while not stop.is_set():
            _sync_jobs(factory, scheduler, scheduled)
            stop.wait(reload_every)
            if not leader.alive():
                return
    finally:
        scheduler.shutdown(wait=False)


def _sync_jobs(
    factory: sessionmaker[Session],
    scheduler: BackgroundScheduler,
    scheduled: dict[str, tuple[Any, ...]],
) -> None:
    """Bring the scheduler's jobs in line with the sources table (admins edit it live)."""
    with factory() as session:
        sources = {s.name: s for s in enabled_sources(session)}
        for name, source in sources.items():
            sig = _signature(source)
            if scheduled.get(name) != sig:
                # A new leader runs each source at once: the old one may have died mid-run.
                first = None if name in scheduled else datetime.now(UTC)
                scheduler.add_job(
                    _run_job,
                    _trigger(source),
                    args=[factory, name],
                    id=name,
                    name=name,
                    replace_existing=True,
                    **({"next_run_time": first} if first else {}),
                )
                scheduled[name] = sig
                log.info(
                    "scheduled %s (%s)", name, source.cron or f"every {source.interval_seconds} s"
                )
        for name in list(scheduled):
            if name not in sources:
                scheduler.remove_job(name)
                del scheduled[name]
                log.info("unscheduled %s", name)


def _run_job(factory: sessionmaker[Session], name: str) -> None:
    try:
        result = run_source(factory, name)
        log.info("run %s: %s %s %s", name, result.outcome, result.counts, result.error)
    except Exception:  # a failing job must not take the scheduler down
        log.exception("run %s crashed", name)


def main(factory: sessionmaker[Session], dsn: str, poll: float = 5.0) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run(factory, dsn, poll=poll, stop=stop)
