"""Read models of the report documents (an office, a cluster, the nation in one round) and of
the progress-report exports. Who sees what is the caller's `drafts` flag: False reads approved
revisions only (the public); True reads each report's current revision and its state (OBEC, or
an office its own). Takes a session, never commits."""

from __future__ import annotations

import datetime as dt
import html
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Final, cast

import nh3
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from ..models import (
    PROGRESS_STATUSES,
    Cluster,
    MonitoringRound,
    Office,
    PolicyItem,
    Province,
    ReportingWindow,
    VisitPlan,
    VisitRecord,
    VisitStop,
    WorkflowReport,
    WorkflowRevision,
)
from .errors import N_, ServiceError
from .lookups import or_404

KIND: Final = "progress"
# A report's state as a document counts it; "none" is an item with no report at all.
STATES: Final = ("approved", "submitted", "returned", "draft", "none")
REPORTED_STATES: Final = ("approved", "submitted")  # as the OBEC dashboard counts "reported"
MAX_EXPORT_ROWS: Final = 50_000
SMALLINT = range(1, 2**15)


def plain(text: Any) -> str:
    """Stored rich text (already cleaned) as plain text for spreadsheets: no tags, no entities."""
    if not text:
        return ""
    return html.unescape(nh3.clean(str(text), tags=set())).strip()


# --- completeness of one round ---------------------------------------------------------------


@dataclass
class OfficeRound:
    """One office's reports in one round, as the reader may see them."""

    id: int
    code: str
    name_th: str
    cluster_no: int
    province_code: str
    total: int
    states: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def reported(self) -> int:
        return sum(self.states[s] for s in REPORTED_STATES)

    @property
    def missing(self) -> int:
        return self.total - self.reported

    @property
    def share(self) -> float:
        return self.reported / self.total if self.total else 0.0


@dataclass
class Share:
    reported: int = 0
    total: int = 0
    offices: int = 0
    complete: int = 0

    @property
    def share(self) -> float:
        return self.reported / self.total if self.total else 0.0


def window_or_404(session: Session, fiscal_year: int, round_no: int) -> ReportingWindow:
    """The reporting round, or a 404 in the reader's language (out-of-range numbers too)."""
    found = None
    if fiscal_year in SMALLINT and round_no in SMALLINT:
        found = session.scalars(
            select(ReportingWindow).filter_by(fiscal_year=fiscal_year, round_no=round_no)
        ).first()
    return or_404(
        found,
        N_("No reporting round %(no)s in fiscal year %(fy)s."),
        no=round_no,
        fy=fiscal_year,
    )


def items_of(session: Session, fiscal_year: int) -> list[PolicyItem]:
    if fiscal_year not in SMALLINT:
        return []
    return list(
        session.scalars(
            select(PolicyItem)
            .filter_by(fiscal_year=fiscal_year)
            .order_by(PolicyItem.kind, PolicyItem.no)
        )
    )


def round_offices(
    session: Session,
    fiscal_year: int,
    round_no: int,
    *,
    drafts: bool,
    cluster_no: int | None = None,
) -> tuple[list[OfficeRound], dict[int, Counter[str]]]:
    """Every office's reports in the round (by code) and, per item, the count of each state.

    Every item of the year counts in the total, as on the OBEC dashboard."""
    items = items_of(session, fiscal_year)
    item_ids = {i.id for i in items}
    stmt = select(Office).order_by(Office.code)
    if cluster_no is not None:
        stmt = stmt.filter_by(cluster_no=cluster_no)
    offices = {
        o.id: OfficeRound(o.id, o.code, o.name_th, o.cluster_no, o.office_province_code, len(items))
        for o in session.scalars(stmt)
    }
    approved, current = aliased(WorkflowRevision), aliased(WorkflowRevision)
    rows = session.execute(
        select(
            WorkflowReport.office_id,
            WorkflowReport.subject_id,
            approved.data["status"].astext,
            current.state,
            current.data["status"].astext,
        )
        .outerjoin(approved, approved.id == WorkflowReport.approved_revision_id)
        .outerjoin(current, current.id == WorkflowReport.current_revision_id)
        .where(
            WorkflowReport.kind == KIND,
            WorkflowReport.fiscal_year == fiscal_year,
            WorkflowReport.period == round_no,
            WorkflowReport.office_id.in_(list(offices)),
        )
    ).all()
    per_item: dict[int, Counter[str]] = {i: Counter() for i in item_ids}
    for office_id, item_id, approved_status, state, current_status in rows:
        if not isinstance(item_id, int) or item_id not in item_ids:
            continue
        if drafts:
            # An approved report being edited again still counts as approved.
            shown = "approved" if approved_status is not None else str(state or "none")
            status = str(approved_status or current_status or "")
        else:
            shown = "approved" if approved_status is not None else "none"
            status = str(approved_status or "")
        if shown == "none":
            continue
        row = offices[cast(int, office_id)]
        row.states[shown] += 1
        per_item[item_id][shown] += 1
        if status in PROGRESS_STATUSES:
            row.statuses[status] += 1
    for row in offices.values():
        row.states["none"] = row.total - sum(row.states[s] for s in STATES if s != "none")
    for counts in per_item.values():
        counts["none"] = len(offices) - sum(counts[s] for s in STATES if s != "none")
    return list(offices.values()), per_item


def shares_by_cluster(rows: list[OfficeRound]) -> dict[int, Share]:
    out: dict[int, Share] = {}
    for r in rows:
        s = out.setdefault(r.cluster_no, Share())
        s.reported += r.reported
        s.total += r.total
        s.offices += 1
        s.complete += 1 if r.total and r.missing == 0 else 0
    return dict(sorted(out.items()))


def overall(rows: list[OfficeRound]) -> Share:
    s = Share()
    for r in rows:
        s.reported += r.reported
        s.total += r.total
        s.offices += 1
        s.complete += 1 if r.total and r.missing == 0 else 0
    return s


def province_clusters(session: Session) -> dict[str, int]:
    return {code: no for code, no in session.execute(select(Province.code, Province.cluster_no))}


def clusters(session: Session) -> list[Cluster]:
    return list(session.scalars(select(Cluster).order_by(Cluster.no)))


# --- the coaching record ---------------------------------------------------------------------


@dataclass
class Visit:
    plan: VisitPlan
    round: MonitoringRound
    host: Office | None
    role: str
    records: list[VisitRecord]


def coaching_record(
    session: Session,
    *,
    office_id: int | None = None,
    cluster_no: int | None = None,
    with_drafts: bool,
    with_records: bool,
) -> list[Visit]:
    """Visit plans naming the office (or of the cluster), newest first; unpublished plans and
    what happened on a visit (notes, follow-ups) only for coaches and admins, as on the plan
    page."""
    stmt = (
        select(VisitPlan, MonitoringRound)
        .join(MonitoringRound, MonitoringRound.id == VisitPlan.round_id)
        .order_by(VisitPlan.visit_date.desc().nulls_last(), VisitPlan.id.desc())
    )
    if not with_drafts:
        stmt = stmt.where(VisitPlan.state == "published")
    if cluster_no is not None:
        stmt = stmt.where(VisitPlan.cluster_no == cluster_no)
    roles: dict[int, str] = {}
    if office_id is not None:
        roles = {
            pid: role
            for pid, role in session.execute(
                select(VisitStop.plan_id, VisitStop.role).where(VisitStop.office_id == office_id)
            )
        }
        stmt = stmt.where(VisitPlan.id.in_(list(roles) or [0]))
    out = []
    for plan, rnd in session.execute(stmt.limit(200)).all():
        host = session.get(Office, plan.host_office_id)
        records = (
            list(
                session.scalars(
                    select(VisitRecord)
                    .filter_by(plan_id=plan.id)
                    .order_by(VisitRecord.visited_on.desc(), VisitRecord.id.desc())
                )
            )
            if with_records
            else []
        )
        out.append(Visit(plan, rnd, host, roles.get(plan.id, "host"), records))
    return out


# --- the progress-report export --------------------------------------------------------------


@dataclass(frozen=True)
class ExportFilters:
    fiscal_year: int
    round_no: int | None = None
    cluster_no: int | None = None
    office: Office | None = None
    item: PolicyItem | None = None


def check_filters(
    session: Session,
    fiscal_year: int,
    *,
    round_no: int | None = None,
    cluster_no: int | None = None,
    office_code: str | None = None,
    item_id: int | None = None,
) -> ExportFilters:
    """The filters named in the address, each checked (an unknown one is a 404, never a 500)."""
    if fiscal_year not in SMALLINT:
        raise ServiceError(404, N_("No fiscal year %(fy)s."), fy=fiscal_year)
    if round_no is not None:
        window_or_404(session, fiscal_year, round_no)
    if cluster_no is not None and (
        cluster_no not in SMALLINT or session.get(Cluster, cluster_no) is None
    ):
        raise ServiceError(404, N_("No cluster %(no)s."), no=cluster_no)
    office = None
    if office_code is not None:
        office = or_404(
            session.scalars(select(Office).filter_by(code=office_code[:60])).first(),
            N_("No office %(code)s."),
            code=office_code[:60],
        )
    item = None
    if item_id is not None:
        found = session.get(PolicyItem, item_id) if 1 <= item_id < 2**31 else None
        if found is None or found.fiscal_year != fiscal_year:
            raise ServiceError(
                404, N_("No item %(id)s in fiscal year %(fy)s."), id=item_id, fy=fiscal_year
            )
        item = found
    return ExportFilters(fiscal_year, round_no, cluster_no, office, item)


@dataclass
class ExportRow:
    office: Office
    item: PolicyItem
    round_no: int
    state: str
    data: dict[str, Any]
    approved_at: dt.datetime | None


def progress_rows(session: Session, filters: ExportFilters, *, drafts: bool) -> list[ExportRow]:
    """Progress reports the filters choose: the approved revision (drafts=False) or the current
    one with its state (drafts=True), by round, office and item."""
    revision = aliased(WorkflowRevision)
    joined = WorkflowReport.current_revision_id if drafts else WorkflowReport.approved_revision_id
    stmt = (
        select(WorkflowReport.period, revision, Office, PolicyItem)
        .join(revision, revision.id == joined)
        .join(Office, Office.id == WorkflowReport.office_id)
        .join(PolicyItem, PolicyItem.id == WorkflowReport.subject_id)
        .where(WorkflowReport.kind == KIND, WorkflowReport.fiscal_year == filters.fiscal_year)
        .order_by(WorkflowReport.period, Office.code, PolicyItem.kind, PolicyItem.no)
        .limit(MAX_EXPORT_ROWS)
    )
    if filters.round_no is not None:
        stmt = stmt.where(WorkflowReport.period == filters.round_no)
    if filters.cluster_no is not None:
        stmt = stmt.where(Office.cluster_no == filters.cluster_no)
    if filters.office is not None:
        stmt = stmt.where(Office.id == filters.office.id)
    if filters.item is not None:
        stmt = stmt.where(PolicyItem.id == filters.item.id)
    return [
        ExportRow(office, item, int(period or 0), rev.state, dict(rev.data or {}), rev.approved_at)
        for period, rev, office, item in session.execute(stmt).all()
    ]
