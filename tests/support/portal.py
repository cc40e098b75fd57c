"""Users of every role, an open reporting window, and helpers to act as each of them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pinmap.models import FiscalYear, Office, PolicyItem, User
from pinmap.services.audit import utcnow
from pinmap.services.progress import fiscal_year_of

from .factories import PASSWORD as PASSWORD  # every test user's password
from .factories import (
    PolicyItemFactory,
    ReportFactory,
    ReportingWindowFactory,
    UserFactory,
    token_for,
)
from .passwords import cheap_hashing

OWN, OTHER = "spp-krabi", "spp-bangkok"
ROLES = ["anonymous", "other_editor", "own_editor", "own_director", "reviewer", "admin"]


@dataclass
class World:
    users: dict[str, User]
    tokens: dict[str, str]
    fy: int
    item: PolicyItem
    round_no: int
    own: Office

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}

    def entry_url(self, code: str = OWN, suffix: str = "") -> str:
        return (
            f"/api/v1/portal/offices/{code}/entries/{self.fy}/{self.round_no}/"
            f"{self.item.kind}/{self.item.no}{suffix}"
        )


def build_world(session: Session) -> World:
    """Users of every role with API tokens, an item of this fiscal year and an open window."""
    today = (utcnow() + dt.timedelta(hours=7)).date()
    fy = fiscal_year_of(today)
    if session.get(FiscalYear, fy) is None:
        from pinmap.services.dataload import fiscal_year_bounds

        starts, ends = fiscal_year_bounds(fy)
        session.add(FiscalYear(year_be=fy, starts_on=starts, ends_on=ends))
        session.flush()
    item = PolicyItemFactory(session=session, fiscal_year=fy, no=1)
    ReportingWindowFactory(session=session, fiscal_year=fy, today=today)
    spec = {
        "other_editor": ("office_editor", OTHER),
        "own_editor": ("office_editor", OWN),
        "own_director": ("office_director", OWN),
        "reviewer": ("reviewer", None),
        "admin": ("admin", None),
    }
    users, tokens = {}, {}
    for who, (role, office) in spec.items():
        users[who] = UserFactory(
            session=session, email=f"{who}@example.go.th", name=who, role=role, office_code=office
        )
        tokens[who] = token_for(session, users[who])
    session.commit()
    own = session.scalars(select(Office).filter_by(code=OWN)).one()
    return World(users, tokens, fy, item, 1, own)


@dataclass(frozen=True)
class WorldRows:
    """What build_world committed in a database of its own, by id (tokens: their secrets)."""

    url: str
    user_ids: dict[str, int]
    tokens: dict[str, str]
    fy: int
    item_id: int
    own_id: int


def commit_world(url: str) -> WorldRows:
    """Build the world once in the database at `url` and commit it (with the test hasher)."""
    from pinmap.db import make_engine

    engine = make_engine(url)
    try:
        with cheap_hashing(), sessionmaker(bind=engine, expire_on_commit=False)() as session:
            w = build_world(session)
            return WorldRows(
                url,
                {who: u.id for who, u in w.users.items()},
                dict(w.tokens),
                w.fy,
                w.item.id,
                w.own.id,
            )
    finally:
        engine.dispose()


@pytest.fixture
def world(session: Session, world_database: WorldRows) -> World:
    """The world of build_world, in this test's transaction.

    It is built once per process in a database of its own (tests/conftest.py, `world_database`),
    and the tests that take it run their transaction there: the same rows each time, without
    making five users and five tokens per test."""
    return world_of(session, world_database)


def world_of(session: Session, rows: WorldRows) -> World:
    """The World of `rows` (a database's committed world), read through `session`."""
    users = {who: session.get(User, uid) for who, uid in rows.user_ids.items()}
    item, own = session.get(PolicyItem, rows.item_id), session.get(Office, rows.own_id)
    assert item is not None and own is not None and all(users.values())
    return World(users, dict(rows.tokens), rows.fy, item, 1, own)  # type: ignore[arg-type]


def add_coach(world: World, session: Session) -> User:
    """A coach in `world` (users and tokens), as the coaching and authorization tests need."""
    coach = UserFactory(session=session, email="coach@example.go.th", name="coach", role="coach")
    world.users["coach"] = coach
    world.tokens["coach"] = token_for(session, coach)
    return coach


def full_report(version: int | None = None) -> dict[str, Any]:
    return ReportFactory(version=version)


def no_csrf(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture(autouse=True)
def cheap_password_hashing() -> Iterator[None]:
    # The matrix makes hundreds of users (tests/support/passwords.py).
    with cheap_hashing():
        yield
