"""Visit plans: create, read, save with versions, publish, and record the visit."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from geo import planner as geo

from ...auth import can
from ...models import (
    MonitoringRound,
    Office,
    VisitPlan,
    VisitRecord,
    VisitStop,
)
from ..audit import Actor, emit_change, record
from ..errors import N_, ServiceError
from ..lookups import get_or_404
from ..sanitize import clean_text
from .membership import get_office, lonlat
from .offices import add_follow_ups, tell_plan_offices
from .planner import GREAT_CIRCLE_NOTE, propose
from .rounds import get_round


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
    visits = sorted(
        ((s, o) for s, o in stops if s.role == "visit"), key=lambda t: t[0].position or 0
    )
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
        "agenda": plan.agenda,
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
    visit_date: dt.date | None | Literal["keep"] = "keep",
    team: str | None = None,
    agenda: str | None = None,
) -> VisitPlan:
    """Change host, invitees, visits (kept in the given order, or optimised), date, team and
    agenda. `None` for a list keeps it; visits are an open path starting at the host.

    A published plan's offices are told again when they or the date are new to the message.
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
        plan.visit_date = visit_date
    if team is not None:
        plan.team = clean_text(team, max_length=2000)
    if agenda is not None:
        plan.agenda = clean_text(agenda, max_length=5000)
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
    tell_plan_offices(session, plan)
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
    tell_plan_offices(session, plan)
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
    add_follow_ups(session, row)
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
