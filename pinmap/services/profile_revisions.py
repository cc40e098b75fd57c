"""An office's profile revisions: the one being edited, created on first edit and after approval.

Profiles (the form) and schools (the staged list and counts) both write into this revision;
this module sits below both, so neither imports the other to reach it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Office, ProfileRevision
from .audit import Actor
from .errors import N_, ServiceError
from .review import check_editable, check_version, continue_version, ensure_can, lock_office_work


def current_revision(session: Session, office_id: int) -> ProfileRevision | None:
    return session.scalars(
        select(ProfileRevision)
        .filter_by(office_id=office_id)
        .order_by(ProfileRevision.revision_no.desc())
        .limit(1)
    ).first()


def new_revision(
    session: Session, actor: Actor, office: Office, base: ProfileRevision | None
) -> ProfileRevision:
    number = (
        session.scalar(
            select(func.max(ProfileRevision.revision_no)).where(
                ProfileRevision.office_id == office.id
            )
        )
        or 0
    ) + 1
    rev = ProfileRevision(
        office_id=office.id,
        revision_no=number,
        state="draft",
        data=dict(base.data) if base else {},
        geom=base.geom if base else None,
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(rev)
    session.flush()
    continue_version(session, rev, base)
    return rev


def editable_revision(
    session: Session, actor: Actor, office: Office, expected_version: int | None
) -> ProfileRevision:
    """The revision the office edits now: created on first edit and after each approval."""
    ensure_can(actor, "edit_profile", office.id)
    lock_office_work(session, office.id)
    current = current_revision(session, office.id)
    if current is None:
        if expected_version not in (None, 0):
            raise ServiceError(409, N_("This profile no longer exists; reload the page."))
        return new_revision(session, actor, office, None)
    check_version(current, expected_version)
    check_editable(current)
    if current.state == "approved":
        return new_revision(session, actor, office, current)
    return current
