"""Each office's operating plan for a fiscal year, checked in the 3-month round and reviewed."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..fiscal import fiscal_year_of
from ..models import Office, OperatingPlan
from .audit import Actor, emit_change, record
from .errors import N_, Labels, ServiceError
from .review import (
    check_editable,
    check_version,
    ensure_can,
    lock_office_work,
    mark_reviewed,
    mark_submitted,
    require_complete,
)
from .sanitize import clean_html

FIELDS: Final = ("problem", "approach", "targets", "timeline")
MAX_TEXT: Final = 10_000


def get(session: Session, office_id: int, fiscal_year: int) -> OperatingPlan | None:
    return session.scalars(
        select(OperatingPlan).filter_by(office_id=office_id, fiscal_year=fiscal_year)
    ).first()


def plan_dict(plan: OperatingPlan) -> dict[str, Any]:
    return {
        "fiscal_year": plan.fiscal_year,
        **{k: getattr(plan, k) for k in FIELDS},
        "state": plan.state,
        "review_comment": plan.review_comment,
        "version": plan.version,
    }


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
) -> OperatingPlan:
    """Save the draft; an approved plan stays public (its snapshot) until the next approval."""
    ensure_can(actor, "edit_profile", office.id)
    check_year(actor, fiscal_year)
    lock_office_work(session, office.id)
    plan = get(session, office.id, fiscal_year)
    if plan is None:
        if expected_version not in (None, 0):
            raise ServiceError(409, N_("This plan no longer exists; reload the page."))
        plan = OperatingPlan(office_id=office.id, fiscal_year=fiscal_year, state="draft")
        session.add(plan)
        before = None
    else:
        check_version(plan, expected_version)
        check_editable(plan)
        before = plan_dict(plan)
    for key in FIELDS:
        text = str(data.get(key) or "")
        if len(text) > MAX_TEXT:
            raise ServiceError(
                400, N_("%(field)s is longer than %(n)s characters."), field=Labels(key), n=MAX_TEXT
            )
        setattr(plan, key, clean_html(text, max_length=MAX_TEXT))
    plan.state = "draft"
    plan.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "plan.save",
        "operating_plan",
        plan.id,
        before=before,
        after=plan_dict(plan),
        office_id=office.id,
    )
    return plan


def submit(
    session: Session, actor: Actor, plan: OperatingPlan, expected_version: int | None
) -> OperatingPlan:
    ensure_can(actor, "submit_profile", plan.office_id)
    lock_office_work(session, plan.office_id)
    check_version(plan, expected_version)
    require_complete(
        plan,
        [k for k in FIELDS if not getattr(plan, k)],
        N_("The plan is incomplete: fill in %(fields)s."),
    )
    before = plan_dict(plan)
    mark_submitted(plan, actor)
    session.flush()
    record(
        session,
        actor,
        "plan.submit",
        "operating_plan",
        plan.id,
        before=before,
        after=plan_dict(plan),
        office_id=plan.office_id,
    )
    return plan


def review(
    session: Session,
    actor: Actor,
    plan: OperatingPlan,
    decision: str,
    comment: str,
    expected_version: int | None,
) -> OperatingPlan:
    ensure_can(actor, "review_profile")
    lock_office_work(session, plan.office_id)
    check_version(plan, expected_version)
    before = plan_dict(plan)
    mark_reviewed(plan, actor, decision, comment)
    if plan.state == "approved":
        plan.approved_snapshot = {
            **{k: getattr(plan, k) for k in FIELDS},
            "approved_at": actor.now.isoformat(),
        }
    session.flush()
    record(
        session,
        actor,
        f"plan.{decision}",
        "operating_plan",
        plan.id,
        before=before,
        after=plan_dict(plan),
        office_id=plan.office_id,
    )
    if plan.state == "approved":
        office = session.get(Office, plan.office_id)
        emit_change(
            session,
            "office.updated",
            office.code if office else None,
            {"fields": ["plan"], "fiscal_year": plan.fiscal_year},
        )
    return plan


def approved_latest(session: Session, office_id: int) -> OperatingPlan | None:
    """The newest plan with an approved snapshot (what the office page shows)."""
    return session.scalars(
        select(OperatingPlan)
        .where(OperatingPlan.office_id == office_id, OperatingPlan.approved_snapshot.is_not(None))
        .order_by(OperatingPlan.fiscal_year.desc())
        .limit(1)
    ).first()


def submitted(session: Session) -> list[OperatingPlan]:
    return list(
        session.scalars(
            select(OperatingPlan).filter_by(state="submitted").order_by(OperatingPlan.updated_at)
        )
    )
