"""Two reviewers deciding one report at the same moment: one wins, the other gets a clear 409.

Like test_races, against a database of its own, so each thread's session really commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import Office, User, WorkflowEvent, WorkflowReport
from pinmap.services import workflow as wf
from pinmap.services.accounts import create_user
from pinmap.services.audit import Actor
from pinmap.services.errors import N_, ServiceError

from ..support.databases import prepared_database
from ..support.portal import PASSWORD

KIND = wf.register(
    wf.KindSpec(
        "race_three",
        "race_report",
        (wf.CERTIFY, wf.REVIEW, wf.ACCEPT),
        lambda report, data: {"text": str(data.get("text") or "")},
        lambda report, data: [] if data.get("text") else ["text"],
        {"text": N_("Text")},
    )
)


@pytest.fixture(scope="module")
def factory(pg_cluster: Cluster) -> Iterator[sessionmaker[Session]]:
    url = prepared_database(pg_cluster, "pinmap_wf_races")
    engine = make_engine(url, pool_size=6, max_overflow=2)
    made = sessionmaker(bind=engine, expire_on_commit=False)
    with made.begin() as session:
        for who, role, office in (
            ("editor", "office_editor", "spp-krabi"),
            ("director", "office_director", "spp-krabi"),
            ("reviewer", "reviewer", None),
            ("reviewer2", "reviewer", None),
            ("admin", "admin", None),
        ):
            create_user(
                session,
                Actor(None),
                email=f"wf-{who}@example.go.th",
                name=who,
                password=PASSWORD,
                role=role,
                office_code=office,
            )
    yield made
    engine.dispose()


def _actor(session: Session, who: str) -> Actor:
    user = session.scalars(select(User).filter_by(email=f"wf-{who}@example.go.th")).one()
    return Actor(user, "127.0.0.1")


def _sent_report(factory: sessionmaker[Session], subject: str) -> tuple[int, int]:
    with factory.begin() as session:
        office = session.scalars(select(Office).filter_by(code="spp-krabi")).one()
        report = wf.save(
            session, _actor(session, "editor"), KIND.kind, office, 2570, subject, {"text": "x"}, 0
        )
        assert report.current is not None
        report = wf.submit(session, _actor(session, "director"), report, report.current.version)
        assert report.current is not None
        return report.id, report.current.version


def _together(attempts: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(attempts))

    def run(attempt: Any) -> Any:
        barrier.wait()
        return attempt()

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(run, attempts))


def _decide(
    factory: sessionmaker[Session], who: str, report_id: int, decision: str, version: int
) -> int | str:
    with factory() as session:
        try:
            report = wf.report_or_404(session, report_id)
            wf.decide(session, _actor(session, who), report, decision, version, "ตรวจแล้ว")
            session.commit()
            return 200
        except ServiceError as err:
            session.rollback()
            return f"{err.status} {err}"


@pytest.mark.parametrize(
    "decisions",
    [("approve", "approve"), ("approve", "return"), ("return", "return")],
)
def test_two_reviewers_decide_at_once(
    factory: sessionmaker[Session], decisions: tuple[str, str]
) -> None:
    report_id, version = _sent_report(factory, f"race:{'-'.join(decisions)}")
    outcomes = _together(
        [
            lambda: _decide(factory, "reviewer", report_id, decisions[0], version),
            lambda: _decide(factory, "reviewer2", report_id, decisions[1], version),
        ]
    )
    assert sorted(outcomes, key=str)[0] == 200, outcomes
    loser = sorted(outcomes, key=str)[1]
    assert isinstance(loser, str) and loser.startswith("409 "), outcomes
    assert "changed by someone else" in loser
    with factory() as session:
        report = session.get(WorkflowReport, report_id)
        assert report is not None and report.current is not None
        assert (report.current.state, report.current.level) in (("submitted", 2), ("returned", 0))
        decided = session.scalar(
            select(func.count())
            .select_from(WorkflowEvent)
            .where(
                WorkflowEvent.report_id == report_id,
                WorkflowEvent.action.in_(("approve", "return")),
            )
        )
        assert decided == 1
