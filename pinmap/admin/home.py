"""/admin/: where an admin lands after signing in, listing what needs attention, with links."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..db import get_session
from ..models import (
    IngestConflict,
    ReportingWindow,
    User,
    WorkflowReport,
    WorkflowRevision,
)
from ..security import current_actor, require
from . import bp

# Profiles and best practices are workflow reports too; the review desk lists them apart.
PROFILE_KINDS = ("profile", "best_practice")


def _sent(profiles: bool) -> Any:
    """Workflow reports whose working revision waits for review: profile kinds, or the rest."""
    kinds = WorkflowReport.kind.in_(PROFILE_KINDS)
    return (
        select(WorkflowRevision.id)
        .join(WorkflowReport, WorkflowReport.current_revision_id == WorkflowRevision.id)
        .where(WorkflowRevision.state == "submitted", kinds if profiles else ~kinds)
    )


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
            _count(
                select(WorkflowRevision.id)
                .join(WorkflowReport, WorkflowReport.current_revision_id == WorkflowRevision.id)
                .where(WorkflowReport.kind == "progress", WorkflowRevision.state == "submitted")
            ),
            url_for("review.queue"),
        ),
        (
            _("Profiles and best practices waiting for review"),
            _count(_sent(profiles=True)),
            url_for("review.profile_queue"),
        ),
        (
            _("Quarterly and operating-plan reports waiting"),
            _count(_sent(profiles=False)),
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
