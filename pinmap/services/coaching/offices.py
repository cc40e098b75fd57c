"""Coaching reaches the office: who a plan concerns, telling them, publishing a visit record,
each office's acknowledgement of and later-round reports on its follow-ups, its cluster's online
sessions, and the 12-month evaluation findings sent back to each office."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...auth import can
from ...models import (
    ClusterSession,
    EvaluationFindings,
    FollowUpAck,
    FollowUpReport,
    MonitoringRound,
    Office,
    User,
    VisitFollowUp,
    VisitPlan,
    VisitRecord,
    VisitStop,
)
from .. import notify
from ..audit import Actor, record
from ..errors import N_, ServiceError
from ..sanitize import clean_text
from .calendar import ics_calendar
from .dashboard import evaluation
from .rounds import session_event

REPORT_MAX = 2_000
# A visit record's follow-ups are the non-empty lines of its follow-ups field.
MAX_FOLLOW_UPS = 50


def portal_link(office: Office) -> str:
    """The office's coaching page, the link every message to it carries."""
    return f"/portal/offices/{office.code}/coaching"


def _be(day: dt.date) -> str:
    return f"{day.day}/{day.month}/{day.year + 543}"


# --- who a plan concerns ------------------------------------------------------------------------


def plan_office_ids(session: Session, plan: VisitPlan) -> list[int]:
    """The host, the invited offices and the offices visited on the trip."""
    return sorted(
        set(session.scalars(select(VisitStop.office_id).where(VisitStop.plan_id == plan.id)))
    )


def plan_title(session: Session, plan: VisitPlan) -> str:
    # Messages are stored once, in Thai (see services/notify.py).
    rnd = session.get(MonitoringRound, plan.round_id)
    host = session.get(Office, plan.host_office_id)
    where = f" ณ {host.name_th}" if host else ""
    if rnd is None:
        return f"การนิเทศ ติดตาม{where}"
    return f"การนิเทศ ติดตาม รอบที่ {rnd.round_no} ปีงบประมาณ {rnd.fiscal_year}{where}"


def tell_plan_offices(session: Session, plan: VisitPlan) -> int:
    """A published plan with a date: its offices' users are told (once per plan and date)."""
    if plan.state != "published" or plan.visit_date is None:
        return 0
    sent = 0
    # One call per office: each office's message opens that office's own coaching page.
    for office in session.scalars(
        select(Office).where(Office.id.in_(plan_office_ids(session, plan))).order_by(Office.code)
    ):
        sent += notify.on_visit_planned(
            session,
            [office.id],
            plan.id,
            plan_title(session, plan),
            plan.visit_date.isoformat(),
            plan.agenda or "",
            portal_link(office),
        )
    return sent


# --- visit records and their follow-ups ----------------------------------------------------------


def follow_up_lines(text: str) -> list[str]:
    lines = [line.strip(" \t-•*") for line in (text or "").splitlines()]
    return [line for line in lines if line][:MAX_FOLLOW_UPS]


def add_follow_ups(session: Session, row: VisitRecord) -> list[VisitFollowUp]:
    """One follow-up per line of the record's follow-ups field (once per record)."""
    found = follow_ups_of(session, row)
    if found:
        return found
    made = [
        VisitFollowUp(record_id=row.id, position=pos, text=line)
        for pos, line in enumerate(follow_up_lines(row.follow_ups), start=1)
    ]
    session.add_all(made)
    session.flush()
    return made


def follow_ups_of(session: Session, row: VisitRecord) -> list[VisitFollowUp]:
    return list(
        session.scalars(
            select(VisitFollowUp).filter_by(record_id=row.id).order_by(VisitFollowUp.position)
        )
    )


def get_record(session: Session, plan: VisitPlan, record_id: int) -> VisitRecord:
    row = session.get(VisitRecord, record_id)
    if row is None or row.plan_id != plan.id:
        raise ServiceError(404, N_("No visit record %(id)s."), id=record_id)
    return row


def publish_record(session: Session, actor: Actor, plan: VisitPlan, row: VisitRecord) -> int:
    """The record (findings, follow-ups) goes to the plan's offices, each told once; returns
    how many messages were recorded."""
    if not can(actor.user, "plan_visits"):
        raise ServiceError(403, N_("You may not do this."))
    if plan.state != "published":
        raise ServiceError(400, N_("Publish the visit plan before its record."))
    if row.published_at is not None:
        raise ServiceError(409, N_("This visit record is already published."))
    session.refresh(row, with_for_update=True)  # two coaches pressing at once: one publishes
    if row.published_at is not None:
        raise ServiceError(409, N_("This visit record is already published."))
    add_follow_ups(session, row)
    row.published_at = actor.now
    row.published_by_id = actor.user.id if actor.user else None
    session.flush()
    record(
        session,
        actor,
        "plan.record.publish",
        "visit_record",
        row.id,
        after={"plan_id": plan.id, "published_at": actor.now.isoformat()},
    )
    title = f"บันทึกการนิเทศ {_be(row.visited_on)} · {plan_title(session, plan)}"
    sent = 0
    for office in session.scalars(
        select(Office).where(Office.id.in_(plan_office_ids(session, plan))).order_by(Office.code)
    ):
        sent += notify.on_feedback_published(
            session, office.id, f"visit-record:{row.id}", title, portal_link(office)
        )
    return sent


def _office_follow_up(
    session: Session, actor: Actor, office: Office, follow_up_id: int
) -> tuple[VisitFollowUp, VisitRecord, VisitPlan]:
    """The follow-up, if it was published to `office` and the actor works there."""
    if not can(actor.user, "edit_report", office.id):
        raise ServiceError(403, N_("You may not do this."))
    # Locked: two presses at once (two staff, two tabs) wait for each other, and the second
    # then sees the first's acknowledgement or report instead of breaking a unique key.
    fu = session.scalars(
        select(VisitFollowUp).where(VisitFollowUp.id == follow_up_id).with_for_update()
    ).first()
    row = session.get(VisitRecord, fu.record_id) if fu else None
    plan = session.get(VisitPlan, row.plan_id) if row else None
    if (
        fu is None
        or row is None
        or plan is None
        or row.published_at is None
        or plan.state != "published"
        or office.id not in plan_office_ids(session, plan)
    ):
        raise ServiceError(404, N_("No follow-up %(id)s for this office."), id=follow_up_id)
    return fu, row, plan


def acknowledge(session: Session, actor: Actor, office: Office, follow_up_id: int) -> FollowUpAck:
    """The office has read the follow-up: who and when, once (a second press changes nothing)."""
    fu, _row, _plan = _office_follow_up(session, actor, office, follow_up_id)
    found = session.scalars(
        select(FollowUpAck).filter_by(follow_up_id=fu.id, office_id=office.id)
    ).first()
    if found is not None:
        return found
    ack = FollowUpAck(
        follow_up_id=fu.id,
        office_id=office.id,
        by_user_id=actor.user.id if actor.user else None,
        at=actor.now,
    )
    session.add(ack)
    session.flush()
    record(
        session,
        actor,
        "followup.acknowledge",
        "visit_follow_up",
        fu.id,
        after={"office": office.code, "at": actor.now.isoformat()},
        office_id=office.id,
    )
    return ack


def report_rounds(session: Session, plan: VisitPlan, today: dt.date) -> list[MonitoringRound]:
    """The rounds an office may report on a follow-up in: the plan's fiscal year's later
    rounds that have started."""
    rnd = session.get(MonitoringRound, plan.round_id)
    if rnd is None:
        return []
    return list(
        session.scalars(
            select(MonitoringRound)
            .where(
                MonitoringRound.fiscal_year == rnd.fiscal_year,
                MonitoringRound.round_no > rnd.round_no,
                MonitoringRound.starts_on <= today,
            )
            .order_by(MonitoringRound.round_no)
        )
    )


def report_follow_up(
    session: Session,
    actor: Actor,
    office: Office,
    follow_up_id: int,
    round_id: int | None,
    text: str,
) -> FollowUpReport:
    """The office's short report on a follow-up in a later round (written again: replaced)."""
    fu, _row, plan = _office_follow_up(session, actor, office, follow_up_id)
    text = clean_text(text or "", max_length=REPORT_MAX + 1)
    if not text:
        raise ServiceError(400, N_("Write what your office has done on this follow-up."))
    if len(text) > REPORT_MAX:
        raise ServiceError(
            400, N_("A report may be at most %(max)s characters long."), max=REPORT_MAX
        )
    allowed = {r.id: r for r in report_rounds(session, plan, actor.today_bangkok)}
    if not allowed:
        raise ServiceError(
            400, N_("No later monitoring round has started yet to report on this follow-up in.")
        )
    if round_id not in allowed:
        raise ServiceError(400, N_("Choose one of the later monitoring rounds."))
    found = session.scalars(
        select(FollowUpReport).filter_by(follow_up_id=fu.id, office_id=office.id, round_id=round_id)
    ).first()
    before = {"text": found.text} if found else None
    if found is None:
        found = FollowUpReport(follow_up_id=fu.id, office_id=office.id, round_id=round_id, text="")
        session.add(found)
    found.text = text
    found.by_user_id = actor.user.id if actor.user else None
    found.at = actor.now
    session.flush()
    record(
        session,
        actor,
        "followup.report",
        "visit_follow_up",
        fu.id,
        before=before,
        after={"office": office.code, "round_id": round_id, "text": text},
        office_id=office.id,
    )
    return found


@dataclass
class FollowUpView:
    follow_up: VisitFollowUp
    # office id -> (acknowledgement, who) and office id -> [(report, round, who)]
    acks: dict[int, tuple[FollowUpAck, str]] = field(default_factory=dict)
    reports: dict[int, list[tuple[FollowUpReport, MonitoringRound, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def follow_up_views(
    session: Session, rows: list[VisitRecord], office_id: int | None = None
) -> dict[int, list[FollowUpView]]:
    """Record id -> its follow-ups with the acknowledgements and reports (of one office, or
    of every office when `office_id` is None)."""
    ids = [r.id for r in rows]
    if not ids:
        return {}
    fus = list(
        session.scalars(
            select(VisitFollowUp)
            .where(VisitFollowUp.record_id.in_(ids))
            .order_by(VisitFollowUp.record_id, VisitFollowUp.position)
        )
    )
    views = {fu.id: FollowUpView(fu) for fu in fus}
    if views:
        ack_q = (
            select(FollowUpAck, User.name)
            .outerjoin(User, User.id == FollowUpAck.by_user_id)
            .where(FollowUpAck.follow_up_id.in_(views))
        )
        rep_q = (
            select(FollowUpReport, MonitoringRound, User.name)
            .join(MonitoringRound, MonitoringRound.id == FollowUpReport.round_id)
            .outerjoin(User, User.id == FollowUpReport.by_user_id)
            .where(FollowUpReport.follow_up_id.in_(views))
            .order_by(MonitoringRound.round_no, FollowUpReport.at)
        )
        if office_id is not None:
            ack_q = ack_q.where(FollowUpAck.office_id == office_id)
            rep_q = rep_q.where(FollowUpReport.office_id == office_id)
        for ack, who in session.execute(ack_q).all():
            views[ack.follow_up_id].acks[ack.office_id] = (ack, who or "")
        for rep, rnd, who in session.execute(rep_q).all():
            views[rep.follow_up_id].reports[rep.office_id].append((rep, rnd, who or ""))
    out: dict[int, list[FollowUpView]] = defaultdict(list)
    for fu in fus:
        out[fu.record_id].append(views[fu.id])
    return out


# --- what an office sees -----------------------------------------------------------------------


def office_plans(session: Session, office: Office) -> list[tuple[VisitPlan, str]]:
    """Published plans the office hosts, is invited to or is visited on: (plan, its role)."""
    return [
        (plan, role)
        for plan, role in session.execute(
            select(VisitPlan, VisitStop.role)
            .join(VisitStop, VisitStop.plan_id == VisitPlan.id)
            .where(VisitStop.office_id == office.id, VisitPlan.state == "published")
            .order_by(VisitPlan.visit_date.desc().nulls_last(), VisitPlan.id.desc())
        ).all()
    ]


def office_records(session: Session, office: Office) -> list[tuple[VisitRecord, VisitPlan]]:
    """Published visit records of the published plans the office is part of."""
    return [
        (row, plan)
        for row, plan in session.execute(
            select(VisitRecord, VisitPlan)
            .join(VisitPlan, VisitPlan.id == VisitRecord.plan_id)
            .join(VisitStop, VisitStop.plan_id == VisitPlan.id)
            .where(
                VisitStop.office_id == office.id,
                VisitPlan.state == "published",
                VisitRecord.published_at.is_not(None),
            )
            .order_by(VisitRecord.visited_on.desc(), VisitRecord.id.desc())
        ).all()
    ]


def office_sessions(
    session: Session, office: Office
) -> list[tuple[ClusterSession, MonitoringRound]]:
    """The online sessions of the office's own cluster, newest round first."""
    return [
        (s, r)
        for s, r in session.execute(
            select(ClusterSession, MonitoringRound)
            .join(MonitoringRound, MonitoringRound.id == ClusterSession.round_id)
            .where(ClusterSession.cluster_no == office.cluster_no)
            .order_by(ClusterSession.starts_at.desc())
        ).all()
    ]


def office_sessions_ics(session: Session, office: Office, host: str, now: dt.datetime) -> str:
    """The office's cluster sessions only, as the coaches' calendar writes them."""
    events = [session_event(session, s, host) for s, _r in office_sessions(session, office)]
    return ics_calendar(events, f"pinmap cluster {office.cluster_no}", now)


def office_findings(
    session: Session, office: Office
) -> list[tuple[EvaluationFindings, MonitoringRound]]:
    return [
        (f, r)
        for f, r in session.execute(
            select(EvaluationFindings, MonitoringRound)
            .join(MonitoringRound, MonitoringRound.id == EvaluationFindings.round_id)
            .where(EvaluationFindings.office_id == office.id)
            .order_by(MonitoringRound.fiscal_year.desc(), MonitoringRound.round_no.desc())
        ).all()
    ]


@dataclass
class Summary:
    next_visit: VisitPlan | None
    next_session: ClusterSession | None
    open_follow_ups: int
    findings: int


def summary(session: Session, office: Office, now: dt.datetime) -> Summary:
    """For the office's portal page: the next visit and session, follow-ups not acknowledged."""
    today = (now + dt.timedelta(hours=7)).date()
    visits = [p for p, _role in office_plans(session, office) if p.visit_date is not None]
    upcoming = sorted(
        (p for p in visits if p.visit_date and p.visit_date >= today),
        key=lambda p: p.visit_date or today,
    )
    sessions = sorted(
        (s for s, _r in office_sessions(session, office) if s.starts_at >= now),
        key=lambda s: s.starts_at,
    )
    records = [row for row, _plan in office_records(session, office)]
    views = follow_up_views(session, records, office.id)
    open_count = sum(1 for vs in views.values() for v in vs if office.id not in v.acks)
    return Summary(
        upcoming[0] if upcoming else None,
        sessions[0] if sessions else None,
        open_count,
        len(office_findings(session, office)),
    )


# --- the 12-month findings ---------------------------------------------------------------------


def _finding_row(r: dict[str, Any]) -> dict[str, Any]:
    rec = r["record"]
    return {
        "category": rec.category,
        "indicator": rec.indicator,
        "value": rec.value,
        "unit": rec.unit,
        "office_target": rec.office_target,
        "obec_target": rec.obec_target,
        "met_office": r["met_office"],
        "met_obec": r["met_obec"],
    }


def send_findings(
    session: Session, actor: Actor, rnd: MonitoringRound, cluster_no: int | None = None
) -> tuple[int, int]:
    """Each office's own evaluation rows, as they stand now, to that office (sent again:
    replaced); returns (offices, messages recorded)."""
    if not can(actor.user, "plan_visits"):
        raise ServiceError(403, N_("You may not do this."))
    if rnd.kind != "online_evaluation":
        raise ServiceError(400, N_("Only the 12-month evaluation round has findings to send."))
    session.refresh(rnd, with_for_update=True)  # two sends at once: one after the other
    by_office: dict[int, tuple[Office, list[dict[str, Any]]]] = {}
    for r in evaluation(session, rnd.fiscal_year, cluster_no):
        by_office.setdefault(r["office"].id, (r["office"], []))[1].append(_finding_row(r))
    if not by_office:
        raise ServiceError(400, N_("There are no results to send for this round."))
    existing = {
        f.office_id: f
        for f in session.scalars(
            select(EvaluationFindings).where(
                EvaluationFindings.round_id == rnd.id,
                EvaluationFindings.office_id.in_(by_office),
            )
        )
    }
    title = f"ผลการประเมิน 12 เดือน ปีงบประมาณ {rnd.fiscal_year}"
    sent = 0
    for office_id, (office, rows) in sorted(by_office.items()):
        found = existing.get(office_id)
        if found is None:
            found = EvaluationFindings(round_id=rnd.id, office_id=office_id, rows=rows)
            session.add(found)
        found.rows = rows
        found.sent_at = actor.now
        found.sent_by_id = actor.user.id if actor.user else None
        sent += notify.on_feedback_published(
            session, office_id, f"evaluation:{rnd.id}", title, portal_link(office)
        )
    session.flush()
    record(
        session,
        actor,
        "round.findings.send",
        "monitoring_round",
        rnd.id,
        after={"offices": len(by_office), "cluster_no": cluster_no},
    )
    return len(by_office), sent


def findings_sent(session: Session, rnd: MonitoringRound) -> dict[int, EvaluationFindings]:
    return {
        f.office_id: f
        for f in session.scalars(select(EvaluationFindings).filter_by(round_id=rnd.id))
    }
