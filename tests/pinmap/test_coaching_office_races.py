"""Presses at the same moment on what coaching sends to an office: a record published by two
coaches at once is published (and each office user told) once; two staff acknowledging one
follow-up at once leave one acknowledgement and no error; two findings sends leave one row per
office. Run against a database of their own, each thread with its own session, released
together by a barrier."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import (
    FollowUpAck,
    MonitoringRound,
    Notification,
    Office,
    ResultRecord,
    User,
    VisitFollowUp,
    VisitPlan,
    VisitRecord,
)
from pinmap.services import coaching as svc
from pinmap.services.audit import Actor
from pinmap.services.errors import ServiceError

from ..support.databases import drop_database, prepared_database
from ..support.factories import UserFactory

THREADS = 4
NOW = dt.datetime(2026, 11, 30, 3, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def factory(pg_cluster: Cluster) -> Iterator[sessionmaker[Session]]:
    url = prepared_database(pg_cluster, "pinmap_coaching_office_races")
    engine = make_engine(url)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()
    drop_database(pg_cluster, url)


def _round(session: Session, no: int) -> MonitoringRound:
    return session.scalars(select(MonitoringRound).filter_by(fiscal_year=2567, round_no=no)).one()


def _user(session: Session, name: str, role: str, office: str | None = None) -> int:
    user = UserFactory(
        session=session,
        email=f"race-{name}@example.go.th",
        name=name,
        role=role,
        office_code=office,
    )
    return int(user.id)


@pytest.fixture(scope="module")
def ids(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        out = {
            "coach": _user(session, "coach", "coach"),
            "editor": _user(session, "editor", "office_editor", "spp-krabi"),
            "director": _user(session, "director", "office_director", "spp-krabi"),
        }
        session.commit()
        coach = Actor(session.get(User, out["coach"]), None, NOW)
        plan = svc.create_plan(session, coach, _round(session, 2).id, 6, host_code="spp-krabi", k=1)
        svc.save_plan(session, coach, plan, plan.version, visit_date=dt.date(2024, 3, 20))
        svc.publish_plan(session, coach, plan, plan.version)
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        session.add(
            ResultRecord(
                office_id=office.id,
                fiscal_year=2567,
                category="onet_rt_nt",
                indicator="O-NET",
                value=40.0,
                unit="%",
                office_target=50.0,
                obec_target=30.0,
            )
        )
        session.commit()
        out.update(plan=plan.id, office=office.id)
        return out


def _new_record(factory: sessionmaker[Session], ids: dict[str, int], *, publish: bool) -> int:
    """A visit record of the plan with two follow-ups (each test its own)."""
    with factory() as session:
        coach = Actor(session.get(User, ids["coach"]), None, NOW)
        plan = session.get(VisitPlan, ids["plan"])
        assert plan is not None
        row = svc.record_visit(
            session, coach, plan, visited_on=dt.date(2024, 3, 20), follow_ups="ส่งแผน\nอบรมครู"
        )
        if publish:
            svc.publish_record(session, coach, plan, row)
        session.commit()
        return int(row.id)


def _together(
    factory: sessionmaker[Session],
    work: Callable[[Session, Any], Any],
    prepare: Callable[[Session, int], Any] = lambda _s, _i: None,
) -> list[Any]:
    """`work` in THREADS threads at once, each in its own session and committing, after each
    thread's `prepare` has loaded what it needs (so the writes really meet); the results, or
    the ServiceError each raised."""
    barrier = threading.Barrier(THREADS)

    def one(i: int) -> Any:
        with factory() as session:
            ready = prepare(session, i)
            barrier.wait()
            try:
                result = work(session, ready)
                session.commit()
                return result
            except ServiceError as err:
                session.rollback()
                return err

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(one, range(THREADS)))


def test_a_record_published_at_once_by_many_is_published_and_told_once(
    factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    record_id = _new_record(factory, ids, publish=False)

    def load(session: Session, _i: int) -> tuple[Actor, VisitPlan, VisitRecord]:
        plan = session.get(VisitPlan, ids["plan"])
        row = session.get(VisitRecord, record_id)
        assert plan is not None and row is not None
        return Actor(session.get(User, ids["coach"]), None, NOW), plan, row

    def publish(session: Session, ready: tuple[Actor, VisitPlan, VisitRecord]) -> int:
        return svc.publish_record(session, *ready)

    results = _together(factory, publish, load)
    assert sorted(r for r in results if isinstance(r, int)) == [2]  # editor and director
    assert sorted(r.status for r in results if isinstance(r, ServiceError)) == [409] * (THREADS - 1)
    with factory() as session:
        told = session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.subject == f"visit-record:{record_id}")
        )
        assert told == 2


def test_one_follow_up_acknowledged_at_once_by_two_staff_is_acknowledged_once(
    factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    record_id = _new_record(factory, ids, publish=True)
    with factory() as session:
        fu_id = session.scalar(
            select(func.min(VisitFollowUp.id)).where(VisitFollowUp.record_id == record_id)
        )
    assert fu_id is not None

    def load(session: Session, i: int) -> tuple[Actor, Office]:
        office = session.get(Office, ids["office"])
        assert office is not None
        user = session.get(User, ids["editor" if i % 2 else "director"])
        return Actor(user, None, NOW), office

    def acknowledge(session: Session, ready: tuple[Actor, Office]) -> int:
        return int(svc.acknowledge(session, ready[0], ready[1], fu_id).id)

    results = _together(factory, acknowledge, load)
    assert not [r for r in results if isinstance(r, ServiceError)], results
    with factory() as session:
        acks = select(func.count()).select_from(FollowUpAck).filter_by(follow_up_id=fu_id)
        assert session.scalar(acks) == 1
        audits = session.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'followup.acknowledge' "
                "AND entity_id = :id"
            ),
            {"id": str(fu_id)},
        ).scalar()
        assert audits == 1


def test_findings_sent_at_once_leave_one_row_per_office(
    factory: sessionmaker[Session], ids: dict[str, int]
) -> None:
    def load(session: Session, _i: int) -> tuple[Actor, MonitoringRound]:
        return Actor(session.get(User, ids["coach"]), None, NOW), _round(session, 4)

    def send(session: Session, ready: tuple[Actor, MonitoringRound]) -> tuple[int, int]:
        return svc.send_findings(session, ready[0], ready[1], 6)

    results = _together(factory, send, load)
    assert all(isinstance(r, tuple) and r[0] == 1 for r in results), results
    assert sum(r[1] for r in results) == 2  # the office's two users, told once
    with factory() as session:
        rows = session.execute(text("SELECT count(*) FROM evaluation_findings")).scalar()
        assert rows == 1
