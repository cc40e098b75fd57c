"""Where an address's id from before profiles and best practices moved onto the workflow engine
points now, when that is knowable.

The migrations (9a3e5b7d2f46, 8d2f4a6c1e35) kept no table of old ids: profile revisions got new
ids, and best-practice working copies were folded into their practice's report. What does know
the old ids is the append-only audit log: every old profile revision was audited under entity
"profile_revision" with its office and revision number (the engine audits profiles under
"profile"), and every old working copy under "best_practice" with the practice it replaced.
"""

from __future__ import annotations

from sqlalchemy import Integer, cast, select
from sqlalchemy.orm import Session

from ..models import AuditLog, BestPractice, WorkflowReport, WorkflowRevision

# The actions the old profile service recorded on a profile_revision (the engine's own
# profile records name entity "profile", and staging schools or counts name new ids).
OLD_PROFILE_ACTIONS = ("profile.save", "profile.submit", "profile.approve", "profile.return")


def profile_revision_now(session: Session, old_id: int) -> int | None:
    """The engine revision that old profile revision `old_id` became, or None if unknown."""
    row = session.execute(
        select(AuditLog.office_id, AuditLog.after["revision_no"].astext)
        .where(
            AuditLog.entity == "profile_revision",
            AuditLog.entity_id == str(old_id),
            AuditLog.action.in_(OLD_PROFILE_ACTIONS),
            AuditLog.office_id.is_not(None),
            AuditLog.after["revision_no"].astext.is_not(None),
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if row is None or not str(row[1]).isdigit():
        return None
    return session.scalar(
        select(WorkflowRevision.id)
        .join(WorkflowReport, WorkflowReport.id == WorkflowRevision.report_id)
        .where(
            WorkflowReport.kind == "profile",
            WorkflowReport.office_id == row[0],
            WorkflowRevision.revision_no == int(row[1]),
        )
    )


def practice_of_copy(session: Session, old_id: int) -> int | None:
    """The best practice whose working copy had id `old_id`, or None if unknown."""
    replaces = session.scalar(
        select(cast(AuditLog.after["replaces_id"].astext, Integer))
        .where(
            AuditLog.entity == "best_practice",
            AuditLog.entity_id == str(old_id),
            AuditLog.after["replaces_id"].astext.regexp_match(r"^[0-9]{1,9}$"),
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    if replaces is None:
        return None
    return session.scalar(select(BestPractice.id).where(BestPractice.id == replaces))
