"""An office's profile on the workflow engine: one report of kind "profile" per office, and
the revision the office edits, created on first edit and after each approval.

Profiles (the form) and schools (the staged list and counts) both write into this revision;
this module sits below both, so neither imports the other to reach it. A profile belongs to
no fiscal year: its report's year is 0. The office director certifies it, OBEC reviews it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Office, WorkflowEvent, WorkflowReport, WorkflowRevision
from . import workflow as wf
from .audit import Actor
from .errors import FIELD_LABELS, N_, ServiceError
from .review import ensure_can

KIND: Final = "profile"
SUBJECT: Final = "profile"
YEAR: Final = 0  # a profile is of no fiscal year
REQUIRED: Final = ("address", "phone", "director")
# Key of an approved revision's data: what its approval replaced in public (the counts, the
# school list, the pin), so un-approving puts exactly that back. Never shown, never copied on.
REPLACED_KEY: Final = "_replaced"


def missing(data: dict[str, Any]) -> list[str]:
    """The fields a profile still lacks before the director may certify and send it."""
    out = [k for k in ("address", "phone") if not data.get(k)]
    if not any(p.get("role") == "director" and p.get("name") for p in data.get("people") or []):
        out.append("director")
    return out


def _stored(report: WorkflowReport, data: dict[str, Any]) -> dict[str, Any]:
    # The profile service checks the form (it needs the session, the office and its photos)
    # and the schools service the staged list; a revision stores what they hand over (but not
    # what an earlier approval replaced, which belongs to that approval alone).
    return {k: v for k, v in data.items() if k != REPLACED_KEY}


SPEC: Final = wf.register(
    wf.KindSpec(
        kind=KIND,
        entity="profile",
        levels=(wf.CERTIFY, wf.REVIEW),
        clean=_stored,
        missing=lambda report, data: missing(data),
        labels={k: FIELD_LABELS.get(k, k) for k in REQUIRED},
        edit_action="edit_profile",
        incomplete_msgid=N_("The profile is incomplete: fill in %(fields)s."),
    )
)


class ProfileRevision:
    """One revision of an office's profile as pages, the API and the schools service read it:
    the engine's revision with its office and the reviewer's last word on it. `data` and
    `updated_at` write through to the revision (the schools service stages into it)."""

    def __init__(self, rev: WorkflowRevision, office_id: int, review_comment: str = "") -> None:
        self.rev = rev
        self.office_id = office_id
        self.review_comment = review_comment

    @property
    def id(self) -> int:
        return self.rev.id

    @property
    def report_id(self) -> int:
        return self.rev.report_id

    @property
    def revision_no(self) -> int:
        return self.rev.revision_no

    @property
    def state(self) -> str:
        return self.rev.state

    @property
    def level(self) -> int:
        return self.rev.level

    @property
    def version(self) -> int:
        return self.rev.version

    @property
    def submitted_at(self) -> dt.datetime | None:
        """When a sent revision was sent (the engine stamps each move), else None."""
        return self.rev.updated_at if self.rev.state == "submitted" else None

    @property
    def approved_at(self) -> dt.datetime | None:
        return self.rev.approved_at

    @property
    def created_at(self) -> dt.datetime:
        return self.rev.created_at

    @property
    def data(self) -> dict[str, Any]:
        return self.rev.data or {}

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self.rev.data = value

    @property
    def updated_at(self) -> dt.datetime:
        return self.rev.updated_at

    @updated_at.setter
    def updated_at(self, value: dt.datetime) -> None:
        self.rev.updated_at = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProfileRevision) and other.rev.id == self.rev.id

    def __hash__(self) -> int:
        return hash(self.rev.id)


def comments_of(session: Session, revision_ids: list[int]) -> dict[int, str]:
    """The newest decision's comment of each revision (a return says what to fix)."""
    if not revision_ids:
        return {}
    rows = session.execute(
        select(WorkflowEvent.revision_id, WorkflowEvent.comment)
        .where(
            WorkflowEvent.revision_id.in_(revision_ids),
            WorkflowEvent.action.in_(("approve", "return", "unapprove")),
        )
        .order_by(WorkflowEvent.id)
    )
    return {rev_id: comment for rev_id, comment in rows}


def wrap(
    session: Session, report: WorkflowReport, rev: WorkflowRevision | None
) -> ProfileRevision | None:
    if rev is None:
        return None
    return ProfileRevision(rev, report.office_id, comments_of(session, [rev.id]).get(rev.id, ""))


def report_of(session: Session, office_id: int) -> WorkflowReport | None:
    return wf.find(session, KIND, office_id, YEAR, SUBJECT)


def current_revision(session: Session, office_id: int) -> ProfileRevision | None:
    report = report_of(session, office_id)
    return wrap(session, report, report.current) if report is not None else None


def approved_revision(session: Session, office_id: int) -> ProfileRevision | None:
    """What the public sees: the office's approved revision."""
    report = report_of(session, office_id)
    return wrap(session, report, report.approved) if report is not None else None


def revision_or_404(session: Session, rev_id: int) -> ProfileRevision:
    rev = session.get(WorkflowRevision, rev_id) if 0 < rev_id < 2**31 else None
    report = session.get(WorkflowReport, rev.report_id) if rev is not None else None
    if rev is None or report is None or report.kind != KIND:
        raise ServiceError(404, N_("Not found."))
    found = wrap(session, report, rev)
    assert found is not None  # noqa: S101 (rev is not None)
    return found


def editable_revision(
    session: Session, actor: Actor, office: Office, expected_version: int | None
) -> ProfileRevision:
    """The revision the office edits now: created on first edit and after each approval (the
    approved one stays public); a sent one is refused until the reviewer decides."""
    ensure_can(actor, "edit_profile", office.id)
    current = current_revision(session, office.id)
    data = dict(current.data) if current is not None else {}
    report = wf.save(session, actor, KIND, office, YEAR, SUBJECT, data, expected_version)
    found = wrap(session, report, report.current)
    assert found is not None  # noqa: S101 (save leaves a working revision)
    return found
