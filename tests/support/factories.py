"""factory_boy factories for what tests build over and over: users (through the accounts
service, so passwords are hashed and the audit log written as in production), API tokens,
policy items, reporting windows, and the body of a complete progress report.

Each `create` takes the SQLAlchemy session to write in (`UserFactory(session=s, role=...)`):
tests run in their own transactions, so no factory holds a session of its own.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pinmap.models import (
    DEFAULT_FIELDS,
    PolicyItem,
    ReportingWindow,
    User,
    WorkflowReport,
    WorkflowRevision,
)
from pinmap.services.accounts import create_token, create_user
from pinmap.services.audit import Actor
from pinmap.services.catalogue import ensure_item_sets

PASSWORD = "correct horse 42"
TEST_ACTOR = Actor(None, "test")


class _InSession(factory.Factory):
    """Adds the object to the given session and flushes it (ids are then known)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: type, *args: Any, session: Session, **kwargs: Any) -> Any:
        obj = model_class(*args, **kwargs)
        session.add(obj)
        session.flush()
        return obj


class UserFactory(factory.Factory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.go.th")
    name = factory.LazyAttribute(lambda o: o.email.split("@")[0])
    password = PASSWORD
    role = "office_editor"
    office_code = factory.LazyAttribute(
        lambda o: "spp-krabi" if o.role in ("office_editor", "office_director") else None
    )

    @classmethod
    def _create(
        cls, model_class: type, *, session: Session, actor: Actor = TEST_ACTOR, **kwargs: Any
    ) -> User:
        return create_user(session, actor, **kwargs)


def token_for(session: Session, user: User, name: str = "tests") -> str:
    """A new API token's secret for `user`."""
    return create_token(session, TEST_ACTOR, user, name).secret


class PolicyItemFactory(_InSession):
    """An item of the year's set of its kind (the set is created when the year has none)."""

    class Meta:
        model = PolicyItem

    fiscal_year = 2567
    kind = "policy"
    no = factory.Sequence(lambda n: str(n + 1))
    title_th = "ทดสอบ"
    title_en = "Test"
    verified = False
    fields = factory.LazyFunction(lambda: list(DEFAULT_FIELDS))
    rounds = factory.LazyFunction(list)
    retired = False

    @classmethod
    def _create(cls, model_class: type, *args: Any, session: Session, **kwargs: Any) -> Any:
        kwargs["no"] = str(kwargs["no"])
        if "set_id" not in kwargs:
            kwargs["set_id"] = ensure_item_sets(session, kwargs["fiscal_year"], {kwargs["kind"]})[
                kwargs["kind"]
            ].id
        return super()._create(model_class, *args, session=session, **kwargs)


class ReportingWindowFactory(_InSession):
    """A window open from three days ago to ten days ahead (Thai dates)."""

    class Meta:
        model = ReportingWindow

    class Params:
        today = factory.LazyFunction(
            lambda: (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).date()
        )

    fiscal_year = 2567
    round_no = 1
    label_th = "ระยะที่ 1"
    label_en = "Phase 1"
    opens_on = factory.LazyAttribute(lambda o: o.today - dt.timedelta(days=3))
    closes_on = factory.LazyAttribute(lambda o: o.today + dt.timedelta(days=10))


class ReportFactory(factory.DictFactory):
    """The body of a complete progress report (every field a submission needs)."""

    version = None
    status = "on_plan"
    what = "อบรมครู"
    where = "อ.เมือง"
    how = "ออนไลน์"
    result = "ครู 120 คน"
    indicator_value = 80
    indicator_target = 75
    indicator_unit = "percent"


def revisions_of(kind: str) -> Select[tuple[WorkflowRevision]]:
    """A report kind's revisions in the workflow engine, newest first."""
    return (
        select(WorkflowRevision)
        .join(WorkflowReport, WorkflowReport.id == WorkflowRevision.report_id)
        .where(WorkflowReport.kind == kind)
        .order_by(WorkflowRevision.id.desc())
    )
