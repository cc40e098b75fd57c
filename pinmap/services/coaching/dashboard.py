"""Read-models of the coaching dashboard: reporting completeness, best practices, results."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, func, select
from sqlalchemy.orm import Session

from ...models import (
    Office,
    PolicyItem,
    ReportingWindow,
    ResultRecord,
    WindowReopening,
    WorkflowReport,
    WorkflowRevision,
)
from ..best_practices import Practice, approved_in_cluster

DUE_SOON_DAYS = 7
REPORTED_STATES = ("submitted", "approved")


# --- reporting completeness ------------------------------------------------------------------


@dataclass
class RoundCell:
    """One office's reports in one reporting round."""

    round_no: int
    total: int
    reported_items: set[int]
    last_day: dt.date
    opens_on: dt.date
    today: dt.date

    @property
    def reported(self) -> int:
        return len(self.reported_items)

    @property
    def missing(self) -> int:
        return self.total - self.reported

    @property
    def share(self) -> float:
        return self.reported / self.total if self.total else 1.0

    @property
    def days_left(self) -> int:
        return (self.last_day - self.today).days

    @property
    def opened(self) -> bool:
        return self.opens_on <= self.today

    def overdue(self, due_within: int = DUE_SOON_DAYS) -> bool:
        """Items missing and the window closed or closing within `due_within` days."""
        return self.opened and self.missing > 0 and self.days_left <= due_within


@dataclass
class OfficeCompleteness:
    code: str
    name_th: str
    cluster_no: int
    rounds: dict[int, RoundCell] = field(default_factory=dict)

    def overdue(self, due_within: int = DUE_SOON_DAYS) -> bool:
        return any(c.overdue(due_within) for c in self.rounds.values())

    @property
    def min_days_left(self) -> int:
        late = [c.days_left for c in self.rounds.values() if c.opened and c.missing]
        return min(late) if late else 10_000


def reported_keys(session: Session, fiscal_year: int) -> set[tuple[int, int, int]]:
    """(office_id, item_id, round_no) with a submitted or approved report."""
    rows = session.execute(
        select(WorkflowReport.office_id, WorkflowReport.subject_id, WorkflowReport.period)
        .outerjoin(WorkflowRevision, WorkflowRevision.id == WorkflowReport.current_revision_id)
        .where(
            WorkflowReport.kind == "progress",
            WorkflowReport.fiscal_year == fiscal_year,
            WorkflowReport.approved_revision_id.is_not(None)
            | WorkflowRevision.state.in_(REPORTED_STATES),
        )
    ).all()
    return {(o, int(i or 0), int(r or 0)) for o, i, r in rows}


def completeness(
    session: Session,
    fiscal_year: int,
    today: dt.date,
    *,
    cluster_no: int | None = None,
    due_within: int = DUE_SOON_DAYS,
) -> list[OfficeCompleteness]:
    """Per office and reporting round: items reported; overdue offices first, then by code."""
    items = [i.id for i in session.scalars(select(PolicyItem).filter_by(fiscal_year=fiscal_year))]
    windows = list(
        session.scalars(
            select(ReportingWindow)
            .filter_by(fiscal_year=fiscal_year)
            .order_by(ReportingWindow.round_no)
        )
    )
    extra: dict[tuple[int, int], dt.date] = {}
    for wid, oid, until in session.execute(
        select(WindowReopening.window_id, WindowReopening.office_id, WindowReopening.until).where(
            WindowReopening.window_id.in_([w.id for w in windows] or [0])
        )
    ):
        extra[(wid, oid)] = max(until, extra.get((wid, oid), until))
    done = reported_keys(session, fiscal_year)
    stmt = select(Office).order_by(Office.code)
    if cluster_no is not None:
        stmt = stmt.filter_by(cluster_no=cluster_no)
    result = []
    for office in session.scalars(stmt):
        row = OfficeCompleteness(office.code, office.name_th, office.cluster_no)
        for w in windows:
            last = max(w.closes_on, extra.get((w.id, office.id), w.closes_on))
            got = {i for i in items if (office.id, i, w.round_no) in done}
            row.rounds[w.round_no] = RoundCell(w.round_no, len(items), got, last, w.opens_on, today)
        result.append(row)
    result.sort(key=lambda r: (not r.overdue(due_within), r.min_days_left, r.code))
    return result


def completeness_summary(
    rows: list[OfficeCompleteness], items: list[PolicyItem], windows: list[ReportingWindow]
) -> dict[int, dict[str, Any]]:
    """National and per-cluster shares by round and by round × item."""
    by_round: dict[int, dict[str, Any]] = {}
    for w in windows:
        cells = [r.rounds[w.round_no] for r in rows if w.round_no in r.rounds]
        total = sum(c.total for c in cells)
        per_item: list[dict[str, Any]] = []
        for item in items:
            have = sum(1 for c in cells if item.id in c.reported_items)
            per_item.append(
                {
                    "item": item,
                    "reported": have,
                    "offices": len(cells),
                    "share": have / len(cells) if cells else 0.0,
                }
            )
        clusters: dict[int, list[RoundCell]] = defaultdict(list)
        for r in rows:
            if w.round_no in r.rounds:
                clusters[r.cluster_no].append(r.rounds[w.round_no])
        by_round[w.round_no] = {
            "window": w,
            "reported": sum(c.reported for c in cells),
            "total": total,
            "share": sum(c.reported for c in cells) / total if total else 0.0,
            "complete_offices": sum(1 for c in cells if c.missing == 0),
            "offices": len(cells),
            "items": per_item,
            "lagging": sorted(per_item, key=lambda p: (p["share"], p["item"].kind, p["item"].no))[
                :5
            ],
            "clusters": {
                no: {
                    "share": (sum(c.reported for c in cs) / sum(c.total for c in cs))
                    if sum(c.total for c in cs)
                    else 0.0,
                    "missing_offices": sum(1 for c in cs if c.missing),
                    "offices": len(cs),
                }
                for no, cs in sorted(clusters.items())
            },
        }
    return by_round


# --- best practices and results --------------------------------------------------------------


def cluster_best_practices(session: Session, no: int) -> list[tuple[Practice, Office]]:
    return approved_in_cluster(session, no)


def results_vs_national(session: Session, no: int) -> list[dict[str, Any]]:
    """Average result per year, category and indicator: the cluster's offices vs all offices.

    Averaged per indicator (not per category alone) so percents and counts never mix.
    """
    in_cluster = (Office.cluster_no == no).label("in_cluster")
    rows = session.execute(
        select(
            ResultRecord.fiscal_year,
            ResultRecord.category,
            ResultRecord.indicator,
            ResultRecord.unit,
            in_cluster,
            func.avg(ResultRecord.value, type_=Float),
            func.count(ResultRecord.value),
        )
        .join(Office, Office.id == ResultRecord.office_id)
        .where(ResultRecord.value.is_not(None))
        .group_by(
            ResultRecord.fiscal_year,
            ResultRecord.category,
            ResultRecord.indicator,
            ResultRecord.unit,
            in_cluster,
        )
    ).all()
    table: dict[tuple[Any, ...], dict[str, Any]] = {}
    for fy, cat, ind, unit, inside, avg, n in rows:
        key = (fy, cat, ind, unit)
        entry = table.setdefault(
            key,
            {
                "fiscal_year": fy,
                "category": cat,
                "indicator": ind,
                "unit": unit,
                "cluster_avg": None,
                "cluster_n": 0,
                "sum": 0.0,
                "n": 0,
            },
        )
        entry["sum"] += float(avg) * n
        entry["n"] += n
        if inside:
            entry["cluster_avg"], entry["cluster_n"] = float(avg), n
    out = []
    for key in sorted(table, key=lambda k: (-k[0], k[1], k[2], k[3])):
        e = table[key]
        if not e["cluster_n"]:
            continue
        e["national_avg"] = e.pop("sum") / e["n"] if e["n"] else None
        e["national_n"] = e.pop("n")
        out.append(e)
    return out


def _met(value: float | None, target: float | None) -> bool | None:
    # Higher is better for the indicators OBEC evaluates; unknown when either side is missing.
    if value is None or target is None:
        return None
    return value >= target


def evaluation(
    session: Session, fiscal_year: int, cluster_no: int | None = None
) -> list[dict[str, Any]]:
    """The 12-month round: each result vs the office's own target and OBEC's target."""
    stmt = (
        select(ResultRecord, Office)
        .join(Office, Office.id == ResultRecord.office_id)
        .where(ResultRecord.fiscal_year == fiscal_year)
        .order_by(Office.cluster_no, Office.code, ResultRecord.category, ResultRecord.indicator)
    )
    if cluster_no is not None:
        stmt = stmt.where(Office.cluster_no == cluster_no)
    return [
        {
            "office": o,
            "record": r,
            "met_office": _met(r.value, r.office_target),
            "met_obec": _met(r.value, r.obec_target),
        }
        for r, o in session.execute(stmt).all()
    ]
