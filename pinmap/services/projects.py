"""Quarterly project reports (eMENSCR): an office's projects and their reports through the engine.

Each project of an office and fiscal year is reported on every quarter with six points:
progress toward the project's goal, activity progress, budget disbursed against plan with the
reason for a gap, the link to the national master plan, the link to the 13th NESDP, and
problems and suggestions; plus money received from another project and whether the project
was terminated or its budget cut. Quarters 1–3 may answer what their activities can; quarter
4 must answer all six. Each quarter has a deadline (15 days after it ends unless OBEC set
another). Pages, the API and ingestion all write through the engine (ingestion in bulk:
ingest/write_quarterly.py, with the rules of `ingest_quarterly`).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ..auth import can
from ..fiscal import be_year, fiscal_year_bounds
from ..models import (
    IngestSource,
    Office,
    Project,
    QuarterDeadline,
    WorkflowReport,
    WorkflowRevision,
)
from . import workflow as wf
from .audit import Actor, record
from .errors import N_, Collector, Labels, ServiceError
from .lookups import get_or_404
from .review import check_version, lock_office_work
from .sanitize import clean_text

KIND: Final = "quarterly_project"
QUARTERS: Final = (1, 2, 3, 4)
POINTS: Final = (
    "target_progress",
    "activity_progress",
    "budget_disbursement",
    "master_plan",
    "nesdp13",
    "problems_suggestions",
)
NUMBERS: Final = ("budget_planned_to_date", "budget_disbursed", "extra_allocation")
TEXTS: Final = (*POINTS, "extra_allocation_from", "status_note")
PROJECT_STATUSES: Final = ("ongoing", "terminated", "budget_cut")
MAX_POINT: Final = 5_000
MAX_NAME: Final = 500
MAX_AMOUNT: Final = 1e12  # baht; more than the national budget
DEFAULT_GRACE_DAYS: Final = 15

LABELS: Final = {
    "target_progress": N_("1. Progress toward the project's goal"),
    "activity_progress": N_("2. Progress of the planned activities"),
    "budget_disbursement": N_("3. Budget: the reason for any gap against the plan"),
    "master_plan": N_("4. Progress against the national strategy's master plan"),
    "nesdp13": N_("5. Progress against the 13th National Economic and Social Development Plan"),
    "problems_suggestions": N_("6. Problems and suggestions"),
    "budget_planned_to_date": N_("Budget planned to be disbursed by the end of the quarter"),
    "budget_disbursed": N_("Budget disbursed by the end of the quarter"),
    "extra_allocation": N_("Extra allocation from another project"),
    "extra_allocation_from": N_("The project the extra allocation came from"),
    "project_status": N_("Project status"),
    "status_note": N_("What happened (termination or budget cut)"),
    "name": N_("Project name"),
    "budget_planned": N_("Planned budget"),
}
STATUS_LABELS: Final = {
    "ongoing": N_("Ongoing"),
    "terminated": N_("Terminated"),
    "budget_cut": N_("Budget cut"),
}
REPORT_STATUS_LABELS: Final = {
    "not_reported": N_("Not reported"),
    "saved": N_("Saved"),
    "sent": N_("Sent"),
    "returned": N_("Returned"),
    "approved": N_("Approved"),
}


def subject(project_id: int, quarter: int) -> str:
    return f"project:{project_id}:q{quarter}"


def _labels(*keys: str) -> wf.FieldLabels:
    return wf.FieldLabels(LABELS, *keys)


# --- quarters and deadlines --------------------------------------------------------------------


def quarter_bounds(fiscal_year: int, quarter: int) -> tuple[dt.date, dt.date]:
    """First and last day of a fiscal quarter (Q1 is October to December)."""
    starts, _ends = fiscal_year_bounds(fiscal_year)
    month = starts.month + 3 * (quarter - 1)
    first = dt.date(starts.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    month += 3
    after = dt.date(starts.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    return first, after - dt.timedelta(days=1)


def deadline(session: Session, fiscal_year: int, quarter: int) -> dt.date:
    due = session.scalar(
        select(QuarterDeadline.due_on).filter_by(fiscal_year=fiscal_year, quarter=quarter)
    )
    if due is not None:
        return due
    return quarter_bounds(fiscal_year, quarter)[1] + dt.timedelta(days=DEFAULT_GRACE_DAYS)


def deadline_is_set(session: Session, fiscal_year: int, quarter: int) -> bool:
    """Whether OBEC set the quarter's deadline (else it is the default)."""
    return (
        session.scalar(
            select(QuarterDeadline.id).filter_by(fiscal_year=fiscal_year, quarter=quarter)
        )
        is not None
    )


def set_deadline(
    session: Session, actor: Actor, fiscal_year: int, quarter: int, due_on: dt.date
) -> QuarterDeadline:
    """OBEC moves a quarter's deadline (for every office); never before the quarter ends."""
    if not can(actor.user, "manage_windows"):
        raise ServiceError(403, N_("Only an administrator may set reporting deadlines."))
    _check_quarter(quarter)
    last = quarter_bounds(fiscal_year, quarter)[1]
    if due_on < last:
        raise ServiceError(
            400,
            N_("A quarter's deadline cannot fall before the quarter ends (%(day)s)."),
            day=Day(last),
        )
    row = session.scalars(
        select(QuarterDeadline).filter_by(fiscal_year=fiscal_year, quarter=quarter)
    ).first()
    before = {"due_on": row.due_on.isoformat()} if row else None
    if row is None:
        row = QuarterDeadline(fiscal_year=fiscal_year, quarter=quarter, due_on=due_on)
        session.add(row)
    row.due_on = due_on
    session.flush()
    record(
        session,
        actor,
        "project_deadline.set",
        "project_quarter_deadline",
        f"{fiscal_year}/{quarter}",
        before=before,
        after={"due_on": due_on.isoformat()},
    )
    return row


class Day(Labels):
    """A date as a message parameter, written in the reader's calendar when formatted."""

    def __init__(self, day: dt.date) -> None:
        super().__init__()
        self.day = day

    def __str__(self) -> str:
        from babel.dates import format_date
        from flask_babel import get_locale

        locale = str(get_locale() or "th")
        day_month = format_date(self.day, "d MMM", locale=locale)
        year = be_year(self.day.year)
        return f"{day_month} {year}" if locale == "th" else f"{day_month} {year} BE"


def _check_quarter(quarter: int) -> None:
    if quarter not in QUARTERS:
        raise ServiceError(404, N_("A fiscal year has quarters 1 to 4."))


def _check_window(report: WorkflowReport, actor: Actor) -> None:
    """A quarter is sent from its first day to its deadline (inclusive, Bangkok)."""
    quarter = report.period or 0
    first, _last = quarter_bounds(report.fiscal_year, quarter)
    from sqlalchemy.orm import object_session

    session = object_session(report)
    assert session is not None  # noqa: S101 (a report is always loaded through a session)
    due = deadline(session, report.fiscal_year, quarter)
    today = actor.today_bangkok
    if today < first:
        raise ServiceError(
            409,
            N_(
                "Quarter %(q)s opens for sending on %(day)s. Your text is kept: save it as a "
                "draft now and send it then."
            ),
            q=quarter,
            day=Day(first),
        )
    if today > due:
        raise ServiceError(
            409,
            N_(
                "The deadline for quarter %(q)s was %(day)s. Your text is kept: save it as a "
                "draft and ask OBEC to extend the deadline."
            ),
            q=quarter,
            day=Day(due),
        )


# --- checking a report's data ------------------------------------------------------------------


def _amount(value: Any, key: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).replace(",", "").strip()) if isinstance(value, str) else value
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise ValueError
        number = float(number)
    except ValueError:
        raise ServiceError(
            400, N_("%(field)s must be an amount in baht, such as 125000.50."), field=_labels(key)
        ) from None
    if not math.isfinite(number) or not 0 <= number <= MAX_AMOUNT:
        raise ServiceError(
            400,
            N_("%(field)s must be between 0 and %(max)s baht."),
            field=_labels(key),
            max="1,000,000,000,000",
        )
    return round(number, 2)


def _text(value: Any, key: str) -> str:
    text = clean_text(str(value or ""), max_length=MAX_POINT * 4)
    if len(text) > MAX_POINT:
        raise ServiceError(
            400,
            N_("%(field)s is longer than %(n)s characters."),
            field=_labels(key),
            n=MAX_POINT,
        )
    return text


def clean(report: WorkflowReport, data: dict[str, Any]) -> dict[str, Any]:
    """Every field checked at once; the clean data stored in the revision."""
    checks = Collector()
    out: dict[str, Any] = {}
    for key in TEXTS:
        out[key] = checks.check(_text, data.get(key), key, default="")
    for key in NUMBERS:
        out[key] = checks.check(_amount, data.get(key), key, default=None)
    status = str(data.get("project_status") or "ongoing")
    if status not in PROJECT_STATUSES:
        checks.errors.append(
            ServiceError(
                400,
                N_("%(field)s must be one of the listed choices."),
                field=_labels("project_status"),
            )
        )
        status = "ongoing"
    out["project_status"] = status
    if (out["extra_allocation"] is None) != (not out["extra_allocation_from"]):
        checks.errors.append(
            ServiceError(
                400,
                N_("An extra allocation needs both its amount and the project it came from."),
            )
        )
    checks.raise_any()
    return out


def has_gap(data: dict[str, Any]) -> bool:
    planned, disbursed = data.get("budget_planned_to_date"), data.get("budget_disbursed")
    return planned is not None and disbursed is not None and disbursed < planned


def missing(report: WorkflowReport, data: dict[str, Any]) -> list[str]:
    """What a quarter lacks before it can be sent (the Q4 rule: all six points)."""
    if report.period == 4:
        needed = [k for k in POINTS if k != "budget_disbursement"] + ["budget_disbursed"]
    else:
        needed = ["activity_progress", "budget_disbursed"]
    out = [k for k in needed if data.get(k) in (None, "")]
    if has_gap(data) and not data.get("budget_disbursement"):
        out.append("budget_disbursement")
    if data.get("project_status", "ongoing") != "ongoing" and not data.get("status_note"):
        out.append("status_note")
    return out


SPEC: Final = wf.register(
    wf.KindSpec(
        kind=KIND,
        entity="quarterly_report",
        levels=(wf.CERTIFY, wf.REVIEW, wf.ACCEPT),
        clean=clean,
        missing=missing,
        labels=dict(LABELS),
        check_window=_check_window,
        incomplete_msgid=N_(
            "This quarter cannot be sent yet: fill in %(fields)s. (Quarter 4 must answer all "
            "six points.) Your text is kept."
        ),
        title=N_("Quarterly project reports (eMENSCR)"),
    )
)


# --- projects ----------------------------------------------------------------------------------


def projects_of(session: Session, office_id: int, fiscal_year: int) -> list[Project]:
    return list(
        session.scalars(
            select(Project)
            .filter_by(office_id=office_id, fiscal_year=fiscal_year)
            .order_by(Project.id)
        )
    )


def project_or_404(session: Session, project_id: int) -> Project:
    return get_or_404(session, Project, project_id, N_("No such project."))


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "fiscal_year": project.fiscal_year,
        "name": project.name,
        "budget_planned": project.budget_planned,
        "source": project.source,
        "version": project.version,
    }


def _project_fields(data: dict[str, Any]) -> tuple[str, float | None]:
    checks = Collector()
    name = checks.check(_text, data.get("name"), "name", default="")
    if len(name) > MAX_NAME:
        checks.errors.append(
            ServiceError(
                400,
                N_("%(field)s is longer than %(n)s characters."),
                field=_labels("name"),
                n=MAX_NAME,
            )
        )
    elif not name:
        checks.errors.append(ServiceError(400, N_("Give the project a name.")))
    budget = checks.check(_amount, data.get("budget_planned"), "budget_planned", default=None)
    checks.raise_any()
    return name, budget


def check_year(fiscal_year: int) -> None:
    if not 2500 <= fiscal_year <= 2700:
        raise ServiceError(404, N_("No such fiscal year."))


def save_project(
    session: Session,
    actor: Actor,
    office: Office,
    fiscal_year: int,
    data: dict[str, Any],
    project: Project | None = None,
    expected_version: int | None = None,
    *,
    source: str = "manual",
    authorized: bool = False,
) -> Project:
    """Add a project of the office's year, or rename it / change its planned budget."""
    if not authorized and not can(actor.user, "edit_report", office.id):
        raise ServiceError(403, N_("You may not edit this office's reports."))
    check_year(fiscal_year)
    lock_office_work(session, office.id)
    name, budget = _project_fields(data)
    clash = session.scalars(
        select(Project).filter_by(office_id=office.id, fiscal_year=fiscal_year, name=name)
    ).first()
    if clash is not None and (project is None or clash.id != project.id):
        raise ServiceError(
            409,
            N_("This office already has a project of that name in fiscal year %(fy)s."),
            fy=fiscal_year,
        )
    if project is None:
        project = Project(
            office_id=office.id,
            fiscal_year=fiscal_year,
            source=source,
            created_by_id=actor.user.id if actor.user else None,
        )
        session.add(project)
        before = None
    else:
        session.refresh(project)
        check_version(project, expected_version)
        before = project_dict(project)
    project.name, project.budget_planned = name, budget
    project.updated_at = actor.now
    session.flush()
    record(
        session,
        actor,
        "project.save",
        "project",
        project.id,
        before=before,
        after=project_dict(project),
        office_id=office.id,
    )
    return project


# --- a quarter's report ------------------------------------------------------------------------


def report_of(session: Session, project: Project, quarter: int) -> WorkflowReport | None:
    return wf.find(
        session, KIND, project.office_id, project.fiscal_year, subject(project.id, quarter)
    )


def save_quarter(
    session: Session,
    actor: Actor,
    project: Project,
    quarter: int,
    data: dict[str, Any],
    expected_version: int | None,
    *,
    source: str = "manual",
    authorized: bool = False,
) -> WorkflowReport:
    _check_quarter(quarter)
    office = session.get(Office, project.office_id)
    assert office is not None  # noqa: S101 (a project's office exists: foreign key)
    return wf.save(
        session,
        actor,
        KIND,
        office,
        project.fiscal_year,
        subject(project.id, quarter),
        data,
        expected_version,
        subject_id=project.id,
        period=quarter,
        source=source,
        authorized=authorized,
    )


def report_dict(report: WorkflowReport | None, *, approved: bool = False) -> dict[str, Any] | None:
    """A report as the API gives it: the working revision, or the approved one for readers
    who may see only that."""
    if report is None:
        return None
    rev = report.approved if approved else report.current
    if rev is None:
        return None
    return {
        "id": report.id,
        "project_id": report.subject_id,
        "fiscal_year": report.fiscal_year,
        "quarter": report.period,
        "status": "approved" if approved else wf.status(report),
        "state": rev.state,
        "level": rev.level,
        "levels": wf.final_level(report),
        "version": rev.version,
        "revision_no": rev.revision_no,
        "source": rev.source,
        "approved_at": rev.approved_at.isoformat() if rev.approved_at else None,
        **{k: rev.data.get(k) for k in (*TEXTS, *NUMBERS, "project_status")},
    }


@dataclass
class QuarterCell:
    quarter: int
    report: WorkflowReport | None
    status: str
    due: dt.date


@dataclass
class ProjectRow:
    project: Project
    quarters: list[QuarterCell]


def board(session: Session, office_id: int, fiscal_year: int) -> list[ProjectRow]:
    """Every project of the year with the status of each quarter (the portal's overview)."""
    projects = projects_of(session, office_id, fiscal_year)
    reports = {
        (r.subject_id, r.period): r
        for r in session.scalars(
            select(WorkflowReport).filter_by(
                kind=KIND, office_id=office_id, fiscal_year=fiscal_year
            )
        )
    }
    dues = {q: deadline(session, fiscal_year, q) for q in QUARTERS}
    rows = []
    for p in projects:
        cells = []
        for q in QUARTERS:
            report = reports.get((p.id, q))
            cells.append(QuarterCell(q, report, wf.status(report), dues[q]))
        rows.append(ProjectRow(p, cells))
    return rows


def review_queue(session: Session, user: Any) -> list[WorkflowReport]:
    return wf.waiting_for(session, KIND, user)


@dataclass
class PublicReport:
    project: Project
    quarter: int
    data: dict[str, Any]
    approved_at: dt.datetime | None
    source: str


def public_reports(session: Session, office_id: int, limit: int = 60) -> list[PublicReport]:
    """The finally approved quarters of an office's projects, newest year first: all anyone
    may read. A quarter being revised shows its last approved revision."""
    rows = session.execute(
        select(Project, WorkflowReport.period, WorkflowRevision)
        .join(
            WorkflowReport,
            and_(WorkflowReport.subject_id == Project.id, WorkflowReport.kind == KIND),
        )
        .join(WorkflowRevision, WorkflowRevision.id == WorkflowReport.approved_revision_id)
        .where(Project.office_id == office_id)
        .order_by(Project.fiscal_year.desc(), Project.name, WorkflowReport.period)
        .limit(limit)
    ).all()
    return [
        PublicReport(p, int(period or 0), rev.data, rev.approved_at, rev.source)
        for p, period, rev in rows
    ]


# --- ingestion ---------------------------------------------------------------------------------


def ingest_quarterly(
    session: Session,
    source: IngestSource,
    office: Office,
    fiscal_year: int,
    quarter: int,
    project_name: str,
    points: dict[str, Any],
    budget_planned: float | None = None,
    budget_disbursed: float | None = None,
    now: dt.datetime | None = None,
) -> WorkflowReport:
    """Write one source record (ingest/CONTRACTS.md quarterly-json) through the engine.

    The project is found or created by name; the quarter's report gets a new revision with
    the record's content, is sent (certified by the source), and when the source is
    pre-approved, approved up to the last level. A quarter waiting for review refuses the
    write (409): the caller records it as a conflict, as it does for progress reports.
    Takes the session and never commits, like every service.
    """
    actor = Actor(None, None, now) if now else Actor(None, None)
    origin = f"ingest:{source.name}"
    project = session.scalars(
        select(Project).filter_by(
            office_id=office.id,
            fiscal_year=fiscal_year,
            name=clean_text(project_name, max_length=MAX_NAME),
        )
    ).first()
    if project is None or (budget_planned is not None and project.budget_planned != budget_planned):
        project = save_project(
            session,
            actor,
            office,
            fiscal_year,
            {"name": project_name, "budget_planned": budget_planned},
            project,
            project.version if project else None,
            source=origin,
            authorized=True,
        )
    report = report_of(session, project, quarter)
    version = report.current.version if report is not None and report.current else 0
    data = {**{k: points.get(k, "") for k in POINTS}, "budget_disbursed": budget_disbursed}
    report = save_quarter(
        session, actor, project, quarter, data, version, source=origin, authorized=True
    )
    assert report.current is not None  # noqa: S101 (save made one)
    report = wf.submit(session, actor, report, report.current.version, authorized=True)
    if source.pre_approved:
        while report.current is not None and report.current.state == "submitted":
            report = wf.decide(
                session, actor, report, "approve", report.current.version, authorized=True
            )
    return report
