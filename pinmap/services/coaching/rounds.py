"""The monitoring rounds of a fiscal year, office status per round, and cluster sessions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...auth import can
from ...fiscal import fiscal_year_bounds, to_bangkok
from ...models import (
    ROUND_KINDS,
    Cluster,
    ClusterSession,
    FiscalYear,
    MonitoringRound,
    RoundStatus,
)
from ...tables import LineProblem, csv_dict_records
from ..audit import Actor, record
from ..errors import N_, ServiceError
from ..lookups import get_or_404
from ..sanitize import clean_text
from .calendar import ics_calendar
from .membership import get_cluster, get_office

ROUND_STATUSES = ("pending", "received", "checked", "coached", "attended", "evaluated", "absent")
# The usual kind of each round number (3, 6, 9, 12 months), from the FY2567 monitoring plan.
KIND_OF_ROUND = dict(zip((1, 2, 3, 4), ROUND_KINDS, strict=True))


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
    problems: list[LineProblem] = []
    records = list(csv_dict_records(text, ROUND_COLUMNS, problems))
    if problems and problems[0].line == 1:
        raise ServiceError(
            400,
            N_("The rounds file lacks the column(s) %(names)s."),
            names=problems[0].params.get("columns", ""),
        )

    def refuse(line: int, reason: str) -> ServiceError:
        return ServiceError(
            400, N_("Rounds file line %(line)s: %(reason)s"), line=line, reason=reason
        )

    rows = []
    for line, raw in records:
        # The first problem in the file is the one reported, whether reading or checking found it.
        if problems and problems[0].line < line:
            raise refuse(problems[0].line, problems[0].reason)
        try:
            row: dict[str, Any] = {
                "fiscal_year": int(raw["fiscal_year"]),
                "round_no": int(raw["round_no"]),
                "kind": raw["kind"],
                "starts_on": dt.date.fromisoformat(raw["starts_on"]),
                "ends_on": dt.date.fromisoformat(raw["ends_on"]),
            }
            _check_round(**row)
        except (ValueError, ServiceError) as exc:
            raise refuse(line, str(exc)) from exc
        rows.append(row)
    if problems:
        raise refuse(problems[0].line, problems[0].reason)
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
    starts_at = to_bangkok(starts_at)  # a time without a zone is Bangkok time
    if not rnd.starts_on <= starts_at.date() <= rnd.ends_on:
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


def session_event(session: Session, s: ClusterSession, host: str) -> dict[str, Any]:
    """One cluster session as a calendar event (the coaches' file and an office's own)."""
    cluster = session.get(Cluster, s.cluster_no)
    return {
        "uid": f"cluster-session-{s.round_id}-{s.cluster_no}@{host}",
        "summary": f"ติดตาม 9 เดือน (Online) · Cluster {s.cluster_no}",
        "start": s.starts_at,
        "description": f"{cluster.name_th if cluster else ''}\n{s.link}".strip(),
        "location": s.link,
        "url": s.link,
    }


def sessions_ics(session: Session, rnd: MonitoringRound, host: str, now: dt.datetime) -> str:
    events = [session_event(session, s, host) for s in cluster_sessions(session, rnd)]
    return ics_calendar(events, f"pinmap FY{rnd.fiscal_year} round {rnd.round_no}", now)
