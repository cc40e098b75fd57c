"""Each office's operating plan for a fiscal year, through the one workflow engine.

A plan is a workflow report of kind "operating_plan" (one per office and fiscal year); its
four texts are a revision's data. The office director certifies it and OBEC reviews it (two
levels, as before the engine). A finally approved plan is locked: saving again opens a new
revision, and the approved one stays on the public office page until the new one is approved.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..fiscal import fiscal_year_of
from ..models import Office, WorkflowReport, WorkflowRevision
from . import workflow as wf
from .audit import Actor
from .errors import N_, Collector, Labels, ServiceError
from .review import ensure_can
from .sanitize import clean_html

KIND: Final = "operating_plan"
SUBJECT: Final = "plan"
FIELDS: Final = ("problem", "approach", "targets", "timeline")
MAX_TEXT: Final = 10_000
LABELS: Final = {
    "problem": N_("Problem"),
    "approach": N_("Approach"),
    "targets": N_("Targets"),
    "timeline": N_("Timeline"),
}


def _text(value: Any, key: str) -> str:
    text = str(value or "")
    if len(text) > MAX_TEXT:
        raise ServiceError(
            400, N_("%(field)s is longer than %(n)s characters."), field=Labels(key), n=MAX_TEXT
        )
    return clean_html(text, max_length=MAX_TEXT)


def clean(report: WorkflowReport, data: dict[str, Any]) -> dict[str, Any]:
    """The four texts, each as sanitized HTML; every field too long is named at once."""
    checks = Collector()
    out = {key: checks.check(_text, data.get(key), key, default="") for key in FIELDS}
    checks.raise_any()
    return out


def missing(report: WorkflowReport, data: dict[str, Any]) -> list[str]:
    return [k for k in FIELDS if not data.get(k)]


# Office director certifies → OBEC reviews: the plan's two steps before the engine. The
# optional accept level is not added (nobody asked OBEC's monitoring office to accept plans).
SPEC: Final = wf.register(
    wf.KindSpec(
        kind=KIND,
        # Audit actions stay plan.save / plan.submit / plan.approve …, and the public change
        # event still names "plan"; the audit entity id is now the workflow report's.
        entity="plan",
        levels=(wf.CERTIFY, wf.REVIEW),
        clean=clean,
        missing=missing,
        labels=dict(LABELS),
        edit_action="edit_profile",
        incomplete_msgid=N_("The plan is incomplete: fill in %(fields)s."),
        title=N_("Operating plans"),
    )
)


# --- reading -----------------------------------------------------------------------------------


def get(session: Session, office_id: int, fiscal_year: int) -> WorkflowReport | None:
    return wf.find(session, KIND, office_id, fiscal_year, SUBJECT)


def plan_or_404(session: Session, report_id: int) -> WorkflowReport:
    report = wf.report_or_404(session, report_id)
    if report.kind != KIND:
        raise ServiceError(404, N_("Not found."))
    return report


def plan_dict(report: WorkflowReport, *, approved: bool = False) -> dict[str, Any]:
    """The working revision (or the approved one) as a form and the API read it."""
    rev = report.approved if approved else report.current
    data = rev.data if rev is not None else {}
    return {
        "id": report.id,
        "fiscal_year": report.fiscal_year,
        **{k: data.get(k, "") for k in FIELDS},
        "status": "approved" if approved else wf.status(report),
        "state": rev.state if rev is not None else None,
        "level": rev.level if rev is not None else 0,
        "version": rev.version if rev is not None else 0,
        "approved_at": rev.approved_at.isoformat() if rev and rev.approved_at else None,
    }


def approved_latest(session: Session, office_id: int) -> WorkflowReport | None:
    """The newest year's plan with an approved revision (what the office page shows)."""
    return session.scalars(
        select(WorkflowReport)
        .where(
            WorkflowReport.kind == KIND,
            WorkflowReport.office_id == office_id,
            WorkflowReport.approved_revision_id.is_not(None),
        )
        .order_by(WorkflowReport.fiscal_year.desc())
        .limit(1)
    ).first()


def submitted(session: Session, user: Any) -> list[WorkflowReport]:
    """Plans waiting for a level `user` may pass, oldest first (the review desk's list)."""
    return wf.waiting_for(session, KIND, user)


def approved_revision(report: WorkflowReport) -> WorkflowRevision | None:
    return report.approved


# --- writing -----------------------------------------------------------------------------------


def check_year(actor: Actor, fiscal_year: int) -> None:
    # A plan is written for the running year or, near its end, for the next one.
    now = fiscal_year_of(actor.today_bangkok)
    if not now - 1 <= fiscal_year <= now + 1:
        raise ServiceError(
            400,
            N_("Plans can be written for fiscal years %(first)s to %(last)s."),
            first=now - 1,
            last=now + 1,
        )


def save(
    session: Session,
    actor: Actor,
    office: Office,
    fiscal_year: int,
    data: dict[str, Any],
    expected_version: int | None,
) -> WorkflowReport:
    """Save the working revision; an approved plan stays public until the next approval."""
    ensure_can(actor, SPEC.edit_action, office.id)
    check_year(actor, fiscal_year)
    return wf.save(session, actor, KIND, office, fiscal_year, SUBJECT, data, expected_version)


def submit(
    session: Session, actor: Actor, report: WorkflowReport, expected_version: int | None
) -> WorkflowReport:
    """The office director certifies the plan and sends it to OBEC."""
    ensure_can(actor, SPEC.levels[0].action, report.office_id)
    return wf.submit(session, actor, report, expected_version)


def review(
    session: Session,
    actor: Actor,
    report: WorkflowReport,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> WorkflowReport:
    """approve, return (with a comment) or unapprove (a higher level, with a comment)."""
    ensure_can(actor, "review_profile")
    return wf.decide(session, actor, report, decision, expected_version, comment)
