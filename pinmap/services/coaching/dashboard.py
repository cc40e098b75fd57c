"""Read-models of the coaching dashboard: reporting completeness, best practices, results."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Integer, String, column, func, select, table, text
from sqlalchemy.orm import Session

from ...models import (
    Office,
    PolicyItem,
    ReportingWindow,
    ResultRecord,
    WindowReopening,
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


_REPORTED_KEYS = text(
    "SELECT office_id, item_id, round_no FROM dashboard_cells"
    " WHERE fiscal_year = :fy AND status IN ('submitted', 'approved')"
)


def reported_keys(session: Session, fiscal_year: int) -> set[tuple[int, int, int]]:
    """(office_id, item_id, round_no) with a submitted or approved report (an approved version
    counts while a newer draft is under way), from the read-model dashboard_cells."""
    rows: list[Any] = list(session.execute(_REPORTED_KEYS, {"fy": fiscal_year}).all())
    return {(int(o), int(i or 0), int(r or 0)) for o, i, r in rows}


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


# --- the drill-down dashboard: nation → cluster → office ---------------------------------------

# A report cell's status, in the order the charts stack them. "missing": no report at all.
STATUSES = ("missing", "draft", "returned", "submitted", "approved")
REPORTED_STATUSES = frozenset(("submitted", "approved"))
TREND_YEARS = 5


@dataclass(frozen=True)
class Filters:
    """What the dashboard shows: every field comes from the URL and is validated by the view."""

    fiscal_year: int
    round_no: int | None = None
    cluster_no: int | None = None
    office_code: str | None = None
    item_id: int | None = None
    status: str | None = None


@dataclass
class Share:
    """`n` of `d`: the numbers behind every percentage on the dashboard."""

    n: int = 0
    d: int = 0

    @property
    def ratio(self) -> float | None:
        return self.n / self.d if self.d else None


@dataclass
class RoundStats:
    window: ReportingWindow
    cells: Share = field(default_factory=Share)  # items reported / items due
    complete: Share = field(default_factory=Share)  # offices with every item / offices
    statuses: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))


@dataclass
class OfficeRow:
    id: int
    code: str
    name_th: str
    cluster_no: int
    province_code: str
    # round → status → items
    statuses: dict[int, dict[str, int]] = field(default_factory=dict)

    def reported(self, round_no: int) -> int:
        s = self.statuses.get(round_no, {})
        return sum(s.get(k, 0) for k in REPORTED_STATUSES)


@dataclass
class Dashboard:
    filters: Filters
    round_no: int | None  # the round charts and the map follow (the asked one, or the latest open)
    windows: list[ReportingWindow]
    items: list[PolicyItem]  # the items counted (one, when filtered by item)
    all_items: list[PolicyItem]
    offices: list[OfficeRow]
    rounds: dict[int, RoundStats]
    by_item: dict[int, dict[int, Share]]  # item id → round → offices reported / offices
    item_statuses: dict[int, dict[int, dict[str, int]]]  # item id → round → status → offices
    by_cluster: dict[int, dict[int, Share]]  # cluster → round → items reported / due
    by_province: dict[str, dict[int, Share]]  # office's province → round → items reported / due
    cluster_statuses: dict[int, dict[str, int]]  # cluster → status → cells, in the shown round
    trend: dict[int, dict[int, Share]]  # fiscal year → round → items reported / due

    @property
    def level(self) -> str:
        if self.filters.office_code:
            return "office"
        return "cluster" if self.filters.cluster_no is not None else "nation"

    def shown_offices(self) -> list[OfficeRow]:
        """The offices table: those with a cell in the asked status in the shown round."""
        if not self.filters.status or self.round_no is None:
            return self.offices
        return [
            o
            for o in self.offices
            if o.statuses.get(self.round_no, {}).get(self.filters.status, 0) > 0
        ]


# The read-model migration f2c8d4a6b190 keeps: one row per progress report with its status
# (an approved version counts as approved while a newer draft is under way; else the current
# revision's state), written by triggers in the same transaction as the report.
CELLS = table(
    "dashboard_cells",
    column("report_id", Integer),
    column("fiscal_year", Integer),
    column("office_id", Integer),
    column("item_id", Integer),
    column("round_no", Integer),
    column("status", String),
)


def _scoped(stmt: Any, f: Filters) -> Any:
    c = CELLS.c
    if f.cluster_no is not None or f.office_code:
        stmt = stmt.join(Office, Office.id == c.office_id)
    if f.cluster_no is not None:
        stmt = stmt.where(Office.cluster_no == f.cluster_no)
    if f.office_code:
        stmt = stmt.where(Office.code == f.office_code)
    if f.item_id is not None:
        stmt = stmt.where(c.item_id == f.item_id)
    return stmt


# Two fixed statements (the nation's without the offices join), every value a bound parameter.
# Plain SQL rather than a Core construct: GROUPING SETS and FILTER built by SQLAlchemy are
# compiled again on every call, Python work that dominated the query under 20 clients.
_COUNTS_SELECT = """
    SELECT c.office_id, c.item_id, c.round_no,  -- then one count per status of _FILED
           count(*) FILTER (WHERE c.status = 'draft') AS draft,
           count(*) FILTER (WHERE c.status = 'returned') AS returned,
           count(*) FILTER (WHERE c.status = 'submitted') AS submitted,
           count(*) FILTER (WHERE c.status = 'approved') AS approved
    FROM dashboard_cells c
"""
_COUNTS_WHERE = """
    WHERE c.fiscal_year = :fy AND c.item_id = ANY(:items)
      AND (CAST(:item AS integer) IS NULL OR c.item_id = :item)
"""
_COUNTS_GROUP = """
    GROUP BY GROUPING SETS ((c.office_id, c.round_no), (c.item_id, c.round_no))
"""
# The ~530 result rows travel as ONE two-dimensional integer array (0 for "not this grouping
# set"): the driver parses it in C, where 530 rows of seven columns cost more in the driver and
# SQLAlchemy than the query itself in PostgreSQL (bench/dashboard.py: p95 at 20 clients 145 ms
# as rows, about 60 ms as one array).
_AS_ARRAY = """
    SELECT array_agg(ARRAY[coalesce(q.office_id, 0), coalesce(q.item_id, 0),
                           coalesce(q.round_no, 0), q.draft, q.returned, q.submitted, q.approved])
    FROM ({}) q
"""
_COUNTS_NATION = text(_AS_ARRAY.format(_COUNTS_SELECT + _COUNTS_WHERE + _COUNTS_GROUP))
_COUNTS_SCOPED = text(
    _AS_ARRAY.format(
        _COUNTS_SELECT
        + " JOIN offices o ON o.id = c.office_id "
        + _COUNTS_WHERE
        + """
      AND (CAST(:cluster AS integer) IS NULL OR o.cluster_no = :cluster)
      AND (CAST(:office AS text) IS NULL OR o.code = :office)
    """
        + _COUNTS_GROUP
    )
)
_FILED = STATUSES[1:]  # the four count columns above, in this order


def status_counts(
    session: Session, f: Filters, item_ids: Sequence[int] | None = None
) -> list[list[int]]:
    """The dashboard's heaviest query: report cells by status per (office, round) and per
    (item, round) for one fiscal year, in one round trip on the read-model (GROUPING SETS, the
    statuses as columns: about 530 rows for 245 offices, 21 items and two rounds).

    Rows are [office_id, item_id, round, then one count per status of _FILED] with 0 for the
    id the row is not grouped by ("missing" is not counted here); reports on items outside the
    year's framework (`item_ids`, read when not given) are not counted.
    """
    if item_ids is None:
        item_ids = list(
            session.scalars(select(PolicyItem.id).where(PolicyItem.fiscal_year == f.fiscal_year))
        )
    params: dict[str, Any] = {"fy": f.fiscal_year, "items": list(item_ids), "item": f.item_id}
    if f.cluster_no is None and not f.office_code:
        stmt = _COUNTS_NATION
    else:
        stmt = _COUNTS_SCOPED
        params |= {"cluster": f.cluster_no, "office": f.office_code}
    return list(session.execute(stmt, params).scalar_one() or [])


def _trend(session: Session, f: Filters, offices: int) -> dict[int, dict[int, Share]]:
    """Items reported / due per fiscal year and round, for the last TREND_YEARS years."""
    first = f.fiscal_year - TREND_YEARS + 1
    item_counts = dict(
        session.execute(
            select(PolicyItem.fiscal_year, func.count())
            .where(PolicyItem.fiscal_year.between(first, f.fiscal_year))
            .group_by(PolicyItem.fiscal_year)
        ).all()
    )
    rounds = session.execute(
        select(ReportingWindow.fiscal_year, ReportingWindow.round_no).where(
            ReportingWindow.fiscal_year.between(first, f.fiscal_year)
        )
    ).all()
    c = CELLS.c
    stmt = (
        select(c.fiscal_year, c.round_no, func.count())
        .select_from(CELLS)
        .join(
            PolicyItem,
            (PolicyItem.id == c.item_id) & (PolicyItem.fiscal_year == c.fiscal_year),
        )
        .where(
            c.fiscal_year.between(first, f.fiscal_year),
            c.status.in_(REPORTED_STATUSES),
        )
        .group_by(c.fiscal_year, c.round_no)
    )
    counted: list[Any] = list(session.execute(_scoped(stmt, f)).all())
    done = {(int(fy), int(p or 0)): int(n) for fy, p, n in counted}
    out: dict[int, dict[int, Share]] = {}
    for fy, round_no in sorted(rounds):
        per_office = 1 if f.item_id is not None else int(item_counts.get(fy, 0))
        if per_office == 0:
            continue
        out.setdefault(fy, {})[round_no] = Share(done.get((fy, round_no), 0), offices * per_office)
    return out


def dashboard(session: Session, f: Filters, today: dt.date) -> Dashboard:
    """Everything the dashboard draws, for the filters' scope (nation, a cluster or an office)."""
    windows = list(
        session.scalars(
            select(ReportingWindow)
            .filter_by(fiscal_year=f.fiscal_year)
            .order_by(ReportingWindow.round_no)
        )
    )
    all_items = list(
        session.scalars(
            select(PolicyItem)
            .filter_by(fiscal_year=f.fiscal_year)
            .order_by(PolicyItem.kind, PolicyItem.no)
        )
    )
    items = [i for i in all_items if f.item_id in (None, i.id)]
    stmt = select(
        Office.id, Office.code, Office.name_th, Office.cluster_no, Office.office_province_code
    ).order_by(Office.cluster_no, Office.code)
    if f.cluster_no is not None:
        stmt = stmt.where(Office.cluster_no == f.cluster_no)
    if f.office_code:
        stmt = stmt.where(Office.code == f.office_code)
    offices = [OfficeRow(*row) for row in session.execute(stmt).all()]
    by_id = {o.id: o for o in offices}
    round_nos = [w.round_no for w in windows]
    item_total = len(items)
    item_statuses: dict[int, dict[int, dict[str, int]]] = {
        i.id: {n: dict.fromkeys(STATUSES, 0) for n in round_nos} for i in items
    }
    for o in offices:
        o.statuses = {n: dict.fromkeys(STATUSES, 0) for n in round_nos}
    for office_id, item_id, round_no, *filed in status_counts(
        session, f, [i.id for i in all_items]
    ):
        if round_no not in round_nos:
            continue
        if office_id and office_id in by_id:
            by_id[office_id].statuses[round_no].update(zip(_FILED, filed, strict=True))
        elif item_id and item_id in item_statuses:
            item_statuses[item_id][round_no].update(zip(_FILED, filed, strict=True))
    by_item: dict[int, dict[int, Share]] = {}
    for item_id, per_round in item_statuses.items():
        for n, counts in per_round.items():
            counts["missing"] = len(offices) - sum(counts.values())
            got = sum(counts[k] for k in REPORTED_STATUSES)
            by_item.setdefault(item_id, {})[n] = Share(got, len(offices))
    rounds: dict[int, RoundStats] = {}
    by_cluster: dict[int, dict[int, Share]] = defaultdict(dict)
    by_province: dict[str, dict[int, Share]] = defaultdict(dict)
    for w in windows:
        stats = RoundStats(w)
        for o in offices:
            s = o.statuses[w.round_no]
            s["missing"] = item_total - sum(v for k, v in s.items() if k != "missing")
            got = o.reported(w.round_no)
            for k, v in s.items():
                stats.statuses[k] += v
            stats.cells.n += got
            stats.cells.d += item_total
            stats.complete.n += got >= item_total
            stats.complete.d += 1
            for share in (
                by_cluster[o.cluster_no].setdefault(w.round_no, Share()),
                by_province[o.province_code].setdefault(w.round_no, Share()),
            ):
                share.n += got
                share.d += item_total
        rounds[w.round_no] = stats
    opened = [w.round_no for w in windows if w.opens_on <= today]
    shown = f.round_no if f.round_no in round_nos else (opened[-1] if opened else None)
    if shown is None and round_nos:
        shown = round_nos[0]
    cluster_statuses: dict[int, dict[str, int]] = {}
    if shown is not None:
        for o in offices:
            counts = cluster_statuses.setdefault(o.cluster_no, dict.fromkeys(STATUSES, 0))
            for k, v in o.statuses[shown].items():
                counts[k] += v
    return Dashboard(
        filters=f,
        round_no=shown,
        windows=windows,
        items=items,
        all_items=all_items,
        offices=offices,
        rounds=rounds,
        by_item=by_item,
        item_statuses=item_statuses,
        by_cluster=dict(by_cluster),
        by_province=dict(by_province),
        cluster_statuses=dict(sorted(cluster_statuses.items())),
        trend=_trend(session, f, len(offices)),
    )
