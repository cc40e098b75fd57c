"""The review workflow every reviewed thing shares: rights, versions, state transitions.

draft → submitted → returned → submitted → approved. Progress reports, office profiles, best
practices and operating plans all move this way; each keeps its own content and side effects.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth import can, can_read_office_work
from ..models import Office, User
from .audit import Actor
from .errors import N_, Labels, ServiceError
from .sanitize import clean_text

EDITABLE_STATES = ("draft", "returned")
MAX_COMMENT = 4_000


class Versioned(Protocol):
    version: int


class Reviewable(Protocol):
    state: str
    version: int
    review_comment: str


# Not every reviewed thing keeps who submitted it, or who reviewed it and when.
@runtime_checkable
class _KeepsSubmitter(Protocol):
    submitted_by_id: int | None
    submitted_at: dt.datetime | None


@runtime_checkable
class _KeepsReviewer(Protocol):
    reviewed_by_id: int | None
    reviewed_at: dt.datetime | None


def limited_text(text: str, label: object, max_length: int) -> str:
    """Plain text cleaned, refused (never cut) when longer than `max_length` characters."""
    value = clean_text(text, max_length=max_length * 4)
    if len(value) > max_length:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=label, n=max_length
        )
    return value


def ensure_can(actor: Actor, action: str, office_id: int | None = None) -> User:
    """The acting user, or a 403 ServiceError unless they may do `action` (for `office_id`)."""
    if actor.user is None or not can(actor.user, action, office_id):
        raise ServiceError(403, N_("You may not do this for this office."))
    return actor.user


def require_read(actor: Actor, office_id: int) -> None:
    if not can_read_office_work(actor.user, office_id):
        raise ServiceError(403, N_("You may not see this office's unpublished work."))


def lock_office_work(session: Session, office_id: int) -> None:
    """Take the office's write lock, then re-read whatever the session already holds.

    Two saves (or decisions) of one version at the same moment would otherwise both pass the
    version check, and the loser would fail inside the database (an UPDATE of a version that
    moved on, a second first revision): a 500. Waiting for this lock means the loser reads the
    winner's committed version and gets the ordinary 409, and a form keeps what was typed.
    Every write of an office's reviewed work (progress, profile, best practices, plan) takes
    this one lock first, so they cannot deadlock among themselves. FOR NO KEY UPDATE leaves
    inserts that only reference the office (audit rows, change events) unblocked.
    """
    session.execute(select(Office.id).where(Office.id == office_id).with_for_update(key_share=True))
    # Objects loaded before the lock may show the loser's stale snapshot; the execute above
    # flushed pending changes, so expiring loses nothing.
    session.expire_all()


def check_version(obj: Versioned, expected: int | None) -> None:
    if expected is None or expected != obj.version:
        raise ServiceError(
            409,
            N_(
                "This was changed by someone else (version %(current)s, you had %(yours)s). "
                "Reload it, then apply your changes again; your text is kept below."
            ),
            current=obj.version,
            yours=expected if expected is not None else "-",
        )


def continue_version(session: Session, new: Reviewable, base: Reviewable | None) -> None:
    """Number a freshly inserted revision's version on from its predecessor's.

    Clients hold one number per report, whichever revision it is; were each revision to count
    from 1, a stale page could match the new revision's count and overwrite it silently.
    The insert always writes 1 (SQLAlchemy's version counter), so this is one UPDATE after it.
    """
    if base is not None:
        new.version = base.version + 1
        session.flush()


def require_complete(obj: Reviewable, missing: list[str], msgid: str) -> None:
    """Refuse to submit a draft or returned one that lacks fields (`msgid` has %(fields)s).

    A submitted or approved one is left to mark_submitted, which refuses it for its state.
    """
    if obj.state in EDITABLE_STATES and missing:
        raise ServiceError(400, msgid, fields=Labels(*missing))


def check_editable(obj: Reviewable) -> None:
    if obj.state == "submitted":
        raise ServiceError(409, N_("This is waiting for review and cannot be edited now."))


def mark_submitted(obj: Reviewable, actor: Actor) -> None:
    """draft/returned → submitted; the caller checked the right to submit for the office."""
    if obj.state not in EDITABLE_STATES:
        raise ServiceError(409, N_("Only a draft or a returned one can be submitted."))
    obj.state = "submitted"
    if isinstance(obj, _KeepsSubmitter):
        obj.submitted_by_id = actor.user.id if actor.user else None
        obj.submitted_at = actor.now


def mark_reviewed(
    obj: Reviewable, actor: Actor, decision: str, comment: str, action: str = "review_profile"
) -> str:
    """submitted → approved, or → returned with a required comment; returns the clean comment."""
    ensure_can(actor, action)
    if obj.state != "submitted":
        raise ServiceError(409, N_("Only a submitted one can be reviewed."))
    comment = limited_text(comment or "", Labels("comment"), MAX_COMMENT)
    if decision == "return":
        if not comment:
            raise ServiceError(400, N_("Say what must change: a comment is required to return."))
        obj.state = "returned"
    elif decision == "approve":
        obj.state = "approved"
    else:
        raise ServiceError(400, N_("The decision must be approve or return."))
    obj.review_comment = comment
    if isinstance(obj, _KeepsReviewer):
        obj.reviewed_by_id = actor.user.id if actor.user else None
        obj.reviewed_at = actor.now
    return comment
