"""Clusters and the coaching year: membership, completeness, rounds, sessions and visit plans.

Services take the session first, add and flush, never commit: the view commits once.
Distances are great-circle (haversine / PostGIS sphere, R = 6371.0088 km), not road distances.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoalchemy2.shape import to_shape
from icalendar import Calendar, Event, vText
from icalendar.parser import Contentline
from shapely.geometry import shape
from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo import planner as geo

from ..auth import can
from ..fiscal import BANGKOK, fiscal_year_bounds
from ..models import (
    ROUND_KINDS,
    BestPractice,
    Cluster,
    ClusterMove,
    ClusterSession,
    FiscalYear,
    MonitoringRound,
    Office,
    PolicyItem,
    ProgressEntry,
    ProgressRevision,
    ReportingWindow,
    ResultRecord,
    RoundStatus,
    VisitPlan,
    VisitRecord,
    VisitStop,
    WindowReopening,
)
from . import offices as offices_svc
from .audit import Actor, emit_change, record
from .errors import N_, ServiceError
from .lookups import get_or_404, or_404
from .sanitize import clean_text

RADIUS_KM_RANGE = (1.0, 500.0)
NEAREST_K_RANGE = (1, 50)
DUE_SOON_DAYS = 7
ROUND_STATUSES = ("pending", "received", "checked", "coached", "attended", "evaluated", "absent")
# The usual kind of each round number (3, 6, 9, 12 months), from the FY2567 monitoring plan.
KIND_OF_ROUND = dict(zip((1, 2, 3, 4), ROUND_KINDS, strict=True))
REPORTED_STATES = ("submitted", "approved")
GREAT_CIRCLE_NOTE = "distances are great-circle (straight-line), not road distances"


# --- lookups ---------------------------------------------------------------------------------


def get_cluster(session: Session, no: int) -> Cluster:
    # A smallint key: a larger number names no cluster (the database would refuse it).
    cluster = session.get(Cluster, no) if -(2**15) <= no < 2**15 else None
    return or_404(cluster, N_("No cluster number %(no)s."), no=no)


get_office = offices_svc.office_or_404


def cluster_offices(session: Session, no: int) -> list[Office]:
    return list(session.scalars(select(Office).filter_by(cluster_no=no).order_by(Office.code)))


def lonlat(office: Office) -> geo.LonLat:
    point = to_shape(office.geom)
    return (point.x, point.y)


# --- regions, labels, membership -------------------------------------------------------------


def cluster_labels(session: Session) -> dict[str, Any]:
    """One label point per cluster: a point guaranteed inside its region (point on surface)."""
    regions = offices_svc.cluster_regions(session)
    features = []
    for feature in regions["features"]:
        point = shape(feature["geometry"]).representative_point()
        props = feature["properties"]
        features.append(
            {
                "type": "Feature",
                "id": props["no"],
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(point.x, 5), round(point.y, 5)],
                },
                "properties": {
                    "no": props["no"],
                    "name_th": props["name_th"],
                    "name_en": props["name_en"],
                    "basis": props["basis"],
                },
            }
        )
    return offices_svc.feature_collection(features)


def move_office_cluster(
    session: Session, actor: Actor, code: str, to_cluster: int, reason: str
) -> ClusterMove:
    """Move an office into another cluster, keeping the history and telling the public map."""
    if not can(actor.user, "manage_clusters"):
        raise ServiceError(403, N_("You may not do this."))
    office = get_office(session, code)
    get_cluster(session, to_cluster)
    reason = clean_text(reason or "", max_length=1000)
    if not reason:
        raise ServiceError(400, N_("Give a reason for moving the office."))
    if office.cluster_no == to_cluster:
        raise ServiceError(
            400, N_("%(code)s is already in cluster %(no)s."), code=code, no=to_cluster
        )
    before = office.cluster_no
    office.cluster_no = to_cluster
    move = ClusterMove(
        office_id=office.id,
        from_cluster=before,
        to_cluster=to_cluster,
        reason=reason,
        by_user_id=actor.user.id if actor.user else None,
        at=actor.now,
    )
    session.add(move)
    session.flush()
    record(
        session,
        actor,
        "office.cluster",
        "office",
        code,
        before={"cluster_no": before},
        after={"cluster_no": to_cluster, "reason": reason},
        office_id=office.id,
    )
    emit_change(
        session, "office.updated", code, {"fields": ["cluster_no"], "cluster_no": to_cluster}
    )
    return move


# The old name the coaching views call; offices.move_office_pin moves the pin instead.
move_office = move_office_cluster


def cluster_moves(session: Session, no: int) -> list[dict[str, Any]]:
    """Moves into or out of a cluster, newest first."""
    rows = session.execute(
        select(ClusterMove, Office.code, Office.name_th)
        .join(Office, Office.id == ClusterMove.office_id)
        .where((ClusterMove.from_cluster == no) | (ClusterMove.to_cluster == no))
        .order_by(ClusterMove.at.desc(), ClusterMove.id.desc())
    ).all()
    return [
        {
            "office": code,
            "name_th": name,
            "from_cluster": m.from_cluster,
            "to_cluster": m.to_cluster,
            "reason": m.reason,
            "at": m.at,
        }
        for m, code, name in rows
    ]


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
        select(ProgressEntry.office_id, ProgressEntry.item_id, ProgressEntry.round_no)
        .outerjoin(ProgressRevision, ProgressRevision.id == ProgressEntry.current_revision_id)
        .where(
            ProgressEntry.fiscal_year == fiscal_year,
            ProgressEntry.approved_revision_id.is_not(None)
            | ProgressRevision.state.in_(REPORTED_STATES),
        )
    ).all()
    return {(o, i, r) for o, i, r in rows}


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
) -> dict[str, Any]:
    """National and per-cluster shares by round and by round × item."""
    by_round: dict[int, dict[str, Any]] = {}
    for w in windows:
        cells = [r.rounds[w.round_no] for r in rows if w.round_no in r.rounds]
        total = sum(c.total for c in cells)
        per_item = []
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


def cluster_best_practices(session: Session, no: int) -> list[tuple[BestPractice, Office]]:
    rows = session.execute(
        select(BestPractice, Office)
        .join(Office, Office.id == BestPractice.office_id)
        .where(Office.cluster_no == no, BestPractice.state == "approved")
        .order_by(BestPractice.fiscal_year.desc(), Office.code, BestPractice.title)
    ).all()
    return [(bp, o) for bp, o in rows]


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
            func.avg(ResultRecord.value),
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


# --- monitoring rounds -----------------------------------------------------------------------

ROUND_COLUMNS = ("fiscal_year", "round_no", "kind", "starts_on", "ends_on")


def _check_round(
    fiscal_year: int, round_no: int, kind: str, starts_on: dt.date, ends_on: dt.date
) -> None:
    if not 1 <= round_no <= 4:
        raise ServiceError(400, N_("The round number must be 1 to 4, not %(no)s."), no=round_no)
    if kind not in ROUND_KINDS:
        raise ServiceError(
            400,
            N_("Unknown round kind %(kind)s (allowed: %(allowed)s)."),
            kind=kind,
            allowed=", ".join(ROUND_KINDS),
        )
    if starts_on > ends_on:
        raise ServiceError(400, N_("A round cannot end before it starts."))
    first, last = fiscal_year_bounds(fiscal_year)
    if not first <= starts_on <= ends_on <= last:
        raise ServiceError(
            400,
            N_("The round must lie inside fiscal year %(fy)s (%(first)s to %(last)s)."),
            fy=fiscal_year,
            first=first.isoformat(),
            last=last.isoformat(),
        )


def save_round(
    session: Session,
    actor: Actor,
    fiscal_year: int,
    round_no: int,
    kind: str,
    starts_on: dt.date,
    ends_on: dt.date,
) -> tuple[MonitoringRound, str]:
    """Create or update the round (fiscal_year, round_no); returns it and inserted/updated/same."""
    if not can(actor.user, "manage_rounds") and actor.user is not None:
        raise ServiceError(403, N_("You may not do this."))
    _check_round(fiscal_year, round_no, kind, starts_on, ends_on)
    if session.get(FiscalYear, fiscal_year) is None:
        first, last = fiscal_year_bounds(fiscal_year)
        session.add(FiscalYear(year_be=fiscal_year, starts_on=first, ends_on=last))
        session.flush()
    found = session.scalars(
        select(MonitoringRound).filter_by(fiscal_year=fiscal_year, round_no=round_no)
    ).first()
    values = {"kind": kind, "starts_on": starts_on, "ends_on": ends_on}
    if found is None:
        found = MonitoringRound(fiscal_year=fiscal_year, round_no=round_no, **values)
        session.add(found)
        outcome, before = "inserted", None
    elif all(getattr(found, k) == v for k, v in values.items()):
        return found, "unchanged"
    else:
        before = _round_dict(found)
        for k, v in values.items():
            setattr(found, k, v)
        outcome = "updated"
    session.flush()
    record(
        session,
        actor,
        "round.save",
        "monitoring_round",
        found.id,
        before=before,
        after=_round_dict(found),
    )
    return found, outcome


def _round_dict(r: MonitoringRound) -> dict[str, Any]:
    return {
        "fiscal_year": r.fiscal_year,
        "round_no": r.round_no,
        "kind": r.kind,
        "starts_on": r.starts_on.isoformat(),
        "ends_on": r.ends_on.isoformat(),
    }


def parse_rounds(text: str) -> list[dict[str, Any]]:
    """Rows of a monitoring_rounds.csv; a bad row raises 400 naming its line."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in ROUND_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ServiceError(
            400, N_("The rounds file lacks the column(s) %(names)s."), names=", ".join(missing)
        )
    rows = []
    for line, raw in enumerate(reader, start=2):
        try:
            row = {
                "fiscal_year": int(raw["fiscal_year"]),
                "round_no": int(raw["round_no"]),
                "kind": (raw["kind"] or "").strip(),
                "starts_on": dt.date.fromisoformat(raw["starts_on"].strip()),
                "ends_on": dt.date.fromisoformat(raw["ends_on"].strip()),
            }
            _check_round(**row)
        except (ValueError, AttributeError, TypeError) as exc:
            raise ServiceError(
                400, N_("Rounds file line %(line)s: %(reason)s"), line=line, reason=str(exc)
            ) from exc
        except ServiceError as exc:
            raise ServiceError(
                400, N_("Rounds file line %(line)s: %(reason)s"), line=line, reason=str(exc)
            ) from exc
        rows.append(row)
    keys = [(r["fiscal_year"], r["round_no"]) for r in rows]
    if len(set(keys)) != len(keys):
        raise ServiceError(400, N_("The rounds file lists a round twice."))
    return rows


def load_rounds(
    session: Session, path: Path | str, actor: Actor | None = None, text: str | None = None
) -> dict[str, int]:
    """Upsert rounds from a CSV file (or its `text`); adds and flushes, the caller commits.

    For `pinmap data load`: `load_rounds(session, data_dir / "monitoring_rounds.csv")`.
    """
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    actor = actor or Actor(None, "data-load")
    summary = {"inserted": 0, "updated": 0, "unchanged": 0}
    for row in parse_rounds(text):
        _, outcome = save_round(session, actor, **row)
        summary[outcome] += 1
    return summary


def list_rounds(session: Session, fiscal_year: int | None = None) -> list[MonitoringRound]:
    stmt = select(MonitoringRound).order_by(
        MonitoringRound.fiscal_year.desc(), MonitoringRound.round_no
    )
    if fiscal_year is not None:
        stmt = stmt.filter_by(fiscal_year=fiscal_year)
    return list(session.scalars(stmt))


def get_round(session: Session, round_id: int) -> MonitoringRound:
    return get_or_404(
        session, MonitoringRound, round_id, N_("No monitoring round %(id)s."), id=round_id
    )


def set_round_status(
    session: Session, actor: Actor, rnd: MonitoringRound, code: str, status: str, note: str = ""
) -> RoundStatus:
    if not can(actor.user, "review_entry"):
        raise ServiceError(403, N_("You may not do this."))
    if status not in ROUND_STATUSES:
        raise ServiceError(
            400,
            N_("Unknown status %(value)s (allowed: %(allowed)s)."),
            value=status,
            allowed=", ".join(ROUND_STATUSES),
        )
    office = get_office(session, code)
    row = session.scalars(
        select(RoundStatus).filter_by(round_id=rnd.id, office_id=office.id)
    ).first()
    before = {"status": row.status, "note": row.note} if row else None
    if row is None:
        row = RoundStatus(round_id=rnd.id, office_id=office.id, status=status)
        session.add(row)
    row.status, row.note = status, clean_text(note or "", max_length=2000)
    session.flush()
    record(
        session,
        actor,
        "round.status",
        "round_status",
        row.id,
        before=before,
        after={"status": row.status, "note": row.note},
        office_id=office.id,
    )
    return row


def round_statuses(session: Session, rnd: MonitoringRound) -> dict[int, RoundStatus]:
    return {s.office_id: s for s in session.scalars(select(RoundStatus).filter_by(round_id=rnd.id))}


def set_cluster_session(
    session: Session,
    actor: Actor,
    rnd: MonitoringRound,
    cluster_no: int,
    starts_at: dt.datetime,
    link: str,
) -> ClusterSession:
    """The 9-month round meets online, one cluster per session."""
    if not can(actor.user, "manage_rounds"):
        raise ServiceError(403, N_("You may not do this."))
    if rnd.kind != "online_cluster":
        raise ServiceError(400, N_("Only the online cluster round has cluster sessions."))
    get_cluster(session, cluster_no)
    link = (link or "").strip()
    if link and not link.startswith(("https://", "http://")):
        raise ServiceError(400, N_("A link must start with http:// or https://."))
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=BANGKOK)
    if not rnd.starts_on <= starts_at.astimezone(BANGKOK).date() <= rnd.ends_on:
        raise ServiceError(
            400,
            N_("The session must fall inside the round (%(first)s to %(last)s)."),
            first=rnd.starts_on.isoformat(),
            last=rnd.ends_on.isoformat(),
        )
    row = session.scalars(
        select(ClusterSession).filter_by(round_id=rnd.id, cluster_no=cluster_no)
    ).first()
    before = {"starts_at": row.starts_at.isoformat(), "link": row.link} if row else None
    if row is None:
        row = ClusterSession(round_id=rnd.id, cluster_no=cluster_no, starts_at=starts_at)
        session.add(row)
    row.starts_at, row.link = starts_at, link[:2000]
    session.flush()
    record(
        session,
        actor,
        "round.session",
        "cluster_session",
        row.id,
        before=before,
        after={"starts_at": starts_at.isoformat(), "link": row.link},
    )
    return row


def cluster_sessions(session: Session, rnd: MonitoringRound) -> list[ClusterSession]:
    return list(
        session.scalars(
            select(ClusterSession).filter_by(round_id=rnd.id).order_by(ClusterSession.starts_at)
        )
    )


# --- iCalendar (RFC 5545) --------------------------------------------------------------------


def ics_escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11), by the icalendar library."""
    return vText(_ics_text(text)).to_ical().decode("utf-8")


def ics_fold(line: str) -> str:
    """A content line folded at 75 octets without splitting a character (RFC 5545 §3.1)."""
    return Contentline(line).to_ical().decode("utf-8")


# Control characters have no place in iCalendar TEXT (RFC 5545 §3.3.11) and some clients
# end a line at a lone CR: line breaks become one "\n" (escaped by icalendar), the rest go.
_ICS_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A URL property is a URI, which icalendar writes as it is: only a plain web address goes
# there (the link stays in the description and location, escaped, whatever it is).
_ICS_URL = re.compile(r"https?://[\x21-\x7e]+")


def _ics_text(text: str) -> str:
    return _ICS_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def ics_calendar(events: Iterable[dict[str, Any]], name: str, now: dt.datetime) -> str:
    """VCALENDAR text written by the icalendar library (escaping, folding, CRLF line ends);
    each event has uid, summary, and start (datetime) or date, optional
    end/duration_minutes, description, location, url."""
    cal = Calendar()
    cal.add("prodid", "-//OBEC//pinmap coaching//TH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    # X- properties have no known type, so icalendar would write a plain str unescaped.
    cal.add("x-wr-calname", vText(_ics_text(name)))
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    for ev in events:
        event = Event()
        event.add("uid", vText(_ics_text(ev["uid"])))
        event.add("dtstamp", stamp)
        if "date" in ev:
            day: dt.date = ev["date"]
            event.add("dtstart", day)
            event.add("dtend", day + dt.timedelta(days=1))
        else:
            start = ev["start"].astimezone(dt.UTC).replace(microsecond=0)
            event.add("dtstart", start)
            event.add("dtend", start + dt.timedelta(minutes=ev.get("duration_minutes", 180)))
        event.add("summary", vText(_ics_text(ev["summary"])))
        for key in ("description", "location"):
            if ev.get(key):
                event.add(key, vText(_ics_text(ev[key])))
        if ev.get("url") and _ICS_URL.fullmatch(ev["url"]):
            event.add("url", ev["url"])
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def sessions_ics(session: Session, rnd: MonitoringRound, host: str, now: dt.datetime) -> str:
    names = {c.no: c.name_th for c in session.scalars(select(Cluster))}
    events = [
        {
            "uid": f"cluster-session-{s.round_id}-{s.cluster_no}@{host}",
            "summary": f"ติดตาม 9 เดือน (Online) · Cluster {s.cluster_no}",
            "start": s.starts_at,
            "description": f"{names.get(s.cluster_no, '')}\n{s.link}".strip(),
            "location": s.link,
            "url": s.link,
        }
        for s in cluster_sessions(session, rnd)
    ]
    return ics_calendar(events, f"pinmap FY{rnd.fiscal_year} round {rnd.round_no}", now)


# --- visit planner ---------------------------------------------------------------------------


def check_radius(radius_km: float | None) -> None:
    lo, hi = RADIUS_KM_RANGE
    if radius_km is not None and not lo <= radius_km <= hi:
        raise ServiceError(
            400, N_("The radius must be between %(min)s and %(max)s km."), min=int(lo), max=int(hi)
        )


def check_k(k: int | None) -> None:
    lo, hi = NEAREST_K_RANGE
    if k is not None and not lo <= k <= hi:
        raise ServiceError(
            400,
            N_("The number of nearest offices must be between %(min)s and %(max)s."),
            min=lo,
            max=hi,
        )


def _host_point(host: Office) -> Any:
    return select(Office.geom).where(Office.id == host.id).scalar_subquery()


def invitees_within(session: Session, host: Office, radius_km: float) -> list[tuple[Office, float]]:
    """Offices (any cluster) within `radius_km` of the host on the sphere, nearest first."""
    check_radius(radius_km)
    here = func.Geography(_host_point(host))
    there = func.Geography(Office.geom)
    # use_spheroid=false: the sphere of mean radius 6371.0088 km, the same as the page states.
    dist = func.ST_Distance(there, here, literal(False)) / 1000.0
    rows = session.execute(
        select(Office, dist)
        .where(
            Office.id != host.id, func.ST_DWithin(there, here, radius_km * 1000.0, literal(False))
        )
        .order_by(dist, Office.code)
    ).all()
    return [(o, float(km)) for o, km in rows]


def nearest_offices(session: Session, host: Office, k: int) -> list[tuple[Office, float]]:
    """The `k` offices nearest the host: KNN on the index, re-ranked by sphere distance."""
    check_k(k)
    here = _host_point(host)
    # `<->` ranks by planar degrees, which stretch east-west away from the equator; take a
    # margin of candidates so the geodesic re-ranking can still pick the true k nearest.
    candidates = (
        select(Office.id)
        .where(Office.id != host.id)
        .order_by(Office.geom.op("<->")(here))
        .limit(2 * k + 10)
        .subquery()
    )
    dist = (
        func.ST_Distance(func.Geography(Office.geom), func.Geography(here), literal(False)) / 1000.0
    )
    rows = session.execute(
        select(Office, dist)
        .where(Office.id.in_(select(candidates.c.id)))
        .order_by(dist, Office.code)
        .limit(k)
    ).all()
    return [(o, float(km)) for o, km in rows]


@dataclass
class Proposal:
    cluster: Cluster
    members: list[Office]
    host: Office
    host_total_km: float
    invitees: list[tuple[Office, float]]
    radius_km: float | None
    nearest_k: int | None


def propose(
    session: Session,
    cluster_no: int,
    *,
    radius_km: float | None = None,
    k: int | None = None,
    host_code: str | None = None,
) -> Proposal:
    """Host = the cluster office with least total great-circle distance to the others; invitees
    by radius or k nearest (from any cluster)."""
    cluster = get_cluster(session, cluster_no)
    check_radius(radius_km)
    check_k(k)
    if radius_km is None and k is None:
        raise ServiceError(
            400,
            N_(
                "Give a radius (%(rmin)s–%(rmax)s km) or a number of nearest "
                "offices (%(kmin)s–%(kmax)s)."
            ),
            rmin=int(RADIUS_KM_RANGE[0]),
            rmax=int(RADIUS_KM_RANGE[1]),
            kmin=NEAREST_K_RANGE[0],
            kmax=NEAREST_K_RANGE[1],
        )
    members = cluster_offices(session, cluster_no)
    if not members:
        raise ServiceError(400, N_("Cluster %(no)s has no offices."), no=cluster_no)
    points = [lonlat(o) for o in members]
    if host_code:
        host = get_office(session, host_code)
        # The same rule as save_plan: a host from elsewhere would skew the cluster's distances.
        if host.cluster_no != cluster_no:
            raise ServiceError(
                400, N_("The host must be an office of cluster %(no)s."), no=cluster_no
            )
    else:
        host = members[geo.best_host(points)]
    total = geo.total_distance_from(lonlat(host), points)
    invitees = (
        invitees_within(session, host, radius_km)
        if radius_km is not None
        else nearest_offices(session, host, k or 1)
    )
    return Proposal(cluster, members, host, total, invitees, radius_km, k)


def create_plan(
    session: Session,
    actor: Actor,
    round_id: int,
    cluster_no: int,
    *,
    radius_km: float | None = None,
    k: int | None = None,
    host_code: str | None = None,
) -> VisitPlan:
    if not can(actor.user, "plan_visits"):
        raise ServiceError(403, N_("You may not do this."))
    rnd = get_round(session, round_id)
    prop = propose(session, cluster_no, radius_km=radius_km, k=k, host_code=host_code)
    plan = VisitPlan(
        round_id=rnd.id,
        cluster_no=cluster_no,
        host_office_id=prop.host.id,
        radius_km=radius_km,
        nearest_k=k,
        state="draft",
        distance_basis="great_circle",
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(plan)
    session.flush()
    session.add(
        VisitStop(plan_id=plan.id, office_id=prop.host.id, role="host", position=0, distance_km=0.0)
    )
    for pos, (office, km) in enumerate(prop.invitees, start=1):
        session.add(
            VisitStop(
                plan_id=plan.id,
                office_id=office.id,
                role="invited",
                position=pos,
                distance_km=round(km, 3),
            )
        )
    session.flush()
    record(session, actor, "plan.create", "visit_plan", plan.id, after=plan_dict(session, plan))
    return plan


def get_plan(session: Session, plan_id: int) -> VisitPlan:
    return get_or_404(session, VisitPlan, plan_id, N_("No visit plan %(id)s."), id=plan_id)


def visible_plan(session: Session, plan_id: int, user: Any) -> VisitPlan:
    """Drafts exist only for coaches and admins; to everyone else they are simply not found."""
    plan = get_plan(session, plan_id)
    if plan.state != "published" and not can(user, "plan_visits"):
        raise ServiceError(404, N_("No visit plan %(id)s."), id=plan_id)
    return plan


def list_plans(session: Session, user: Any, cluster_no: int | None = None) -> list[VisitPlan]:
    stmt = select(VisitPlan).order_by(VisitPlan.visit_date.desc().nulls_last(), VisitPlan.id.desc())
    if not can(user, "plan_visits"):
        stmt = stmt.where(VisitPlan.state == "published")
    if cluster_no is not None:
        stmt = stmt.where(VisitPlan.cluster_no == cluster_no)
    return list(session.scalars(stmt))


def _stops(session: Session, plan: VisitPlan) -> list[tuple[VisitStop, Office]]:
    return [
        (s, o)
        for s, o in session.execute(
            select(VisitStop, Office)
            .join(Office, Office.id == VisitStop.office_id)
            .where(VisitStop.plan_id == plan.id)
            .order_by(VisitStop.role, VisitStop.position)
        ).all()
    ]


def plan_dict(session: Session, plan: VisitPlan) -> dict[str, Any]:
    """The plan as the API, exports and audit log see it."""
    stops = _stops(session, plan)
    host = next((o for s, o in stops if s.role == "host"), None)
    visits = sorted(((s, o) for s, o in stops if s.role == "visit"), key=lambda t: t[0].position)
    invited = sorted(
        ((s, o) for s, o in stops if s.role == "invited"),
        key=lambda t: (t[0].distance_km or 0, t[1].code),
    )

    def stop(s: VisitStop, o: Office) -> dict[str, Any]:
        lon, lat = lonlat(o)
        return {
            "office": o.code,
            "name_th": o.name_th,
            "cluster_no": o.cluster_no,
            "role": s.role,
            "position": s.position,
            "distance_km": s.distance_km,
            "lon": round(lon, 6),
            "lat": round(lat, 6),
        }

    rnd = session.get(MonitoringRound, plan.round_id)
    return {
        "id": plan.id,
        "round_id": plan.round_id,
        "round": {"fiscal_year": rnd.fiscal_year, "round_no": rnd.round_no, "kind": rnd.kind}
        if rnd
        else None,
        "cluster_no": plan.cluster_no,
        "state": plan.state,
        "version": plan.version,
        "visit_date": plan.visit_date.isoformat() if plan.visit_date else None,
        "team": plan.team,
        "radius_km": plan.radius_km,
        "nearest_k": plan.nearest_k,
        "distance_basis": plan.distance_basis,
        "distance_note": GREAT_CIRCLE_NOTE,
        "host": stop(*next((s, o) for s, o in stops if s.role == "host")) if host else None,
        "invited": [stop(s, o) for s, o in invited],
        "visits": [stop(s, o) for s, o in visits],
        "visits_total_km": round(sum(s.distance_km or 0 for s, _ in visits), 3),
        "order_method": _order_method(tuple([lonlat(host)] + [lonlat(o) for _, o in visits]))
        if host and visits
        else None,
        "exact_max_visits": geo.EXACT_MAX_VISITS,
    }


ORDER_METHODS = {geo.EXACT: "exact", geo.HEURISTIC: "heuristic", geo.MANUAL: "manual"}


@functools.lru_cache(maxsize=512)
def _order_method(points: tuple[geo.LonLat, ...]) -> str:
    """`exact` (proven shortest), `heuristic` or `manual`: the visit path through `points`."""
    # Plans keep no record of how their order was found, so every view re-derives it; above
    # EXACT_MAX_VISITS that reruns the heuristic (~0.1 s for 40 visits), hence the cache.
    return ORDER_METHODS[geo.order_method(points)]


def _check_plan_version(session: Session, plan: VisitPlan, expected: int | None) -> None:
    # Locked and re-read first: of two saves of one version at once, the second then sees the
    # first's version and gets this 409 instead of failing in the database.
    session.refresh(plan, with_for_update=True)
    if expected is None or expected != plan.version:
        raise ServiceError(
            409,
            N_(
                "This plan was changed by someone else (version %(current)s, "
                "you had %(yours)s). Reload it and apply your changes again."
            ),
            current=plan.version,
            yours=expected if expected is not None else "-",
        )


def _flush_versioned(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:  # a concurrent save won between our read and our write
        raise ServiceError(409, N_("This plan was changed by someone else. Reload it.")) from exc


def save_plan(
    session: Session,
    actor: Actor,
    plan: VisitPlan,
    version: int | None,
    *,
    host_code: str | None = None,
    invited: list[str] | None = None,
    visits: list[str] | None = None,
    optimise: bool = False,
    visit_date: dt.date | None | str = "keep",
    team: str | None = None,
) -> VisitPlan:
    """Change host, invitees, visits (kept in the given order, or optimised), date and team.

    `None` for a list keeps it; visits are an open path starting at the host.
    """
    if not can(actor.user, "plan_visits"):
        raise ServiceError(403, N_("You may not do this."))
    _check_plan_version(session, plan, version)
    before = plan_dict(session, plan)
    stops = _stops(session, plan)
    host = next(o for s, o in stops if s.role == "host")
    if host_code and host_code != host.code:
        new_host = get_office(session, host_code)
        if new_host.cluster_no != plan.cluster_no:
            raise ServiceError(
                400, N_("The host must be an office of cluster %(no)s."), no=plan.cluster_no
            )
        host = new_host
    invited_codes = (
        [o.code for s, o in stops if s.role == "invited"]
        if invited is None
        else list(dict.fromkeys(c.strip() for c in invited if c.strip()))
    )
    visit_codes = (
        [o.code for s, o in sorted(stops, key=lambda t: t[0].position or 0) if s.role == "visit"]
        if visits is None
        else list(dict.fromkeys(c.strip() for c in visits if c.strip()))
    )
    invited_offices = [get_office(session, c) for c in invited_codes if c != host.code]
    visit_offices = [get_office(session, c) for c in visit_codes if c != host.code]
    if len(visit_offices) > 40:
        raise ServiceError(400, N_("A trip may have at most %(max)s visits."), max=40)
    for s, _o in stops:
        session.delete(s)
    session.flush()
    host_pt = lonlat(host)
    session.add(
        VisitStop(plan_id=plan.id, office_id=host.id, role="host", position=0, distance_km=0.0)
    )
    for pos, o in enumerate(
        sorted(invited_offices, key=lambda o: geo.haversine_km(host_pt, lonlat(o))), start=1
    ):
        session.add(
            VisitStop(
                plan_id=plan.id,
                office_id=o.id,
                role="invited",
                position=pos,
                distance_km=round(geo.haversine_km(host_pt, lonlat(o)), 3),
            )
        )
    if visit_offices:
        points = [host_pt] + [lonlat(o) for o in visit_offices]
        route = (
            geo.order_visits(points, start=0)
            if optimise
            else geo.route_for_order(points, range(len(points)))
        )
        for pos, (idx, leg) in enumerate(zip(route.order[1:], route.legs_km, strict=True), 1):
            session.add(
                VisitStop(
                    plan_id=plan.id,
                    office_id=visit_offices[idx - 1].id,
                    role="visit",
                    position=pos,
                    distance_km=round(leg, 3),
                )
            )
    plan.host_office_id = host.id
    if visit_date != "keep":
        plan.visit_date = visit_date  # type: ignore[assignment]
    if team is not None:
        plan.team = clean_text(team, max_length=2000)
    # Touching the row bumps the version even when only the stops changed.
    plan.updated_at = actor.now
    _flush_versioned(session)
    record(
        session,
        actor,
        "plan.save",
        "visit_plan",
        plan.id,
        before=before,
        after=plan_dict(session, plan),
    )
    return plan


def publish_plan(
    session: Session, actor: Actor, plan: VisitPlan, version: int | None, publish: bool = True
) -> VisitPlan:
    if not can(actor.user, "plan_visits"):
        raise ServiceError(403, N_("You may not do this."))
    _check_plan_version(session, plan, version)
    if publish and plan.visit_date is None:
        raise ServiceError(400, N_("Set the visit date before publishing the plan."))
    plan.state = "published" if publish else "draft"
    plan.updated_at = actor.now
    _flush_versioned(session)
    record(
        session,
        actor,
        "plan.publish" if publish else "plan.unpublish",
        "visit_plan",
        plan.id,
        after={"state": plan.state, "version": plan.version},
    )
    host = session.get(Office, plan.host_office_id)
    emit_change(
        session,
        "visit_plan.published" if publish else "visit_plan.withdrawn",
        host.code if host else None,
        {
            "plan_id": plan.id,
            "cluster_no": plan.cluster_no,
            "visit_date": plan.visit_date.isoformat() if plan.visit_date else None,
        },
    )
    return plan


def record_visit(
    session: Session,
    actor: Actor,
    plan: VisitPlan,
    *,
    visited_on: dt.date | None,
    team: str = "",
    attendees: str = "",
    notes: str = "",
    follow_ups: str = "",
) -> VisitRecord:
    if not can(actor.user, "plan_visits"):
        raise ServiceError(403, N_("You may not do this."))
    if visited_on is None:
        raise ServiceError(400, N_("Give the date of the visit."))
    row = VisitRecord(
        plan_id=plan.id,
        visited_on=visited_on,
        team=clean_text(team, max_length=2000),
        attendees=clean_text(attendees, max_length=5000),
        notes=clean_text(notes, max_length=10_000),
        follow_ups=clean_text(follow_ups, max_length=5000),
        created_by_id=actor.user.id if actor.user else None,
    )
    session.add(row)
    session.flush()
    record(
        session,
        actor,
        "plan.record",
        "visit_record",
        row.id,
        after={"plan_id": plan.id, "visited_on": visited_on.isoformat()},
    )
    return row


def visit_records(session: Session, plan: VisitPlan) -> list[VisitRecord]:
    return list(
        session.scalars(
            select(VisitRecord)
            .filter_by(plan_id=plan.id)
            .order_by(VisitRecord.visited_on.desc(), VisitRecord.id.desc())
        )
    )


# --- exports ---------------------------------------------------------------------------------

EXPORT_HEADER = [
    "order",
    "role",
    "office_code",
    "office_name_th",
    "cluster_no",
    "lat",
    "lon",
    "distance_km",
    "distance_basis",
]


def csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas: text starting with = + - @ tab or CR gets a leading '."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def export_rows(data: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    stops = ([data["host"]] if data["host"] else []) + data["visits"] + data["invited"]
    for s in stops:
        rows.append(
            [
                s["position"] if s["role"] != "invited" else "",
                s["role"],
                s["office"],
                s["name_th"],
                s["cluster_no"],
                s["lat"],
                s["lon"],
                s["distance_km"],
                "great_circle",
            ]
        )
    return [[csv_safe(v) for v in row] for row in rows]


def plan_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_HEADER)
    writer.writerows(export_rows(data))
    return "\ufeff" + buf.getvalue()  # BOM: Excel then reads the Thai text as UTF-8


def xlsx_available() -> bool:
    try:
        import openpyxl  # noqa: F401
    except ImportError:
        return False
    return True


def plan_xlsx(data: dict[str, Any]) -> bytes | None:
    """XLSX bytes, or None when openpyxl is not installed."""
    try:
        from openpyxl import Workbook
    except ImportError:
        return None
    wb = Workbook()
    ws = wb.active
    ws.title = f"plan {data['id']}"
    ws.append(EXPORT_HEADER)
    for row in export_rows(data):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plan_geojson(data: dict[str, Any]) -> dict[str, Any]:
    stops = ([data["host"]] if data["host"] else []) + data["visits"] + data["invited"]
    return offices_svc.feature_collection(
        [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                "properties": {
                    "order": s["position"] if s["role"] != "invited" else None,
                    "role": s["role"],
                    "office": s["office"],
                    "name_th": s["name_th"],
                    "cluster_no": s["cluster_no"],
                    "distance_km": s["distance_km"],
                },
            }
            for s in stops
        ]
    )


def plan_ics(data: dict[str, Any], host: str, now: dt.datetime) -> str:
    events = []
    if data["visit_date"] and data["host"]:
        h = data["host"]
        others = ", ".join(s["name_th"] for s in data["visits"])
        events.append(
            {
                "uid": f"visit-plan-{data['id']}@{host}",
                "summary": f"Coaching · Cluster {data['cluster_no']} · {h['name_th']}",
                "date": dt.date.fromisoformat(data["visit_date"]),
                "location": h["name_th"],
                "description": "\n".join(filter(None, [data["team"], others])),
            }
        )
    return ics_calendar(events, f"pinmap visit plan {data['id']}", now)


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)
