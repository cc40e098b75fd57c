"""/admin/: where an admin lands after signing in, listing what needs attention, with links."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..db import get_session
from ..models import (
    BestPractice,
    IngestConflict,
    ProfileRevision,
    ProgressRevision,
    ReportingWindow,
    User,
    WorkflowRevision,
)
from ..security import current_actor, require
from . import bp


def _count(query: Any) -> int:
    return int(get_session().scalar(select(func.count()).select_from(query.subquery())) or 0)


@bp.get("/")
@require("manage_users")
def home() -> Any:
    session = get_session()
    today = current_actor().today_bangkok
    waiting = [
        (
            _("Progress reports waiting for review"),
            _count(select(ProgressRevision.id).where(ProgressRevision.state == "submitted")),
            url_for("review.queue"),
        ),
        (
            _("Profiles and best practices waiting for review"),
            _count(select(ProfileRevision.id).where(ProfileRevision.state == "submitted"))
            + _count(select(BestPractice.id).where(BestPractice.state == "submitted")),
            url_for("review.profile_queue"),
        ),
        (
            _("Quarterly and operating-plan reports waiting"),
            _count(select(WorkflowRevision.id).where(WorkflowRevision.state == "submitted")),
            url_for("review.project_queue"),
        ),
        (
            _("Ingestion conflicts to resolve"),
            _count(select(IngestConflict.id).where(IngestConflict.resolved_at.is_(None))),
            url_for("admin.ingest_conflicts"),
        ),
        (
            _("Accounts waiting for their user's own password"),
            _count(select(User.id).where(User.active, User.must_change_password)),
            url_for("admin.users", active="yes"),
        ),
        (
            _("Accounts never signed in"),
            _count(select(User.id).where(User.active, User.last_login_at.is_(None))),
            url_for("admin.users", active="yes"),
        ),
    ]
    windows = session.scalars(
        select(ReportingWindow)
        .where(ReportingWindow.closes_on >= today)
        .order_by(ReportingWindow.opens_on)
        .limit(5)
    ).all()
    return render_template(
        "admin/home.html",
        waiting=waiting,
        windows=windows,
        today=today,
        users=_count(select(User.id)),
        inactive=_count(select(User.id).where(User.active.is_(False))),
    )
