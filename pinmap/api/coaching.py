"""/api/v1 routes for clusters and the coaching year: labels, membership, planner, sessions."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_login import current_user
from marshmallow import Schema, fields, validate

from ..apicache import public
from ..db import get_session
from ..errors import abort_json
from ..inputs import Blueprint, Int, StrictFloat
from ..security import current_actor, require
from ..services import coaching as svc
from ..services.errors import ServiceError

bp = Blueprint(
    "coaching_api",
    __name__,
    url_prefix="/api/v1",
    description="Clusters, monitoring rounds and coaching visit plans",
)


def _user() -> Any:
    return current_user if current_user.is_authenticated else None


def _code() -> fields.String:
    return fields.String(validate=validate.Length(max=60))


class MoveBody(Schema):
    office = fields.String(required=True, validate=validate.Length(max=60))
    reason = fields.String(required=True, validate=validate.Length(max=1000))


class ProposeQuery(Schema):
    cluster = Int(strict=False, small=True, required=True)
    # Ranges are checked by the service so the 400 message names the allowed range.
    radius_km = fields.Float(load_default=None)
    k = Int(strict=False, small=True, load_default=None)
    host = fields.String(load_default=None, validate=validate.Length(max=60))


class PlanCreateBody(Schema):
    round_id = Int(strict=True, required=True)
    cluster = Int(strict=True, small=True, required=True)
    radius_km = StrictFloat(load_default=None, allow_none=True)
    k = Int(strict=True, small=True, load_default=None, allow_none=True)
    host = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class PlansQuery(Schema):
    cluster = Int(
        strict=False, small=True, load_default=None, metadata={"description": "Cluster no."}
    )


class PlanSaveBody(Schema):
    version = Int(strict=True, required=True)
    host = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    invited = fields.List(_code(), load_default=None, allow_none=True)
    visits = fields.List(
        _code(),
        load_default=None,
        allow_none=True,
        metadata={"description": "Office codes to visit, in order"},
    )
    optimise = fields.Boolean(
        load_default=False, metadata={"description": "Reorder visits for the shortest path"}
    )
    visit_date = fields.Date(allow_none=True)
    team = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class PublishBody(Schema):
    version = Int(strict=True, required=True)
    publish = fields.Boolean(load_default=True)


class RecordBody(Schema):
    # The limits the service keeps (it cuts longer text): refused here, never cut.
    visited_on = fields.Date(required=True)
    team = fields.String(load_default="", validate=validate.Length(max=2000))
    attendees = fields.String(load_default="", validate=validate.Length(max=5000))
    notes = fields.String(load_default="", validate=validate.Length(max=10_000))
    follow_ups = fields.String(load_default="", validate=validate.Length(max=5000))


class SessionBody(Schema):
    starts_at = fields.AwareDateTime(required=True, default_timezone=svc.BANGKOK)
    link = fields.String(load_default="", validate=validate.Length(max=2000))


class CompletenessQuery(Schema):
    fiscal_year = Int(strict=False, required=True, validate=validate.Range(2500, 2700))
    cluster = Int(strict=False, small=True, load_default=None)


@bp.route("/clusters/labels")
@bp.response(200, content_type="application/geo+json")
@public
def cluster_labels() -> Response:
    """One label point per cluster (a point on the surface of its region), with `no`, `name_th`."""
    resp = Response(svc.dumps(svc.cluster_labels(get_session())), mimetype="application/geo+json")
    # Revalidated by ETag like the other map layers (api.views.conditional), cache or no cache.
    resp.add_etag()
    resp.headers["Cache-Control"] = "no-cache"
    resp.make_conditional(request)  # in place: a 304 keeps the headers, drops the body
    return resp


@bp.route("/clusters/<int:no>/moves")
@bp.response(200)
def cluster_moves(no: int) -> dict[str, Any]:
    """History of offices moved into or out of the cluster."""
    session = get_session()
    try:
        svc.get_cluster(session, no)
    except ServiceError as err:
        abort_json(err)
    moves = svc.cluster_moves(session, no)
    return {"cluster": no, "moves": [{**m, "at": m["at"].isoformat()} for m in moves]}


@bp.route("/clusters/<int:no>/members", methods=["POST"])
@require("manage_clusters")
@bp.arguments(MoveBody)
@bp.response(201)
def move_member(body: dict[str, Any], no: int) -> dict[str, Any]:
    """Move an office into this cluster (admins), with a reason; kept in the history."""
    session = get_session()
    try:
        move = svc.move_office(session, current_actor(), body["office"], no, body["reason"])
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {
        "office": body["office"],
        "from_cluster": move.from_cluster,
        "to_cluster": move.to_cluster,
        "reason": move.reason,
    }


@bp.route("/clusters/<int:no>/completeness")
@require("view_dashboard")
@bp.arguments(CompletenessQuery, location="query", as_kwargs=True)
@bp.response(200)
def cluster_completeness(no: int, fiscal_year: int, cluster: int | None = None) -> dict[str, Any]:
    """Per office and reporting round: items submitted or approved; overdue offices first."""
    session = get_session()
    try:
        svc.get_cluster(session, no)
    except ServiceError as err:
        abort_json(err)
    rows = svc.completeness(session, fiscal_year, current_actor().today_bangkok, cluster_no=no)
    return {
        "cluster": no,
        "fiscal_year": fiscal_year,
        "offices": [
            {
                "office": r.code,
                "overdue": r.overdue(),
                "rounds": {
                    str(n): {
                        "reported": c.reported,
                        "total": c.total,
                        "share": round(c.share, 4),
                        "days_left": c.days_left,
                        "last_day": c.last_day.isoformat(),
                    }
                    for n, c in r.rounds.items()
                },
            }
            for r in rows
        ],
    }


@bp.route("/planner/propose")
@require("plan_visits")
@bp.arguments(ProposeQuery, location="query", as_kwargs=True)
@bp.response(200)
def propose(
    cluster: int, radius_km: float | None = None, k: int | None = None, host: str | None = None
) -> dict[str, Any]:
    """Host (least total great-circle distance to the cluster) and invitees by radius or k."""
    try:
        p = svc.propose(get_session(), cluster, radius_km=radius_km, k=k, host_code=host)
    except ServiceError as err:
        abort_json(err)
    lon, lat = svc.lonlat(p.host)
    return {
        "cluster": cluster,
        "host": {
            "office": p.host.code,
            "name_th": p.host.name_th,
            "lon": lon,
            "lat": lat,
            "total_km_to_cluster": round(p.host_total_km, 3),
        },
        "radius_km": p.radius_km,
        "k": p.nearest_k,
        "invited": [
            {
                "office": o.code,
                "name_th": o.name_th,
                "cluster_no": o.cluster_no,
                "distance_km": round(km, 3),
            }
            for o, km in p.invitees
        ],
        "distance_note": svc.GREAT_CIRCLE_NOTE,
    }


@bp.route("/plans")
@bp.arguments(PlansQuery, location="query", as_kwargs=True)
@bp.response(200)
def plans(cluster: int | None) -> dict[str, Any]:
    """Visit plans: published ones for everyone, drafts too for coaches and admins."""
    session = get_session()
    return {
        "plans": [
            {
                "id": p.id,
                "cluster_no": p.cluster_no,
                "state": p.state,
                "visit_date": p.visit_date.isoformat() if p.visit_date else None,
            }
            for p in svc.list_plans(session, _user(), cluster)
        ]
    }


@bp.route("/plans", methods=["POST"])
@require("plan_visits")
@bp.arguments(PlanCreateBody)
@bp.response(201)
def create_plan(body: dict[str, Any]) -> dict[str, Any]:
    """Start a draft plan from the proposal."""
    session = get_session()
    try:
        plan = svc.create_plan(
            session,
            current_actor(),
            body["round_id"],
            body["cluster"],
            radius_km=body["radius_km"],
            k=body["k"],
            host_code=body["host"],
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return svc.plan_dict(session, plan)


@bp.route("/plans/<int:plan_id>")
@bp.response(200)
def plan(plan_id: int) -> dict[str, Any]:
    """A plan (a draft is 404 to anyone who may not plan visits)."""
    session = get_session()
    try:
        found = svc.visible_plan(session, plan_id, _user())
    except ServiceError as err:
        abort_json(err)
    return svc.plan_dict(session, found)


@bp.route("/plans/<int:plan_id>", methods=["PUT"])
@require("plan_visits")
@bp.arguments(PlanSaveBody)
@bp.response(200)
def save_plan(body: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """Adjust host, invitees, visits (order kept, or `optimise`), date, team; 409 if stale."""
    session = get_session()
    try:
        found = svc.get_plan(session, plan_id)
        svc.save_plan(
            session,
            current_actor(),
            found,
            body["version"],
            host_code=body["host"],
            invited=body["invited"],
            visits=body["visits"],
            optimise=body["optimise"],
            visit_date=body.get("visit_date", "keep"),
            team=body["team"],
        )
        session.commit()
    except ServiceError as err:
        session.rollback()
        abort_json(err)
    return svc.plan_dict(session, found)


@bp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@require("plan_visits")
@bp.arguments(PublishBody)
@bp.response(200)
def publish_plan(body: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """Publish (or withdraw) a plan: the public sees published plans and their dates."""
    session = get_session()
    try:
        found = svc.get_plan(session, plan_id)
        svc.publish_plan(session, current_actor(), found, body["version"], body["publish"])
        session.commit()
    except ServiceError as err:
        session.rollback()
        abort_json(err)
    return svc.plan_dict(session, found)


@bp.route("/plans/<int:plan_id>/records", methods=["POST"])
@require("plan_visits")
@bp.arguments(RecordBody)
@bp.response(201)
def record_visit(body: dict[str, Any], plan_id: int) -> dict[str, Any]:
    """Record what happened on the visit."""
    session = get_session()
    try:
        found = svc.get_plan(session, plan_id)
        row = svc.record_visit(session, current_actor(), found, **body)
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {"id": row.id, "plan_id": found.id, "visited_on": row.visited_on.isoformat()}


@bp.route("/plans/<int:plan_id>/geojson")
@bp.response(200, content_type="application/geo+json")
def plan_geojson(plan_id: int) -> Response:
    """The plan's stops as GeoJSON points with `order` and `role`."""
    session = get_session()
    try:
        found = svc.visible_plan(session, plan_id, _user())
    except ServiceError as err:
        abort_json(err)
    return Response(
        svc.dumps(svc.plan_geojson(svc.plan_dict(session, found))), mimetype="application/geo+json"
    )


@bp.route("/rounds/<int:round_id>/sessions/<int:cluster_no>", methods=["PUT"])
@require("manage_rounds")
@bp.arguments(SessionBody)
@bp.response(200)
def set_session(body: dict[str, Any], round_id: int, cluster_no: int) -> dict[str, Any]:
    """Date, time and meeting link of one cluster's online session in the 9-month round."""
    session = get_session()
    try:
        rnd = svc.get_round(session, round_id)
        row = svc.set_cluster_session(
            session, current_actor(), rnd, cluster_no, body["starts_at"], body["link"]
        )
        session.commit()
    except ServiceError as err:
        abort_json(err)
    return {
        "round_id": round_id,
        "cluster_no": cluster_no,
        "starts_at": row.starts_at.astimezone(svc.BANGKOK).isoformat(),
        "link": row.link,
    }
