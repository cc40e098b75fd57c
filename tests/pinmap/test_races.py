"""Saves of the same version at the same moment: exactly one wins, every other gets 409.

These tests need writes that really commit and really contend, so they run against a database
of their own (not the rolled-back connection of the `app` fixture): every thread sends its
request through the app with its own pooled connection, or calls the service with its own
session, all released together by a barrier.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from pinmap import create_app
from pinmap.db import make_engine
from pinmap.localdb import Cluster
from pinmap.models import (
    AuditLog,
    BestPractice,
    FiscalYear,
    Office,
    PolicyItem,
    ReportingWindow,
    User,
    WorkflowReport,
    WorkflowRevision,
)
from pinmap.services import best_practices, plans, profiles
from pinmap.services.accounts import create_token
from pinmap.services.audit import Actor, utcnow
from pinmap.services.catalogue import ensure_item_sets
from pinmap.services.errors import ServiceError
from pinmap.services.progress import fiscal_year_of

from ..support.app import TEST_CONFIG
from ..support.databases import prepared_database
from ..support.factories import UserFactory
from ..support.portal import PASSWORD, full_report

THREADS = 8
ROUNDS = 3
ROLES = {
    "editor": ("office_editor", "spp-krabi"),
    "director": ("office_director", "spp-krabi"),
    "reviewer": ("reviewer", None),
    "admin": ("admin", None),
}


@dataclass
class Committed:
    app: Flask
    factory: sessionmaker[Session]
    tokens: dict[str, list[str]]
    user_ids: dict[str, int]
    office_id: int
    fy: int
    items: list[tuple[str, int]]

    def headers(self, who: str, i: int = 0) -> dict[str, str]:
        # A token's use is recorded on its row: one token per thread, or the threads would
        # queue on that row and never meet.
        return {"Authorization": f"Bearer {self.tokens[who][i]}", "Accept-Language": "en"}

    def entry_url(self, n: int, suffix: str = "") -> str:
        kind, no = self.items[n]
        return f"/api/v1/portal/offices/spp-krabi/entries/{self.fy}/1/{kind}/{no}{suffix}"


@pytest.fixture(scope="module")
def committed(pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Committed]:
    url = prepared_database(pg_cluster, "pinmap_races")
    engine = make_engine(url, pool_size=THREADS + 2, max_overflow=THREADS)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    uploads: Path = tmp_path_factory.mktemp("uploads")
    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_URL": url, "PINMAP_UPLOAD_DIR": str(uploads)},
        session_factory=factory,
    )
    actor = Actor(None, "test")
    today = (utcnow() + dt.timedelta(hours=7)).date()
    fy = fiscal_year_of(today)
    with factory.begin() as session:
        if session.get(FiscalYear, fy) is None:
            from pinmap.services.dataload import fiscal_year_bounds

            starts, ends = fiscal_year_bounds(fy)
            session.add(FiscalYear(year_be=fy, starts_on=starts, ends_on=ends))
            session.flush()
        items = [("policy", no) for no in range(1, 41)]
        # Every item belongs to one of the year's item sets.
        sets = ensure_item_sets(session, fy, {"policy"})
        for kind, no in items:
            session.add(
                PolicyItem(
                    fiscal_year=fy,
                    set_id=sets[kind].id,
                    kind=kind,
                    no=no,
                    title_th=f"ข้อ {no}",
                    title_en=f"Item {no}",
                    verified=False,
                )
            )
        session.add(
            ReportingWindow(
                fiscal_year=fy,
                round_no=1,
                label_th="ระยะที่ 1",
                label_en="Phase 1",
                opens_on=today - dt.timedelta(days=3),
                closes_on=today + dt.timedelta(days=10),
            )
        )
        tokens, user_ids = {}, {}
        for who, (role, office) in ROLES.items():
            user = UserFactory.create(
                session=session,
                actor=actor,
                email=f"race-{who}@example.go.th",
                name=who,
                password=PASSWORD,
                role=role,
                office_code=office,
            )
            tokens[who] = [
                create_token(session, actor, user, f"races {i}").secret for i in range(THREADS)
            ]
            session.flush()
            user_ids[who] = user.id
        office_id = session.scalars(select(Office.id).filter_by(code="spp-krabi")).one()
    yield Committed(app, factory, tokens, user_ids, office_id, fy, items)
    engine.dispose()


def _together(n: int, attempt: Callable[[int], Any]) -> list[Any]:
    """Run `attempt(i)` in n threads released at the same instant."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return attempt(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def _one_winner(statuses: list[int], won: int) -> None:
    assert sorted(statuses) == [won] + [409] * (len(statuses) - 1), statuses


_next_item = iter(range(40))


def _api(c: Committed, method: str, url: str, who: str, i: int = 0, **kw: Any) -> Any:
    client: FlaskClient = c.app.test_client()
    return getattr(client, method)(url, headers=c.headers(who, i), **kw)


def _count(c: Committed, model: type, **where: Any) -> int:
    with c.factory() as session:
        return session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_first_saves_of_one_report(committed: Committed, round_: int) -> None:
    c, n = committed, next(_next_item)
    responses = _together(
        THREADS, lambda i: _api(c, "put", c.entry_url(n), "editor", i, json=full_report())
    )
    _one_winner([r.status_code for r in responses], 200)
    kind, no = c.items[n]
    with c.factory() as session:
        item_id = session.scalars(select(PolicyItem.id).filter_by(fiscal_year=c.fy, no=no)).one()
        entry = session.scalars(
            select(WorkflowReport).filter_by(kind="progress", subject_id=item_id)
        ).one()
        assert (
            session.scalar(
                select(func.count()).select_from(WorkflowRevision).filter_by(report_id=entry.id)
            )
            == 1
        )
    loser = next(r for r in responses if r.status_code == 409).get_json()
    assert "changed by someone else" in loser["message"]


def _draft(c: Committed, n: int) -> dict[str, Any]:
    r = _api(c, "put", c.entry_url(n), "editor", json=full_report())
    assert r.status_code == 200, r.get_json()
    return r.get_json()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_saves_of_one_version(committed: Committed, round_: int) -> None:
    c, n = committed, next(_next_item)
    version = _draft(c, n)["version"]
    responses = _together(
        THREADS,
        lambda i: _api(
            c, "put", c.entry_url(n), "editor", i, json={**full_report(version), "what": f"by {i}"}
        ),
    )
    _one_winner([r.status_code for r in responses], 200)
    winner = next(r for r in responses if r.status_code == 200).get_json()
    assert winner["version"] == version + 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_evidence_added_to_one_version(committed: Committed, round_: int) -> None:
    c, n = committed, next(_next_item)
    version = _draft(c, n)["version"]
    responses = _together(
        THREADS,
        lambda i: _api(
            c,
            "post",
            c.entry_url(n, "/evidence"),
            "editor",
            i,
            json={"version": version, "url": f"https://example.go.th/{i}", "title": str(i)},
        ),
    )
    _one_winner([r.status_code for r in responses], 201)
    winner = next(r for r in responses if r.status_code == 201).get_json()
    assert len(winner["evidence"]) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_approve_and_return_at_once(committed: Committed, round_: int) -> None:
    c, n = committed, next(_next_item)
    version = _draft(c, n)["version"]
    r = _api(c, "post", c.entry_url(n, "/submit"), "director", json={"version": version})
    assert r.status_code == 200, r.get_json()
    version = r.get_json()["version"]
    with c.factory() as session:
        entry_id = session.scalar(
            select(func.max(WorkflowReport.id)).where(WorkflowReport.kind == "progress")
        )
    before = _count(c, AuditLog)

    def decide(i: int) -> Any:
        body = (
            {"version": version, "decision": "approve"}
            if i % 2
            else {"version": version, "decision": "return", "comment": f"fix {i}"}
        )
        return _api(
            c,
            "post",
            f"/api/v1/review/entries/{entry_id}/decision",
            "reviewer" if i % 2 else "admin",
            i,
            json=body,
        )

    responses = _together(THREADS, decide)
    _one_winner([r.status_code for r in responses], 200)
    assert _count(c, AuditLog) == before + 1  # one decision recorded, nothing from the losers


def _service_attempts(
    c: Committed, who: str, work: Callable[[Session, Actor, Office], Any]
) -> list[int]:
    """Each thread: its own session, the service call, one commit; the status it would answer."""

    def attempt(_i: int) -> int:
        with c.factory() as session:
            actor = Actor(session.get(User, c.user_ids[who]), "test")
            office = session.get_one(Office, c.office_id)
            try:
                work(session, actor, office)
                session.commit()
            except ServiceError as err:
                session.rollback()
                return err.status
            except Exception:  # what a view would have turned into a 500
                session.rollback()
                return 500
            return 200

    return _together(THREADS, attempt)


def _profile_data(i: int) -> dict[str, Any]:
    return {"address": f"ถนน {i}", "phone": "075 611 000", "people": []}


def test_first_profile_saves(committed: Committed) -> None:
    c = committed
    statuses = _service_attempts(
        c, "editor", lambda s, a, o: profiles.save_draft(s, a, o, _profile_data(0), None, None)
    )
    _one_winner(statuses, 200)
    # One profile (its one report) with one revision: the old table's one row.
    assert _count(c, WorkflowReport, office_id=c.office_id, kind="profile") == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_profile_saves_of_one_version(committed: Committed, round_: int) -> None:
    c = committed
    with c.factory() as session:
        version = profiles.current_revision(session, c.office_id)
        if version is None:
            actor = Actor(session.get(User, c.user_ids["editor"]), "test")
            profiles.save_draft(
                session, actor, session.get_one(Office, c.office_id), _profile_data(0), None, None
            )
            session.commit()
        version = profiles.current_revision(session, c.office_id).version  # type: ignore[union-attr]
    statuses = _service_attempts(
        c, "editor", lambda s, a, o: profiles.save_draft(s, a, o, _profile_data(1), None, version)
    )
    _one_winner(statuses, 200)


def _bp_data(c: Committed, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "owner": "ทีม",
        "fiscal_year": str(c.fy),
        "background": "ก",
        "objectives": "ข",
        "process": "ค",
        "results": "ง",
        "success_factors": "จ",
    }


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_working_copies_of_one_approved_best_practice(committed: Committed, round_: int) -> None:
    c = committed
    with c.factory() as session:
        user = {who: session.get(User, uid) for who, uid in c.user_ids.items()}
        office = session.get_one(Office, c.office_id)
        bp = best_practices.save(
            session,
            Actor(user["editor"], "t"),
            office,
            None,
            _bp_data(c, f"แนวปฏิบัติ {round_}"),
            None,
        )
        bp = best_practices.submit(session, Actor(user["director"], "t"), bp, bp.version)
        bp = best_practices.review(
            session, Actor(user["reviewer"], "t"), bp, "approve", "", bp.version
        )
        session.commit()
        bp_id, version, report_id = bp.id, bp.version, bp.report_id

    def edit(s: Session, a: Actor, o: Office) -> None:
        best_practices.save(s, a, o, s.get_one(BestPractice, bp_id), _bp_data(c, "ฉบับใหม่"), version)

    _one_winner(_service_attempts(c, "editor", edit), 200)
    # The working copy of the old days is the approved practice's one new revision.
    assert _count(c, WorkflowRevision, report_id=report_id, state="draft") == 1


def test_first_operating_plan_saves(committed: Committed) -> None:
    c = committed
    data = {"problem": "ก", "approach": "ข", "targets": "ค", "timeline": "ง"}
    statuses = _service_attempts(c, "editor", lambda s, a, o: plans.save(s, a, o, c.fy, data, None))
    _one_winner(statuses, 200)
    assert _count(c, WorkflowReport, kind=plans.KIND, office_id=c.office_id) == 1
    with c.factory() as session:
        version = plans.get(session, c.office_id, c.fy).current.version  # type: ignore[union-attr]
    statuses = _service_attempts(
        c, "editor", lambda s, a, o: plans.save(s, a, o, c.fy, {**data, "problem": "ใหม่"}, version)
    )
    _one_winner(statuses, 200)
