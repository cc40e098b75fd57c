"""Users of every role, an open reporting window, and helpers to act as each of them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

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


@pytest.fixture
def world(session: Session) -> World:
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
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    # argon2id at production cost takes ~50 ms a hash; the matrix makes hundreds of users.
    from argon2 import PasswordHasher

    from pinmap.services import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
